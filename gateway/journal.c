/* journal.c -- entries for the systemd journal in its native protocol: one
   datagram per entry on the journal's Unix socket, without libsystemd.
   The socket is connected once; under systemd the journal's socket
   belongs to systemd, so it outlives a restart of journald and the
   connection stays good. journal_dgram() also carries the syslog lines,
   addressed by the socket's name. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

struct journal_buf {
	char	data[JOURNAL_ENTRY_MAX];
	size_t	len;
	bool	full;		/* a field did not fit */
};

static void	journal_field(struct journal_buf *, const char *,
		    const char *);

int
journal_open(const char *path)
{
	struct sockaddr_un	sa;
	struct timeval		tv;
	size_t			len = strlen(path);
	int			fd, saved_errno;

	if (len >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	/* A journal that stops reading must not stop the threads that log
	   for longer than this: the line then goes elsewhere. */
	tv.tv_sec = JOURNAL_SEND_MS / 1000;
	tv.tv_usec = (JOURNAL_SEND_MS % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto out_close;
	return (fd);
out_close:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return (-1);
}

/* Append one field; a NULL or empty value is left out. */
static void
journal_field(struct journal_buf *b, const char *name, const char *value)
{
	size_t		nlen = strlen(name), vlen, need;
	uint64_t	le;
	int		i;

	if (value == NULL || value[0] == '\0' || b->full)
		return;
	vlen = strlen(value);
	if (strchr(value, '\n') == NULL) {
		need = nlen + 1 + vlen + 1;
		if (need > sizeof(b->data) - b->len) {
			b->full = true;
			return;
		}
		memcpy(b->data + b->len, name, nlen);
		b->data[b->len + nlen] = '=';
		memcpy(b->data + b->len + nlen + 1, value, vlen);
		b->data[b->len + need - 1] = '\n';
		b->len += need;
		return;
	}
	/* A value with a line break: its length says where it ends. */
	need = nlen + 1 + 8 + vlen + 1;
	if (need > sizeof(b->data) - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->data + b->len, name, nlen);
	b->data[b->len + nlen] = '\n';
	for (i = 0, le = vlen; i < 8; i++, le >>= 8)
		b->data[b->len + nlen + 1 + i] = (char)(le & 0xff);
	memcpy(b->data + b->len + nlen + 9, value, vlen);
	b->data[b->len + need - 1] = '\n';
	b->len += need;
}

int
journal_dgram(int fd, const char *path, const void *buf, size_t len,
    bool wait)
{
	struct sockaddr_un	 sa;
	struct sockaddr		*to = NULL;
	socklen_t		 tolen = 0;
	size_t			 plen;
	ssize_t			 n;
	int			 flags = MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT);

	if (path != NULL) {
		if ((plen = strlen(path)) >= sizeof(sa.sun_path)) {
			errno = ENAMETOOLONG;
			return (-1);
		}
		memset(&sa, 0, sizeof(sa));
		sa.sun_family = AF_UNIX;
		memcpy(sa.sun_path, path, plen);
		to = (struct sockaddr *)&sa;
		tolen = sizeof(sa);
	}
	do
		n = sendto(fd, buf, len, flags, to, tolen);
	while (n == -1 && errno == EINTR);
	return (n == -1 ? -1 : 0);
}

int
journal_send(int fd, const struct journal_entry *e, bool wait)
{
	struct journal_buf	b;
	char			prio[4];

	b.len = 0;
	b.full = false;
	snprintf(prio, sizeof(prio), "%d", e->priority & 7);
	journal_field(&b, "MESSAGE", e->message);
	journal_field(&b, "PRIORITY", prio);
	journal_field(&b, "SYSLOG_IDENTIFIER", e->identifier);
	journal_field(&b, "GATEWAYD_DEVICE", e->device);
	journal_field(&b, "GATEWAYD_LINK", e->link);
	journal_field(&b, "GATEWAYD_REASON", e->reason);
	if (b.full) {
		errno = EMSGSIZE;
		return (-1);
	}
	return (journal_dgram(fd, NULL, b.data, b.len, wait));
}
