/* addr.h -- "HOST:PORT" and CIDR parsing, and source-address matching. */
#ifndef GW_ADDR_H
#define GW_ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ADDR_HOST_MAX	256	/* host part, NUL included */
#define ADDR_PORT_MAX	6	/* "65535" + NUL */

/* An address as written in the config: a host name, an IPv4 literal or an
   IPv6 literal (written "[::1]:502", stored without brackets), and a port. */
struct addr_hostport {
	char	host[ADDR_HOST_MAX];
	char	port[ADDR_PORT_MAX];
};

/* One entry of an allow list: family AF_INET or AF_INET6, network bytes and
   prefix length. */
struct addr_cidr {
	int	family;
	uint8_t	net[16];
	int	prefix;
};

/* Split "HOST:PORT" or "[V6]:PORT" into hp. The port must be 1..65535 and
   the host non-empty; an IPv6 literal must be bracketed. Returns 0, or -1
   with a short English reason in *why (static string). No name lookup. */
int	addr_parse_hostport(const char *s, struct addr_hostport *hp,
	    const char **why);

/* As addr_parse_hostport(), for an address to bind: port 0 stands for a
   free one, and an empty host (":PORT", stored as "") for any address,
   which the configuration does not take (it names 0.0.0.0 or [::]). */
int	addr_parse_bind(const char *s, struct addr_hostport *hp,
	    const char **why);

/* True for a link-local IPv6 literal without its zone ("fe80::1"), which
   names no interface: the configuration refuses it, saying ADDR_NO_ZONE. */
bool	addr_needs_zone(const char *host);
#define ADDR_NO_ZONE \
	"a link-local address needs its interface ([fe80::...%IFACE])"

/* Parse "A.B.C.D/N", "V6/N" or a bare address (full-length prefix).
   Host bits beyond the prefix must be zero. Returns 0, or -1 with *why. */
int	addr_parse_cidr(const char *s, struct addr_cidr *c, const char **why);

/* True when sa (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
   IPv4) lies inside c. */
bool	addr_cidr_match(const struct addr_cidr *c, const struct sockaddr *sa);

/* False when no client of a socket listening on host (as written) can
   ever match c: host is an IPv4 literal and c an IPv6 entry, or host an
   IPv6 literal (not :: and not IPv4-mapped) and c an IPv4 entry. True
   otherwise (a name, "" and :: may take either family). */
bool	addr_cidr_can_match(const char *listen_host, const struct addr_cidr *c);

/* True when host is an IPv4 or IPv6 literal, not a name to look up. */
bool	addr_host_is_literal(const char *host);

/* True when host is the IPv4 or IPv6 wildcard literal (0.0.0.0, ::). */
bool	addr_host_is_wildcard(const char *host);

/* True when two listen addresses would bind the same port: same port and
   either the same host (literals compared as addresses, an IPv4-mapped
   IPv6 literal as IPv4, names as text ignoring case) or either host a
   wildcard, which on Linux also takes the other family. Port 0 overlaps
   nothing: the kernel gives each its own. No lookup: two names that
   stand for one address take a lookup (struct addr_binds). */
bool	addr_listen_overlap(const struct addr_hostport *,
	    const struct addr_hostport *);

/* The address a listen binds: a literal's own; for a name the first that
   getaddrinfo() gives (AI_PASSIVE, struct addr_binds), which
   endpoint_listen() tries first. An IPv4-mapped IPv6 address is kept as
   IPv4. */
struct addr_bound {
	int		family;		/* 0: none (a name that does not
					   resolve) */
	uint8_t		addr[16];
	uint32_t	scope;		/* IPv6: the interface, 0 for none */
};

/* An IPv4 or IPv6 socket address. */
union addr_sock {
	struct sockaddr		sa;
	struct sockaddr_in	in;
	struct sockaddr_in6	in6;
};

/* What a listen on a host binds, in getaddrinfo()'s order (AI_PASSIVE),
   port 0: the addresses endpoint_listen() tries in turn. n is 0 when
   there is none, and why says why ("no answer in time", the resolver's
   error); n 0 and why "" when it was not looked up. */
#define ADDR_BINDS_MAX	4
struct addr_binds {
	int		n;
	union addr_sock	a[ADDR_BINDS_MAX];
	char		why[64];
};

/* A literal host's address into out: 0, or -1 when host is a name. */
int	addr_bound_literal(const char *host, struct addr_bound *out);

/* True when b is the IPv4 or IPv6 wildcard (0.0.0.0, ::). */
bool	addr_bound_is_wildcard(const struct addr_bound *b);

/* The address of sa (AF_INET or AF_INET6; else out->family 0). */
void	addr_bound_of(const struct sockaddr *sa, struct addr_bound *out);

/* True when a and b are the same address (and IPv6 scope); its text goes
   into buf. */
bool	addr_bound_same(const struct addr_bound *a,
	    const struct addr_bound *b, char *buf, size_t len);

/* Format sa as "1.2.3.4:5" or "[::1]:5" into buf. Returns buf. */
char	*addr_format(const struct sockaddr *sa, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
