/* addr.c -- "HOST:PORT" and CIDR parsing, and source-address matching. */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

#define ADDR_ZONE_MAX	16	/* IFNAMSIZ: "fe80::1%eth0" */
#define ADDR_LABEL_MAX	63	/* RFC 1035 */
#define ADDR_NAME_MAX	253

static bool	addr_isdigit(int);
static bool	addr_isalnum(int);
static int	addr_parse_port(const char *, unsigned long, char *, size_t,
		    const char **);
static int	addr_parse(const char *, bool, struct addr_hostport *,
		    const char **);
static bool	addr_valid_v6(const char *);
static bool	addr_valid_name(const char *, const char **);
static bool	addr_v4_mapped(const uint8_t *);
static bool	addr_prefix_match(const uint8_t *, const uint8_t *, int);
static int	addr_literal(const char *, uint8_t *);

/* ASCII only, whatever the locale. */
static bool
addr_isdigit(int c)
{
	return (c >= '0' && c <= '9');
}

static bool
addr_isalnum(int c)
{
	return (addr_isdigit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'));
}

/* Accept min..65535 (min is 0 or 1) in decimal digits only (no sign, no
   service name) and store it without leading zeros. */
static int
addr_parse_port(const char *s, unsigned long min, char *out, size_t outlen,
    const char **why)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (*s == '\0') {
		*why = "missing port";
		return (-1);
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (!addr_isdigit(s[i])) {
			*why = "port is not a number";
			return (-1);
		}
		if (v <= 65535)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < min || v > 65535) {
		*why = min == 0 ? "port out of range 0..65535" :
		    "port out of range 1..65535";
		return (-1);
	}
	snprintf(out, outlen, "%lu", v);
	return (0);
}

/* An IPv6 literal, optionally with a zone ("fe80::1%eth0"). */
static bool
addr_valid_v6(const char *s)
{
	char		 buf[INET6_ADDRSTRLEN + ADDR_ZONE_MAX];
	struct in6_addr	 a;
	const char	*zone;
	size_t		 i;

	if (strlen(s) >= sizeof(buf))
		return (false);
	strcpy(buf, s);
	if ((zone = strchr(s, '%')) != NULL) {
		buf[zone - s] = '\0';
		zone++;
		if (*zone == '\0' || strlen(zone) >= ADDR_ZONE_MAX)
			return (false);
		for (i = 0; zone[i] != '\0'; i++)
			if (!addr_isalnum(zone[i]) &&
			    strchr("_.-", zone[i]) == NULL)
				return (false);
	}
	return (inet_pton(AF_INET6, buf, &a) == 1);
}

bool
addr_needs_zone(const char *host)
{
	struct in6_addr	a;

	/* fe80::/10 is on every interface: only a zone says which one (a
	   bind or connect without it fails with EINVAL). */
	return (strchr(host, '%') == NULL && inet_pton(AF_INET6, host,
	    &a) == 1 && IN6_IS_ADDR_LINKLOCAL(&a));
}

/* A host name or an IPv4 literal. Labels of letters, digits, '-' and '_'
   (found in hosts files), no label starting or ending with '-', one
   optional trailing dot. A name whose last label is all digits must be a
   dotted-quad IPv4 address: getaddrinfo() would otherwise read "10.1" or
   "010.0.0.1" as inet_aton() forms, which is never what was meant. */
static bool
addr_valid_name(const char *s, const char **why)
{
	struct in_addr	 a;
	const char	*label, *p;
	size_t		 len = strlen(s), n;
	bool		 numeric = true;

	if (len > ADDR_NAME_MAX + 1 ||
	    (len == ADDR_NAME_MAX + 1 && s[len - 1] != '.')) {
		*why = "host name too long";
		return (false);
	}
	for (label = p = s; ; p++) {
		if (*p != '.' && *p != '\0') {
			if (!addr_isalnum(*p) && *p != '-' &&
			    *p != '_') {
				*why = "bad character in host name";
				return (false);
			}
			if (!addr_isdigit(*p))
				numeric = false;
			continue;
		}
		n = (size_t)(p - label);
		if (n == 0) {
			*why = "empty label in host name";
			return (false);
		}
		if (n > ADDR_LABEL_MAX) {
			*why = "host name label longer than 63";
			return (false);
		}
		if (n > 0 && (label[0] == '-' || p[-1] == '-')) {
			*why = "host name label starts or ends with '-'";
			return (false);
		}
		if (*p == '\0' || p[1] == '\0')
			break;
		label = p + 1;
		numeric = true;
	}
	if (numeric && inet_pton(AF_INET, s, &a) != 1) {
		*why = "bad IPv4 address";
		return (false);
	}
	return (true);
}

int
addr_parse_hostport(const char *s, struct addr_hostport *hp,
    const char **why)
{
	return (addr_parse(s, false, hp, why));
}

int
addr_parse_bind(const char *s, struct addr_hostport *hp, const char **why)
{
	return (addr_parse(s, true, hp, why));
}

/* The parser of both: for_bind lets ":PORT" (empty host) and port 0 pass. */
static int
addr_parse(const char *s, bool for_bind, struct addr_hostport *hp,
    const char **why)
{
	const char	*colon, *close, *host, *port;
	size_t		 hostlen;

	memset(hp, 0, sizeof(*hp));
	if (s == NULL || *s == '\0') {
		*why = "empty address";
		return (-1);
	}
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL) {
			*why = "missing ']' after IPv6 address";
			return (-1);
		}
		if (close[1] != ':') {
			*why = close[1] == '\0' ? "missing port" :
			    "want ':' after ']'";
			return (-1);
		}
		host = s + 1;
		hostlen = (size_t)(close - host);
		port = close + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			*why = "missing port";
			return (-1);
		}
		if (strchr(s, ':') != colon) {
			*why = "IPv6 address must be in brackets";
			return (-1);
		}
		host = s;
		hostlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hostlen == 0 && (!for_bind || s[0] == '[')) {
		*why = "missing host";
		return (-1);
	}
	if (hostlen >= sizeof(hp->host)) {
		*why = "host name too long";
		return (-1);
	}
	memcpy(hp->host, host, hostlen);
	hp->host[hostlen] = '\0';
	if (s[0] == '[') {
		if (!addr_valid_v6(hp->host)) {
			*why = "bad IPv6 address";
			goto fail;
		}
	} else if (hostlen > 0 && !addr_valid_name(hp->host, why))
		goto fail;
	if (addr_parse_port(port, for_bind ? 0 : 1, hp->port, sizeof(hp->port),
	    why) == -1)
		goto fail;
	return (0);
fail:
	memset(hp, 0, sizeof(*hp));
	return (-1);
}

int
addr_parse_cidr(const char *s, struct addr_cidr *c, const char **why)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*slash, *p;
	size_t		 alen;
	int		 bits, prefix = 0, i;

	memset(c, 0, sizeof(*c));
	if (s == NULL || *s == '\0') {
		*why = "empty CIDR";
		return (-1);
	}
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf)) {
		*why = "bad address";
		return (-1);
	}
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, c->net) == 1) {
		c->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, c->net) == 1) {
		c->family = AF_INET6;
		bits = 128;
	} else {
		*why = "bad address";
		goto fail;
	}
	if (slash == NULL)
		prefix = bits;
	else {
		if (slash[1] == '\0') {
			*why = "missing prefix length";
			goto fail;
		}
		for (p = slash + 1; *p != '\0'; p++) {
			if (!addr_isdigit(*p)) {
				*why = "prefix length is not a number";
				goto fail;
			}
			if (prefix <= bits)
				prefix = prefix * 10 + (*p - '0');
		}
		if (prefix > bits) {
			*why = c->family == AF_INET ?
			    "prefix length out of range 0..32" :
			    "prefix length out of range 0..128";
			goto fail;
		}
	}
	for (i = prefix; i < bits; i++)
		if (c->net[i / 8] & (0x80 >> (i % 8))) {
			*why = "host bits set beyond the prefix length";
			goto fail;
		}
	c->prefix = prefix;
	return (0);
fail:
	memset(c, 0, sizeof(*c));
	return (-1);
}

static bool
addr_v4_mapped(const uint8_t *a)
{
	static const uint8_t	pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };

	return (memcmp(a, pfx, sizeof(pfx)) == 0);
}

static bool
addr_prefix_match(const uint8_t *net, const uint8_t *a, int prefix)
{
	int	full = prefix / 8, rest = prefix % 8;
	uint8_t	mask;

	if (memcmp(net, a, (size_t)full) != 0)
		return (false);
	if (rest == 0)
		return (true);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((net[full] & mask) == (a[full] & mask));
}

/* An IPv4-mapped peer (seen on a dual-stack socket) matches IPv4 entries
   as the IPv4 address it is; it also matches an IPv6 entry that covers it
   as written (::/0 or ::ffff:0:0/96), since that is literally true. */
bool
addr_cidr_match(const struct addr_cidr *c, const struct sockaddr *sa)
{
	const uint8_t	*a;

	if (c == NULL || sa == NULL)
		return (false);
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
		return (c->family == AF_INET &&
		    addr_prefix_match(c->net, a, c->prefix));
	}
	if (sa->sa_family != AF_INET6)
		return (false);
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (c->family == AF_INET6)
		return (addr_prefix_match(c->net, a, c->prefix));
	return (c->family == AF_INET && addr_v4_mapped(a) &&
	    addr_prefix_match(c->net, a + 12, c->prefix));
}

bool
addr_cidr_can_match(const char *listen_host, const struct addr_cidr *c)
{
	static const uint8_t	zero[16];
	uint8_t			a[16];

	if (inet_pton(AF_INET, listen_host, a) == 1)
		return (c->family == AF_INET);
	if (inet_pton(AF_INET6, listen_host, a) != 1 || addr_v4_mapped(a) ||
	    memcmp(a, zero, sizeof(zero)) == 0)
		return (true);
	return (c->family == AF_INET6);
}

char *
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char		 host[INET6_ADDRSTRLEN];
	const uint8_t	*a;
	unsigned	 port;

	if (len == 0)
		return (buf);
	if (sa == NULL) {
		snprintf(buf, len, "?");
		return (buf);
	}
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		a = in6->sin6_addr.s6_addr;
		port = ntohs(in6->sin6_port);
		if (addr_v4_mapped(a)) {
			inet_ntop(AF_INET, a + 12, host, sizeof(host));
			snprintf(buf, len, "%s:%u", host, port);
		} else {
			inet_ntop(AF_INET6, a, host, sizeof(host));
			snprintf(buf, len, "[%s]:%u", host, port);
		}
		break;
	}
	default:
		snprintf(buf, len, "?family=%d", sa->sa_family);
		break;
	}
	return (buf);
}

/* Host part as network bytes: returns AF_INET (4 bytes, an IPv4-mapped
   IPv6 address counts as IPv4), AF_INET6 (16), or 0 for a host name or a
   scoped literal. */
static int
addr_literal(const char *host, uint8_t *a)
{
	if (inet_pton(AF_INET, host, a) == 1)
		return (AF_INET);
	if (inet_pton(AF_INET6, host, a) != 1)
		return (0);
	if (addr_v4_mapped(a)) {
		memmove(a, a + 12, 4);
		return (AF_INET);
	}
	return (AF_INET6);
}

bool
addr_host_is_wildcard(const char *host)
{
	struct addr_bound	b;

	return (addr_bound_literal(host, &b) == 0 &&
	    addr_bound_is_wildcard(&b));
}

bool
addr_bound_is_wildcard(const struct addr_bound *b)
{
	static const uint8_t	zero[16];

	return (b->family != 0 && memcmp(b->addr, zero,
	    b->family == AF_INET ? 4 : 16) == 0);
}

/* addr_literal() of host without its zone, if it has one. */
static int
addr_literal_unzoned(const char *host, uint8_t *a)
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*zone = strchr(host, '%');
	size_t		 n = zone != NULL ? (size_t)(zone - host) : strlen(host);

	if (n >= sizeof(buf))
		return (0);
	memcpy(buf, host, n);
	buf[n] = '\0';
	return (addr_literal(buf, a));
}

bool
addr_host_is_literal(const char *host)
{
	uint8_t	a[16];

	return (addr_literal(host, a) != 0);
}

bool
addr_listen_overlap(const struct addr_hostport *a,
    const struct addr_hostport *b)
{
	struct addr_bound	 ua, ub;
	uint8_t			 na[16], nb[16];
	int			 fa, fb;
	size_t			 la, lb;
	bool			 wa, wb;

	/* Port 0: the kernel gives each its own port. */
	if (strtoul(a->port, NULL, 10) != strtoul(b->port, NULL, 10) ||
	    strtoul(a->port, NULL, 10) == 0)
		return (false);
	/* [::] takes the port on every address, IPv4 ones too (dual stack);
	   0.0.0.0 on every IPv4 address (mapped ones too) and no IPv6 one.
	   A name may stand for either. A zone names an interface, not a
	   family: the address before it says which ("[::%1]" is [::]). */
	memset(&ua, 0, sizeof(ua));
	memset(&ub, 0, sizeof(ub));
	ua.family = addr_literal_unzoned(a->host, ua.addr);
	ub.family = addr_literal_unzoned(b->host, ub.addr);
	wa = addr_bound_is_wildcard(&ua);
	wb = addr_bound_is_wildcard(&ub);
	if (wa || wb)
		return (!(wa && ua.family == AF_INET && !wb &&
		    ub.family == AF_INET6) && !(wb && ub.family == AF_INET &&
		    !wa && ua.family == AF_INET6));
	fa = addr_literal(a->host, na);
	fb = addr_literal(b->host, nb);
	if (fa != 0 || fb != 0)
		return (fa == fb &&
		    memcmp(na, nb, fa == AF_INET ? 4 : 16) == 0);
	/* Two names (or scoped literals): compare as written, ignoring case
	   and a trailing dot. Names that resolve alike take a lookup
	   (struct addr_binds). */
	la = strlen(a->host);
	lb = strlen(b->host);
	if (la > 0 && a->host[la - 1] == '.')
		la--;
	if (lb > 0 && b->host[lb - 1] == '.')
		lb--;
	return (la == lb && strncasecmp(a->host, b->host, la) == 0);
}

int
addr_bound_literal(const char *host, struct addr_bound *out)
{
	memset(out, 0, sizeof(*out));
	out->family = addr_literal(host, out->addr);
	return (out->family != 0 ? 0 : -1);
}

void
addr_bound_of(const struct sockaddr *sa, struct addr_bound *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		memcpy(out->addr, &((const struct sockaddr_in *)sa)->sin_addr,
		    4);
		out->family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out->addr,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		out->scope = ((const struct sockaddr_in6 *)sa)->sin6_scope_id;
		out->family = AF_INET6;
		if (addr_v4_mapped(out->addr)) {
			memmove(out->addr, out->addr + 12, 4);
			out->family = AF_INET;
		}
	}
}

bool
addr_bound_same(const struct addr_bound *a, const struct addr_bound *b,
    char *buf, size_t len)
{
	if (a->family == 0 || a->family != b->family ||
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) != 0 ||
	    a->scope != b->scope)
		return (false);
	if (inet_ntop(a->family, a->addr, buf, (socklen_t)len) == NULL &&
	    len > 0)
		buf[0] = '\0';
	return (true);
}
