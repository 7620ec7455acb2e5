/* journal.h -- entries for the systemd journal in its native protocol: one
   datagram per entry on the journal's Unix socket, without libsystemd. */
#ifndef GW_JOURNAL_H
#define GW_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where systemd-journald takes native entries. */
#define JOURNAL_SOCKET		"/run/systemd/journal/socket"

/* The longest entry sent, in bytes, fields and framing included. */
#define JOURNAL_ENTRY_MAX	4096

/* How long a send may wait for a journal that does not read, in ms. */
#define JOURNAL_SEND_MS		1000

/* One entry. PRIORITY is a syslog(3) level (LOG_ERR .. LOG_DEBUG); the
   other fields are strings, and a NULL or "" one is left out. */
struct journal_entry {
	int		 priority;	/* PRIORITY= */
	const char	*identifier;	/* SYSLOG_IDENTIFIER= */
	const char	*message;	/* MESSAGE= */
	const char	*device;	/* GATEWAYD_DEVICE= */
	const char	*link;		/* GATEWAYD_LINK= */
	const char	*reason;	/* GATEWAYD_REASON= */
};

/* A datagram socket connected to the journal's socket at path
   (JOURNAL_SOCKET): connecting is the check that a journal takes entries
   there. Returns the descriptor (close(2) it), or -1 with errno: ENOENT
   (no journal on this host), ECONNREFUSED (nobody reads the socket),
   EACCES, ENAMETOOLONG, ... */
int	journal_open(const char *path);

/* Send e on fd as one datagram, each field "NAME=value\n", or in the
   protocol's binary form (NAME, newline, 64-bit little-endian length,
   value, newline) when the value holds a line break. With wait, waits at
   most JOURNAL_SEND_MS for room; without, not at all. Returns 0, or -1
   with errno: EMSGSIZE (more than JOURNAL_ENTRY_MAX bytes), EAGAIN (the
   journal did not take it in time), or send(2)'s. Any thread. */
int	journal_send(int fd, const struct journal_entry *e, bool wait);

/* Send len bytes of buf on fd (from journal_open()) as one datagram: to
   path when not NULL, found anew by its name (a reader that made its
   socket again, a restarted syslog daemon, is reached), else to the
   socket fd is connected to. wait as for journal_send(). */
int	journal_dgram(int fd, const char *path, const void *buf, size_t len,
	    bool wait);

#ifdef __cplusplus
}
#endif

#endif
