/*
 * devsim.h -- device simulator: the state its files share, and what each
 * file offers the others.
 */
#ifndef DEVSIM_H
#define DEVSIM_H

#include <sys/types.h>

#include <netdb.h>

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define BUF_LEN		65536	/* output buffer per conn, a multiple of 8 */
#define PEER_LEN	128
#define REASON_LEN	96
#define NAME_LEN_MAX	64
#define MESSAGE_LEN_MAX	4096
#define IO_TURN		(4 * BUF_LEN)	/* bytes per connection per turn */
#define DURATION_MAX_MS	INT64_C(1000000000000)
#define CONNS_MAX	65536	/* --max-conns; the open file limit may be lower */
#define NEVER		INT64_MAX
#define OFF		(-1)

enum mode {
	MODE_ECHO,
	MODE_CHATTER,
	MODE_SILENT,
	MODE_SINK,
	MODE_STOP_READING,
	MODE_SOURCE,
	MODE_COUNT
};

struct opts {
	const char	*listen;	/* ADDR:PORT, or NULL */
	const char	*connect;	/* ADDR:PORT, or NULL */
	enum mode	 mode;
	const char	*name;
	const char	*message;	/* NULL: "<name> seq=<N>" */
	const char	*ready_file;
	int64_t		 interval_ms;
	int64_t		 close_after_ms;	/* OFF or a delay */
	int64_t		 reset_after_ms;	/* OFF or a delay */
	int64_t		 exit_after_ms;		/* OFF or a delay */
	int64_t		 reconnect_ms;
	int64_t		 connect_timeout_ms;
	uint64_t	 bytes;			/* 0: endless */
	uint64_t	 seed;
	int		 max_conns;
	int		 rcvbuf;		/* 0: kernel default */
	bool		 echo;
	bool		 close_when_done;
	bool		 digest;
	bool		 stats;
};

enum conn_state {
	CONN_FREE,
	CONN_CONNECTING,
	CONN_OPEN,
	CONN_DRAINING		/* FIN sent, waiting for the peer's */
};

struct conn {
	enum conn_state	 state;
	int		 fd;
	char		 peer[PEER_LEN];
	char		 reason[REASON_LEN];	/* why a draining conn ends */
	int64_t		 since_ms;	/* established, or dial started */
	int64_t		 drain_until_ms;
	int64_t		 next_line_ms;
	uint64_t	 seq;		/* chatter lines queued */
	uint64_t	 rx;
	uint64_t	 tx;
	uint64_t	 rx_fnv;
	uint64_t	 tx_fnv;
	uint64_t	 src_left;	/* source: bytes not yet generated */
	uint64_t	 rng;
	bool		 peer_eof;
	size_t		 off;		/* pending output is buf[off, len) */
	size_t		 len;
	unsigned char	*buf;		/* BUF_LEN bytes, in sim->bufs */
};

struct sim {
	struct opts	 opt;
	struct addr_hostport addr;	/* --listen or --connect, parsed */
	struct conn	*conns;
	int		 nconns;
	unsigned char	*bufs;		/* the output buffers of all conns */
	struct pollfd	*pfd;
	int		*pconn;		/* pfd index -> conn index or a PFD_* */
	int		 sig_fd;
	int		 listen_fd;
	int64_t		 accept_pause_until_ms;
	struct addrinfo	*ai_list;	/* --connect: addresses of this dial */
	struct addrinfo	*ai_next;
	int64_t		 redial_at_ms;	/* --connect: NEVER while dialled */
	int		 dial_err;	/* errno, or a negative EAI_* code */
	int		 streak_err;	/* error of the current streak */
	uint64_t	 streak;	/* failed dials since the last one up */
	uint64_t	 repeats;	/* of streak_err, not logged yet */
	int64_t		 exit_at_ms;
	bool		 ready_done;
	bool		 quit;
	int		 exit_code;
	uint64_t	 stat_conns;
	uint64_t	 stat_rx;
	uint64_t	 stat_tx;
	uint64_t	 stat_dial_failures;
};

/* opts.c */
/* Fill o and addr from the command line; exit 0 on -h, EX_USAGE on misuse. */
void		 opts_parse(int, char **, struct opts *o,
		    struct addr_hostport *addr);

/* output.c */
/* Milliseconds on the monotonic clock. */
int64_t		 now_ms(void);
/* Take now as the start: every log line is stamped relative to it. */
void		 log_start(void);
/* The name that follows the stamp on every line ("devsim" until set). */
void		 log_set_name(const char *);
/* The start, on the now_ms() clock. */
int64_t		 log_started_ms(void);
/* One line to stderr in one write(2): "<ms since start> <name>: <msg>".
   Keeps errno. */
void		 logmsg(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Text for an errno (positive) or a getaddrinfo code (negative). */
const char	*err_str(int);
/* Write --ready-file with port, the first time only. Returns 0, or -1
   (logged). */
int		 ready_once(struct sim *, int port);

/* mode.c */
/* The mode named s, or -1 if there is none. */
int		 mode_parse(const char *s);
const char	*mode_str(enum mode);
/* True if received bytes go through the output buffer (they are echoed). */
bool		 mode_buffers_input(const struct sim *);
/* Source mode: fill the (empty) output buffer with the next bytes of the
   stream. Returns true if bytes were added. */
bool		 mode_source_refill(struct sim *, struct conn *);
/* Queue the next chatter line if it fits; else try again an interval
   later. */
void		 mode_chatter(struct sim *, struct conn *, int64_t now);

/* fault.c */
/* The time delay_ms after base, or NEVER if the delay is OFF. */
int64_t		 fault_at(int64_t base, int64_t delay_ms);
/* When the next --close-after-ms or --reset-after-ms fault of an open c
   is due, NEVER if none is. */
int64_t		 fault_deadline(const struct sim *, const struct conn *);
/* Apply the fault due on an open c, if one is: a clean close, or an RST.
   Returns true if it did (c is then draining or closed). */
bool		 fault_check(struct sim *, struct conn *, int64_t now);

/* listen.c */
/* Bind and listen on the first address of --listen that works. Returns
   0, or -1 (logged). */
int		 listen_open(struct sim *);
/* Accept what is pending, a bounded number per turn. */
void		 listen_accept(struct sim *, int64_t now);

/* dial.c */
/* Resolve --connect afresh and dial its first address. */
void		 dial_start(struct sim *, int64_t now);
/* A connecting socket became writable: connected, or on to the next
   address. */
void		 dial_check(struct sim *, struct conn *, int64_t now);
/* Give up on the address c is dialling (err: why), try the next one. */
void		 dial_abort(struct sim *, struct conn *, int err,
		    int64_t now);
/* Log how often the last logged dial error repeated silently, if it
   did. */
void		 dial_repeats(struct sim *);
/* A connection ended or a dial failed: redial --reconnect-ms later, or,
   with --reconnect-ms 0, quit with exit_code. */
void		 dial_again(struct sim *, int64_t now, int exit_code);

/* conn.c */
/* A free slot, or NULL if all --max-conns are in use. */
struct conn	*conn_alloc(struct sim *);
/* Make c an established connection on fd (c->peer already set) and log
   it. */
void		 conn_open(struct sim *, struct conn *, int fd,
		    int64_t now);
/* The poll events c waits for. */
short		 conn_events(const struct sim *, const struct conn *);
/* The nearest time at which a timer of c is due, NEVER if none is. */
int64_t		 conn_deadline(const struct sim *, const struct conn *);
/* Run the timers of c that are due. */
void		 conn_timers(struct sim *, struct conn *, int64_t now);
/* Handle the poll events rev of c. */
void		 conn_handle(struct sim *, struct conn *, short rev,
		    int64_t now);
/* Move pending output to the start of c->buf, making room at its end. */
void		 conn_compact(struct conn *);
/* Close cleanly: send FIN, then discard input until the peer's FIN (for
   up to 2 s) before close(2), since closing with unread input sends
   RST. */
void		 conn_finish(struct sim *, struct conn *,
		    const char *reason, int64_t now);
/* Close c, log its end and digests, free the slot. With --connect,
   schedule the redial, or quit under --reconnect-ms 0. */
void		 conn_close(struct sim *, struct conn *,
		    const char *reason);
/* Local address of fd into buf (may be NULL); returns its port, or -1
   with errno set. */
int		 sock_port(int fd, char *buf, size_t len);

#endif
