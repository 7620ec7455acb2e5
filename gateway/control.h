/* control.h -- the control socket: gwctl's commands on a Unix socket.

   The protocol, one connection per command: the client sends one line,
   the command and its words separated by blanks ("disconnect press1
   device\n"); the server answers with lines that begin with "| " (the
   output: a row of the status, a line of a reload's outcome or of a
   trace), then one last line that begins with OK:, WARNING:, CRITICAL:
   or UNKNOWN: (the outcome, as a monitoring plugin says it), and closes
   the connection. The commands: status, reload, disconnect DEVICE
   [LINK], trace DEVICE [BYTES] (a line per chunk of traffic until the
   client leaves, the device stops or BYTES were shown). */
#ifndef GW_CONTROL_H
#define GW_CONTROL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "link.h"
#include "strbuf.h"
#include "tap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The outcome of a command: the exit code of a monitoring plugin. */
enum control_code { CONTROL_OK, CONTROL_WARNING, CONTROL_CRITICAL,
	CONTROL_UNKNOWN };

/* "OK", "WARNING", "CRITICAL" or "UNKNOWN". */
const char	*control_code_str(enum control_code);

/* Commands a client sends at once: one more is refused. A trace lasts as
   long as its reader: traces take at most CONTROL_TRACES_MAX places, the
   rest are kept for status, reload and disconnect. */
#define CONTROL_CLIENTS_MAX	16
#define CONTROL_TRACES_MAX	12
/* Descriptors the server may hold: its clients (and one refused), the
   listening socket, its wake pipe, a tap's eventfd per client, and a
   spare to turn clients away with when the process is out of them. */
#define CONTROL_FDS		(2 * (CONTROL_CLIENTS_MAX + 1) + 4)

/* What the server asks of its owner. Every function is called on the
   server's thread and must return quickly: copy under short locks, never
   wait for a peer. */
struct control_ops {
	/* Append the status, one tab-separated line per link (see
	   metrics_render_text(); verbose adds the last failure's detail and
	   last words). 0, or -1 (out of memory). */
	int	(*status)(void *ctx, bool verbose, struct strbuf *out);
	/* Shut down kind (LINK_KIND_COUNT: every link) of device for reason
	   operator, detail saying who asked. Returns 0 with the kinds the
	   device has in *had and those this call shut down in *done (bit
	   1 << kind), or -1 when there is no such device. */
	int	(*disconnect)(void *ctx, const char *device, enum link_kind kind,
		    const char *detail, unsigned *had, unsigned *done);
	/* Tell the main thread that a reload waits (control_reload_take()). */
	void	(*reload_wake)(void *ctx);
	/* A reference (tap_unref() it) to the tap of device, or NULL when
	   there is no such device. */
	struct tap *(*tap)(void *ctx, const char *device);
};

struct control;

/* Serve ops on a Unix stream socket at path, mode 0660 (its owner and
   group, root anyway), with one thread of its own. A stale socket file
   left by a gateway that is gone is replaced; a socket another process
   answers on, or a file that is not a socket, is left alone. Returns
   NULL with a reason in err when the socket or the thread cannot be had. */
struct control	*control_start(const char *path, const struct control_ops *ops,
		    void *ctx, char *err, size_t errlen);

/* Stop serving: join the thread, close every client, remove the socket
   file. NULL is fine. */
void		 control_stop(struct control *);

/* Main thread: take the reload a client asked for, if any: true, with the
   asker's uid and pid. Then control_reload_done() must follow. */
bool		 control_reload_take(struct control *, uid_t *uid, pid_t *pid);

/* Main thread: the outcome of the reload taken: lines (each ending in a
   newline; "" for none), then the last line, code and summary. The asker
   receives them (unless it left). */
void		 control_reload_done(struct control *, enum control_code code,
		    const char *lines, const char *summary);

#ifdef __cplusplus
}
#endif

#endif
