/* control.c -- the control socket: gwctl's commands on a Unix socket.
 *
 * DESIGN: one thread polls the listening socket, a wake pipe and every
 * client (at most CONTROL_CLIENTS_MAX), all of them non-blocking, so that
 * no client can hold it up. A client has CONTROL_DEADLINE_MS from its
 * connection to send its command line and as long again to take the
 * reply; past either it is closed. A command never blocks the thread:
 * the status is copied under short locks by the owner's ops->status(), a
 * disconnect only shuts sockets down, and a reload -- which only the main
 * thread may run -- is handed over: the thread records it under mu and
 * calls ops->reload_wake(); the main thread takes it
 * (control_reload_take()), reloads, and leaves the outcome under mu
 * (control_reload_done()), writing the wake pipe; the thread then sends
 * it to the client that asked, if it is still there. A trace subscribes
 * to the device's tap (tap.c), which takes TAP_TRACES_MAX traces and
 * keeps its other places for the device's monitor clients: the relay
 * threads copy into the trace's buffer and never wait; this thread takes
 * from it, when its eventfd says there is something, only as fast as the
 * client reads (at most CONTROL_TRACE_OUT bytes formatted and not yet
 * sent), so that a client that stops reading makes the tap drop, and
 * count, what it cannot hold -- the trace says where and how much. mu
 * protects the reload hand-over and the stop flag, nothing else:
 * everything else is the thread's. control_stop() sets the flag, writes
 * the pipe and joins; the traces are unsubscribed after. Out of
 * descriptors, a client waiting at accept() is turned away with a spare
 * (spare.h) and told why; should even that fail, the listening socket is
 * left out of the poll set for CONTROL_PAUSE_MS.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "log.h"
#include "spare.h"
#include "tap.h"

#define CONTROL_LINE_MAX	512	/* one command line */
#define CONTROL_DEADLINE_MS	5000	/* to send a command, to take a reply */
#define CONTROL_RELOAD_MS	60000	/* for the main thread to reload */
#define CONTROL_POLL_MS		1000	/* longest sleep without a deadline */
#define CONTROL_PAUSE_MS	1000	/* out of descriptors, no spare */
#define CONTROL_FULL_LOG_MS	60000	/* one "out of descriptors" a minute */
#define CONTROL_ARGS_MAX	4
#define CONTROL_BACKLOG		16
#define CONTROL_NO_DEADLINE	INT64_MAX
#define CONTROL_COMMANDS	"status, reload, disconnect or trace"
#define CONTROL_TRACE_BUF	(256 * 1024)	/* a trace's buffer in the tap */
#define CONTROL_TRACE_OUT	(64 * 1024)	/* formatted, not yet sent */

enum cl_state {
	CL_FREE,
	CL_COMMAND,		/* reading the command line */
	CL_RELOAD,		/* waiting for the main thread's reload */
	CL_TRACE,		/* streaming a device's traffic */
	CL_REPLY		/* sending the reply, then closing */
};

/* One client; the thread's alone. */
struct ctl_client {
	enum cl_state	 state;
	int		 fd;
	unsigned	 id;		/* tells a slot's clients apart */
	uid_t		 uid;		/* SO_PEERCRED */
	pid_t		 pid;
	int64_t		 deadline_ms;
	bool		 rd_eof;	/* the client sent all it will */
	char		 in[CONTROL_LINE_MAX + 1];
	size_t		 inlen;
	struct strbuf	 out;
	size_t		 sent;		/* of out.len */
	/* A trace. */
	struct tap_sub	*sub;
	char		*piece;		/* TAP_PIECE_MAX, for tap_take() */
	char		 dev[CFG_NAME_MAX];
	uint64_t	 limit;		/* bytes to show; 0: no limit */
	uint64_t	 shown;
};

enum rl_state { RL_IDLE, RL_ASKED, RL_RUNNING, RL_DONE };

struct control {
	const struct control_ops *ops;
	void			*ctx;
	char			 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int			 lfd;
	int			 wake[2];	/* readable: stop, or reload done */
	pthread_t		 tid;
	/* The thread's. */
	struct ctl_client	 cl[CONTROL_CLIENTS_MAX];
	unsigned		 next_id;
	struct spare		 spare;
	int64_t			 paused_until;	/* lfd left out of poll() */
	unsigned long		 turned_away;	/* out of descriptors */
	struct log_limit	 full_log;
	pthread_mutex_t		 mu;
	bool			 stop;		/* protected by mu */
	enum rl_state		 rl;		/* protected by mu */
	unsigned		 rl_client;	/* protected by mu: the asker */
	uid_t			 rl_uid;	/* protected by mu */
	pid_t			 rl_pid;	/* protected by mu */
	char			*rl_reply;	/* protected by mu: framed */
};

static int	control_listen(struct control *, char *, size_t);
static void	control_wake(struct control *);
static void	*control_main(void *);
static void	control_accept(struct control *);
static void	control_reload_deliver(struct control *);
static void	cl_close(struct ctl_client *);
static void	cl_expire(struct ctl_client *);
static void	cl_stop(struct ctl_client *);
static void	cl_lines(struct ctl_client *, const char *);
static void	cl_reply(struct ctl_client *, enum control_code, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static void	cl_dispatch(struct control *, struct ctl_client *);
static void	cl_status(struct control *, struct ctl_client *, int, char **);
static void	cl_reload(struct control *, struct ctl_client *, int, char **);
static void	cl_disconnect(struct control *, struct ctl_client *, int,
		    char **);
static void	cl_trace(struct control *, struct ctl_client *, int, char **);
static void	cl_trace_line(struct ctl_client *, enum tap_dir, int64_t,
		    const unsigned char *, size_t);
static void	cl_trace_pump(struct ctl_client *);
static void	cl_read(struct control *, struct ctl_client *);
static void	cl_write(struct ctl_client *);
static int	cl_split(char *, char **);
static const char *cl_printable(const char *, char *, size_t);

static const char *const code_names[] = {
	"OK", "WARNING", "CRITICAL", "UNKNOWN"
};

const char *
control_code_str(enum control_code c)
{
	return ((unsigned)c < sizeof(code_names) / sizeof(code_names[0]) ?
	    code_names[c] : "UNKNOWN");
}

/* Bind path, mode 0660, and listen. A socket file nobody answers on is
   stale: replaced. */
static int
control_listen(struct control *ctl, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, probe, saved_errno;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ctl->path, strlen(ctl->path) + 1);
	if (lstat(ctl->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    ctl->path);
			errno = EEXIST;
			return (-1);
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (probe != -1 && (connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0 || errno == EAGAIN)) {
			close(probe);
			snprintf(err, errlen, "%s is in use by another process",
			    ctl->path);
			errno = EADDRINUSE;
			return (-1);
		}
		if (probe != -1)
			close(probe);
		if (unlink(ctl->path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove the stale %s: %s",
			    ctl->path, strerror(errno));
			return (-1);
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "cannot bind %s: %s", ctl->path,
		    strerror(errno));
		goto out_close;
	}
	/* Before listen(): until then nobody can connect, whatever mode the
	   umask gave the file. */
	if (chmod(ctl->path, 0660) == -1) {
		snprintf(err, errlen, "cannot chmod %s: %s", ctl->path,
		    strerror(errno));
		goto out_unlink;
	}
	if (listen(fd, CONTROL_BACKLOG) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", ctl->path,
		    strerror(errno));
		goto out_unlink;
	}
	ctl->lfd = fd;
	return (0);
out_unlink:
	saved_errno = errno;
	(void)unlink(ctl->path);
	errno = saved_errno;
out_close:
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return (-1);
}

struct control *
control_start(const char *path, const struct control_ops *ops, void *ctx,
    char *err, size_t errlen)
{
	struct control	*ctl;
	int		 rc;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	if (strlen(path) >= sizeof(ctl->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		free(ctl);
		errno = ENAMETOOLONG;
		return (NULL);
	}
	memcpy(ctl->path, path, strlen(path) + 1);
	ctl->ops = ops;
	ctl->ctx = ctx;
	ctl->lfd = ctl->wake[0] = ctl->wake[1] = -1;
	ctl->full_log.window_ms = CONTROL_FULL_LOG_MS;
	pthread_mutex_init(&ctl->mu, NULL);
	if (spare_open(&ctl->spare) == -1) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		goto out_free;
	}
	if (control_listen(ctl, err, errlen) == -1)
		goto out_free;
	if (pipe2(ctl->wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out_free;
	}
	if ((rc = pthread_create(&ctl->tid, NULL, control_main, ctl)) != 0) {
		snprintf(err, errlen, "cannot start a thread: %s",
		    strerror(rc));
		goto out_free;
	}
	log_info("control: serving gwctl's commands on %s", ctl->path);
	return (ctl);
out_free:
	if (ctl->lfd != -1) {
		close(ctl->lfd);
		(void)unlink(ctl->path);
	}
	if (ctl->wake[0] != -1) {
		close(ctl->wake[0]);
		close(ctl->wake[1]);
	}
	spare_close(&ctl->spare);
	pthread_mutex_destroy(&ctl->mu);
	free(ctl);
	return (NULL);
}

/* Wake the thread: a full pipe already holds a wake-up. */
static void
control_wake(struct control *ctl)
{
	ssize_t	n;

	n = write(ctl->wake[1], "", 1);
	(void)n;
}

void
control_stop(struct control *ctl)
{
	int	i;

	if (ctl == NULL)
		return;
	pthread_mutex_lock(&ctl->mu);
	ctl->stop = true;
	pthread_mutex_unlock(&ctl->mu);
	control_wake(ctl);
	pthread_join(ctl->tid, NULL);
	/* A reload that ended as the stop came: its asker gets its outcome. */
	control_reload_deliver(ctl);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		cl_stop(&ctl->cl[i]);
	close(ctl->lfd);
	(void)unlink(ctl->path);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	spare_close(&ctl->spare);
	free(ctl->rl_reply);
	pthread_mutex_destroy(&ctl->mu);
	log_info("control: stopped serving on %s", ctl->path);
	free(ctl);
}

bool
control_reload_take(struct control *ctl, uid_t *uid, pid_t *pid)
{
	bool	taken = false;

	pthread_mutex_lock(&ctl->mu);
	if (ctl->rl == RL_ASKED) {
		ctl->rl = RL_RUNNING;
		*uid = ctl->rl_uid;
		*pid = ctl->rl_pid;
		taken = true;
	}
	pthread_mutex_unlock(&ctl->mu);
	return (taken);
}

void
control_reload_done(struct control *ctl, enum control_code code,
    const char *lines, const char *summary)
{
	struct ctl_client	reply;
	size_t			len;

	/* Framed here, on the main thread, with the client's own helpers. */
	memset(&reply, 0, sizeof(reply));
	strbuf_init(&reply.out);
	cl_lines(&reply, lines);
	cl_reply(&reply, code, "%s", summary);
	pthread_mutex_lock(&ctl->mu);
	if (ctl->rl == RL_RUNNING) {
		free(ctl->rl_reply);
		ctl->rl_reply = strbuf_take(&reply.out, &len);
		ctl->rl = RL_DONE;
	}
	pthread_mutex_unlock(&ctl->mu);
	strbuf_free(&reply.out);
	control_wake(ctl);
}

/* Hand a finished reload's outcome to the client that asked, if it is
   still waiting. */
static void
control_reload_deliver(struct control *ctl)
{
	struct ctl_client	*cl;
	char			*reply = NULL;
	unsigned		 id = 0;
	int			 i;

	pthread_mutex_lock(&ctl->mu);
	if (ctl->rl == RL_DONE) {
		reply = ctl->rl_reply;
		ctl->rl_reply = NULL;
		id = ctl->rl_client;
		ctl->rl = RL_IDLE;
	}
	pthread_mutex_unlock(&ctl->mu);
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		cl = &ctl->cl[i];
		if (cl->state != CL_RELOAD || cl->id != id)
			continue;
		if (reply == NULL)
			cl_reply(cl, CONTROL_UNKNOWN, "reloaded, but the outcome "
			    "was lost (out of memory): see the log");
		else {
			strbuf_puts(&cl->out, reply);
			cl->state = CL_REPLY;
			cl->deadline_ms = clock_ms() + CONTROL_DEADLINE_MS;
		}
	}
	free(reply);
}

static void
cl_close(struct ctl_client *cl)
{
	if (cl->state == CL_FREE)
		return;
	if (cl->sub != NULL) {
		log_info("uid %u (pid %d): trace of %s ended: %llu bytes shown, "
		    "%llu dropped", (unsigned)cl->uid, (int)cl->pid, cl->dev,
		    (unsigned long long)cl->shown,
		    (unsigned long long)tap_dropped(cl->sub));
		tap_unsubscribe(cl->sub);
		cl->sub = NULL;
	}
	free(cl->piece);
	cl->piece = NULL;
	close(cl->fd);
	strbuf_free(&cl->out);
	cl->state = CL_FREE;
}

/* The server stops (the gateway does): a trace ends with its outcome, a
   command not answered yet is told why, and what is queued goes out as
   far as the socket takes it now, without waiting; then the close. */
static void
cl_stop(struct ctl_client *cl)
{
	if (cl->state == CL_TRACE)
		cl_reply(cl, CONTROL_WARNING, "trace of %s ended: gatewayd is "
		    "stopping (%llu bytes shown, %llu dropped)", cl->dev,
		    (unsigned long long)cl->shown,
		    (unsigned long long)tap_dropped(cl->sub));
	else if (cl->state == CL_COMMAND || cl->state == CL_RELOAD)
		cl_reply(cl, CONTROL_UNKNOWN, "gatewayd is stopping");
	/* Its socket does not block: what it takes now. */
	if (cl->state != CL_FREE)
		cl_write(cl);
	cl_close(cl);
}

/* Past its deadline: say why, if it takes it at once, and close. */
static void
cl_expire(struct ctl_client *cl)
{
	char	msg[96];
	ssize_t	n;

	msg[0] = '\0';
	if (cl->state == CL_COMMAND)
		snprintf(msg, sizeof(msg), "UNKNOWN: no command within %d s\n",
		    CONTROL_DEADLINE_MS / 1000);
	else if (cl->state == CL_RELOAD) {
		log_warnx("the reload uid %u asked for took over %d s",
		    (unsigned)cl->uid, CONTROL_RELOAD_MS / 1000);
		snprintf(msg, sizeof(msg), "UNKNOWN: the reload took over %d s; "
		    "see the log\n", CONTROL_RELOAD_MS / 1000);
	}
	if (msg[0] != '\0') {
		n = send(cl->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;	/* best effort: it is closed anyway */
	}
	cl_close(cl);
}

/* Append text's lines as output lines ("| "...). */
static void
cl_lines(struct ctl_client *cl, const char *text)
{
	const char	*nl;

	for (; *text != '\0'; text = nl + 1) {
		if ((nl = strchr(text, '\n')) == NULL)
			nl = text + strlen(text);
		strbuf_puts(&cl->out, "| ");
		strbuf_add(&cl->out, text, (size_t)(nl - text));
		strbuf_puts(&cl->out, "\n");
		if (*nl == '\0')
			break;
	}
}

/* Append the last line and send everything, then close. */
static void
cl_reply(struct ctl_client *cl, enum control_code code, const char *fmt, ...)
{
	char	text[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	strbuf_printf(&cl->out, "%s: %s\n", control_code_str(code), text);
	cl->state = CL_REPLY;
	cl->deadline_ms = clock_ms() + CONTROL_DEADLINE_MS;
}

/* s with anything but printable ASCII as '?', for a message. */
static const char *
cl_printable(const char *s, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return (buf);
}

/* Split line into blank-separated words; returns how many (at most
   CONTROL_ARGS_MAX + 1, so that too many can be told). */
static int
cl_split(char *line, char **argv)
{
	char	*save, *w;
	int	 n = 0;

	for (w = strtok_r(line, " \t\r", &save); w != NULL &&
	    n < CONTROL_ARGS_MAX + 1; w = strtok_r(NULL, " \t\r", &save))
		argv[n++] = w;
	return (n);
}

static void
cl_status(struct control *ctl, struct ctl_client *cl, int argc, char **argv)
{
	struct strbuf	 rows;
	const char	*p;
	bool		 verbose = argc == 2 && strcmp(argv[1], "-v") == 0;
	int		 n = 0;

	if (argc > 2 || (argc == 2 && !verbose)) {
		cl_reply(cl, CONTROL_UNKNOWN, "usage: status [-v]");
		return;
	}
	strbuf_init(&rows);
	if (ctl->ops->status(ctl->ctx, verbose, &rows) == -1 || rows.failed) {
		strbuf_free(&rows);
		cl_reply(cl, CONTROL_UNKNOWN, "cannot copy the status: out of "
		    "memory");
		return;
	}
	for (p = rows.buf; p != NULL && *p != '\0'; p++)
		n += *p == '\n';
	if (rows.buf != NULL)
		cl_lines(cl, rows.buf);
	strbuf_free(&rows);
	cl_reply(cl, CONTROL_OK, "%d link%s", n, n == 1 ? "" : "s");
}

static void
cl_reload(struct control *ctl, struct ctl_client *cl, int argc, char **argv)
{
	bool	busy;

	(void)argv;
	if (argc != 1) {
		cl_reply(cl, CONTROL_UNKNOWN, "usage: reload");
		return;
	}
	pthread_mutex_lock(&ctl->mu);
	if (!(busy = ctl->rl != RL_IDLE)) {
		ctl->rl = RL_ASKED;
		ctl->rl_client = cl->id;
		ctl->rl_uid = cl->uid;
		ctl->rl_pid = cl->pid;
	}
	pthread_mutex_unlock(&ctl->mu);
	if (busy) {
		cl_reply(cl, CONTROL_UNKNOWN, "another reload is in progress: "
		    "try again");
		return;
	}
	log_info("uid %u (pid %d) asks for a reload",
	    (unsigned)cl->uid, (int)cl->pid);
	cl->state = CL_RELOAD;
	cl->deadline_ms = clock_ms() + CONTROL_RELOAD_MS;
	ctl->ops->reload_wake(ctl->ctx);
}

static void
cl_disconnect(struct control *ctl, struct ctl_client *cl, int argc,
    char **argv)
{
	enum link_kind	 kind = LINK_KIND_COUNT;
	char		 detail[96], dev[CFG_NAME_MAX + 8], has[48] = "";
	unsigned	 had, done;
	int		 k, n = 0;

	if (argc < 2 || argc > 3) {
		cl_reply(cl, CONTROL_UNKNOWN, "usage: disconnect DEVICE [LINK]");
		return;
	}
	cl_printable(argv[1], dev, sizeof(dev));
	if (argc == 3) {
		for (k = 0; k < LINK_KIND_COUNT &&
		    strcmp(argv[2], link_kind_str(k)) != 0; k++)
			;
		if (k == LINK_KIND_COUNT) {
			cl_reply(cl, CONTROL_UNKNOWN, "no such link: %s/%s (want "
			    "device, rx, tx or upstream)", dev,
			    cl_printable(argv[2], detail, sizeof(detail)));
			return;
		}
		kind = k;
	}
	snprintf(detail, sizeof(detail), "disconnected by uid %u (pid %d) on "
	    "the control socket", (unsigned)cl->uid, (int)cl->pid);
	if (ctl->ops->disconnect(ctl->ctx, argv[1], kind, detail, &had,
	    &done) == -1) {
		cl_reply(cl, CONTROL_UNKNOWN, "no such device: %s", dev);
		return;
	}
	for (k = 0; k < LINK_KIND_COUNT; k++)
		if (had & 1u << k)
			snprintf(has + strlen(has), sizeof(has) - strlen(has),
			    "%s%s", has[0] != '\0' ? ", " : "",
			    link_kind_str(k));
	if (kind != LINK_KIND_COUNT && !(had & 1u << kind)) {
		cl_reply(cl, CONTROL_UNKNOWN, "%s has no %s link (its links: "
		    "%s)", dev, link_kind_str(kind), has);
		return;
	}
	log_info("uid %u (pid %d): disconnect %s%s%s", (unsigned)
	    cl->uid, (int)cl->pid, dev, kind != LINK_KIND_COUNT ? "/" : "",
	    kind != LINK_KIND_COUNT ? link_kind_str(kind) : "");
	for (k = 0; k < LINK_KIND_COUNT; k++) {
		if (!(had & 1u << k) || (kind != LINK_KIND_COUNT &&
		    k != (int)kind))
			continue;
		strbuf_printf(&cl->out, "| %s/%s: %s\n", dev, link_kind_str(k),
		    done & 1u << k ? "disconnected" : "not up");
		n += (done & 1u << k) != 0;
	}
	if (n == 0)
		cl_reply(cl, CONTROL_WARNING, "nothing to disconnect: no link "
		    "of %s asked for was up", dev);
	else
		cl_reply(cl, CONTROL_OK, "disconnected %d link%s of %s "
		    "(reason operator); %s reconnect%s as after any failure",
		    n, n == 1 ? "" : "s", dev, n == 1 ? "it" : "they",
		    n == 1 ? "s" : "");
}

/* One line of a trace: time, direction, count, hex, printable ASCII. */
static void
cl_trace_line(struct ctl_client *cl, enum tap_dir dir, int64_t wall_ms,
    const unsigned char *p, size_t n)
{
	char	ascii[TAP_PIECE_MAX + 2], ts[CLOCK_UTC_MAX];
	size_t	i;

	strbuf_printf(&cl->out, "| %s %s %zu ", clock_format_utc(wall_ms, ts,
	    sizeof(ts)), tap_dir_str(dir), n);
	strbuf_hex(&cl->out, p, n);
	for (i = 0; i < n; i++)
		ascii[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.';
	memcpy(ascii + n, "|\n", 2);
	strbuf_puts(&cl->out, " |");
	strbuf_add(&cl->out, ascii, n + 2);
}

/* Format what the tap holds for a trace, while the client keeps up. */
static void
cl_trace_pump(struct ctl_client *cl)
{
	enum tap_dir	 dir = TAP_DEV_TO_UP;
	char		 ts[CLOCK_UTC_MAX];
	int64_t		 wall_ms;
	size_t		 n;

	while (cl->state == CL_TRACE && cl->out.len - cl->sent <
	    CONTROL_TRACE_OUT) {
		switch (tap_take(cl->sub, &dir, &wall_ms, cl->piece, &n)) {
		case TAP_EMPTY:
			return;
		case TAP_ENDED:
			cl_reply(cl, CONTROL_WARNING, "trace of %s ended: the "
			    "device stopped (%llu bytes shown, %llu dropped)",
			    cl->dev, (unsigned long long)cl->shown,
			    (unsigned long long)tap_dropped(cl->sub));
			return;
		case TAP_GAP:
			strbuf_printf(&cl->out, "| %s dropped %zu bytes: the "
			    "trace could not keep up\n", clock_format_utc(
			    wall_ms, ts, sizeof(ts)), n);
			break;
		case TAP_DISCARD:
			strbuf_printf(&cl->out, "| %s %s %zu bytes discarded: "
			    "%s\n", clock_format_utc(wall_ms, ts, sizeof(ts)),
			    tap_dir_str(dir), n, cl->piece);
			break;
		case TAP_DATA:
			if (cl->limit > 0 && n > cl->limit - cl->shown)
				n = (size_t)(cl->limit - cl->shown);
			cl_trace_line(cl, dir, wall_ms,
			    (const unsigned char *)cl->piece, n);
			cl->shown += n;
			if (cl->limit > 0 && cl->shown >= cl->limit)
				cl_reply(cl, CONTROL_OK, "trace of %s ended "
				    "after %llu bytes, the limit (%llu "
				    "dropped)", cl->dev,
				    (unsigned long long)cl->shown,
				    (unsigned long long)tap_dropped(cl->sub));
			break;
		}
	}
}

static int
control_traces(const struct control *ctl)
{
	int	i, n;

	for (i = n = 0; i < CONTROL_CLIENTS_MAX; i++)
		n += ctl->cl[i].state == CL_TRACE;
	return (n);
}

static void
cl_trace(struct control *ctl, struct ctl_client *cl, int argc, char **argv)
{
	struct tap	*tap;
	char		*end;

	if (argc < 2 || argc > 3) {
		cl_reply(cl, CONTROL_UNKNOWN, "usage: trace DEVICE [BYTES]");
		return;
	}
	/* Traces that nobody ends must not lock out a reload. */
	if (control_traces(ctl) >= CONTROL_TRACES_MAX) {
		cl_reply(cl, CONTROL_UNKNOWN, "cannot trace: %d traces run "
		    "already, the limit; the other %d places are kept for "
		    "status, reload and disconnect", CONTROL_TRACES_MAX,
		    CONTROL_CLIENTS_MAX - CONTROL_TRACES_MAX);
		return;
	}
	cl_printable(argv[1], cl->dev, sizeof(cl->dev));
	if (argc == 3) {
		errno = 0;
		cl->limit = strtoull(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || cl->limit == 0 ||
		    argv[2][0] == '-') {
			cl_reply(cl, CONTROL_UNKNOWN, "trace: BYTES must be a "
			    "positive number");
			return;
		}
	}
	if ((tap = ctl->ops->tap(ctl->ctx, argv[1])) == NULL) {
		cl_reply(cl, CONTROL_UNKNOWN, "no such device: %s", cl->dev);
		return;
	}
	if ((cl->piece = malloc(TAP_PIECE_MAX)) == NULL ||
	    (cl->sub = tap_subscribe(tap, TAP_TRACE, CONTROL_TRACE_BUF)) ==
	    NULL) {
		if (errno == EBUSY)
			cl_reply(cl, CONTROL_UNKNOWN, "cannot trace %s: %d "
			    "traces watch it already, the limit; the other %d "
			    "places are kept for its monitor clients", cl->dev,
			    TAP_TRACES_MAX, TAP_MONITORS_MAX);
		else
			cl_reply(cl, CONTROL_UNKNOWN, "cannot trace %s: %s",
			    cl->dev, errno == ESHUTDOWN ? "it is stopping" :
			    strerror(errno));
		tap_unref(tap);
		return;
	}
	tap_unref(tap);
	log_info("uid %u (pid %d): trace of %s", (unsigned)cl->uid,
	    (int)cl->pid, cl->dev);
	strbuf_printf(&cl->out, "| tracing %s: dev>up is what the device sent, "
	    "up>dev what the host sent\n", cl->dev);
	cl->state = CL_TRACE;
	cl->deadline_ms = CONTROL_NO_DEADLINE;
}

/* A whole command line arrived: act on it. */
static void
cl_dispatch(struct control *ctl, struct ctl_client *cl)
{
	char	*argv[CONTROL_ARGS_MAX + 1], word[32];
	int	 argc;

	argc = cl_split(cl->in, argv);
	if (argc == 0)
		cl_reply(cl, CONTROL_UNKNOWN, "no command (want "
		    CONTROL_COMMANDS ")");
	else if (argc > CONTROL_ARGS_MAX)
		cl_reply(cl, CONTROL_UNKNOWN, "too many words");
	else if (strcmp(argv[0], "status") == 0)
		cl_status(ctl, cl, argc, argv);
	else if (strcmp(argv[0], "reload") == 0)
		cl_reload(ctl, cl, argc, argv);
	else if (strcmp(argv[0], "disconnect") == 0)
		cl_disconnect(ctl, cl, argc, argv);
	else if (strcmp(argv[0], "trace") == 0)
		cl_trace(ctl, cl, argc, argv);
	else
		cl_reply(cl, CONTROL_UNKNOWN, "unknown command %s (want "
		    CONTROL_COMMANDS ")", cl_printable(argv[0], word,
		    sizeof(word)));
}

/* Readable: the command line (then act on it), or, once it is in,
   anything more, which is discarded. */
static void
cl_read(struct control *ctl, struct ctl_client *cl)
{
	char	 drain[256], *nl, *end;
	ssize_t	 n;

	if (cl->state != CL_COMMAND) {
		while ((n = read(cl->fd, drain, sizeof(drain))) > 0)
			;
		/* A trace ends when its reader leaves, traffic or not: it
		   holds one of the tap's few places. */
		if (n == 0 && cl->state == CL_TRACE)
			cl_close(cl);
		else if (n == 0)
			cl->rd_eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			cl_close(cl);
		return;
	}
	n = read(cl->fd, cl->in + cl->inlen, CONTROL_LINE_MAX - cl->inlen);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			cl_close(cl);
		return;
	}
	if (n == 0)
		cl->rd_eof = true;
	cl->inlen += (size_t)n;
	cl->in[cl->inlen] = '\0';
	if ((nl = memchr(cl->in, '\n', cl->inlen)) != NULL) {
		*nl = '\0';
		end = nl;
	} else if (cl->inlen == CONTROL_LINE_MAX) {
		cl_reply(cl, CONTROL_UNKNOWN, "command line too long (want at "
		    "most %d bytes)", CONTROL_LINE_MAX);
		return;
	} else if (!cl->rd_eof)
		return;
	else if (cl->inlen == 0) {
		/* Connected and left without a word. */
		cl_close(cl);
		return;
	} else
		end = cl->in + cl->inlen;
	if (strlen(cl->in) != (size_t)(end - cl->in)) {
		cl_reply(cl, CONTROL_UNKNOWN, "NUL byte in the command line");
		return;
	}
	cl_dispatch(ctl, cl);
}

/* Writable: send what is queued; all sent, close. What went out of a
   buffer that did not empty is cut off its front: a trace reader that
   never quite catches up would otherwise have the buffer keep all it was
   ever sent. */
static void
cl_write(struct ctl_client *cl)
{
	ssize_t	n;

	while (cl->sent < cl->out.len) {
		n = send(cl->fd, cl->out.buf + cl->sent, cl->out.len - cl->sent,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR) {
				cl_close(cl);
				return;
			}
			strbuf_drop(&cl->out, cl->sent);
			cl->sent = 0;
			return;
		}
		cl->sent += (size_t)n;
	}
	if (cl->state == CL_REPLY)
		cl_close(cl);
	else {
		/* All sent: the buffer starts over. */
		cl->out.len = cl->sent = 0;
	}
}

/* A client turned away for want of descriptors: count it, and say so at
   most once a window. */
static void
control_turned_away(struct control *ctl)
{
	unsigned	suppressed;

	ctl->turned_away++;
	if (log_limit_allow(&ctl->full_log, clock_ms(), &suppressed))
		log_warnx("out of file descriptors: turned new control "
		    "clients away (%lu so far)%s", ctl->turned_away,
		    log_suppressed(suppressed));
}

/* Take every client waiting; one over the maximum is told so, and so is
   one that comes while the process is out of descriptors. */
static void
control_accept(struct control *ctl)
{
	struct ctl_client	*cl;
	struct ucred		 cred;
	socklen_t		 clen;
	const char		 full[] = "UNKNOWN: too many control "
				    "connections: try again\n";
	const char		 nomore[] = "UNKNOWN: gatewayd is out of "
				    "file descriptors: try again later\n";
	ssize_t			 n;
	int			 fd, i;
	bool			 away;

	for (;;) {
		fd = spare_accept(ctl->lfd, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK);
		if (fd == -1) {
			switch (spare_accept_failed(&ctl->spare, ctl->lfd,
			    errno, nomore, &away)) {
			case SPARE_AGAIN:
				if (away)
					control_turned_away(ctl);
				continue;
			case SPARE_PAUSE:
				ctl->paused_until = clock_ms() +
				    CONTROL_PAUSE_MS;
				return;
			default:
				return;		/* all taken */
			}
		}
		for (i = 0; i < CONTROL_CLIENTS_MAX &&
		    ctl->cl[i].state != CL_FREE; i++)
			;
		if (i == CONTROL_CLIENTS_MAX) {
			n = send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL);
			(void)n;	/* best effort: it goes anyway */
			close(fd);
			continue;
		}
		cl = &ctl->cl[i];
		memset(cl, 0, sizeof(*cl));
		clen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ==
		    -1) {
			log_warnx("SO_PEERCRED: %s", strerror(errno));
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->id = ++ctl->next_id;
		cl->uid = cred.uid;
		cl->pid = cred.pid;
		cl->state = CL_COMMAND;
		cl->deadline_ms = clock_ms() + CONTROL_DEADLINE_MS;
		strbuf_init(&cl->out);
	}
}

static void *
control_main(void *arg)
{
	struct control		*ctl = arg;
	struct pollfd		 pfd[2 + 2 * CONTROL_CLIENTS_MAX];
	struct ctl_client	*cl;
	int64_t			 now, next;
	char			 drain[64];
	int			 i, n, timeout, slot[2 * CONTROL_CLIENTS_MAX];
	bool			 stop;

	log_set_tag("control");
	for (;;) {
		now = clock_ms();
		next = now + CONTROL_POLL_MS;
		pfd[0] = (struct pollfd){ .fd = ctl->wake[0], .events = POLLIN };
		/* Paused: a negative fd is left out. */
		pfd[1] = (struct pollfd){ .fd = now < ctl->paused_until ? -1 :
		    ctl->lfd, .events = POLLIN };
		if (now < ctl->paused_until && ctl->paused_until < next)
			next = ctl->paused_until;
		for (i = 0, n = 2; i < CONTROL_CLIENTS_MAX; i++) {
			cl = &ctl->cl[i];
			if (cl->state == CL_FREE)
				continue;
			if (now >= cl->deadline_ms) {
				cl_expire(cl);
				continue;
			}
			if (cl->deadline_ms < next)
				next = cl->deadline_ms;
			pfd[n].fd = cl->fd;
			pfd[n].events = (cl->rd_eof ? 0 : POLLIN) |
			    (cl->sent < cl->out.len ? POLLOUT : 0);
			pfd[n].revents = 0;
			slot[n - 2] = i;
			n++;
			if (cl->state != CL_TRACE)
				continue;
			pfd[n] = (struct pollfd){ .fd = tap_fd(cl->sub),
			    .events = POLLIN };
			slot[n - 2] = i;
			n++;
		}
		timeout = (int)(next - now);
		if (poll(pfd, (nfds_t)n, timeout) == -1 && errno != EINTR)
			fatal("control: poll: %s", strerror(errno));
		if (pfd[0].revents != 0) {
			while (read(ctl->wake[0], drain, sizeof(drain)) > 0)
				;
			pthread_mutex_lock(&ctl->mu);
			stop = ctl->stop;
			pthread_mutex_unlock(&ctl->mu);
			if (stop)
				break;
			control_reload_deliver(ctl);
		}
		for (i = 2; i < n; i++) {
			cl = &ctl->cl[slot[i - 2]];
			if (cl->state == CL_FREE)
				continue;
			if (cl->state == CL_TRACE && pfd[i].fd ==
			    tap_fd(cl->sub)) {
				if (pfd[i].revents != 0) {
					tap_wake(cl->sub);
					cl_trace_pump(cl);
				}
				continue;
			}
			if (cl->fd != pfd[i].fd)
				continue;
			if (pfd[i].revents & POLLIN)
				cl_read(ctl, cl);
			if (cl->state != CL_FREE && cl->sent < cl->out.len &&
			    (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				cl_write(cl);
			/* Gone, with nothing more to send it: a reload it
			   waits for runs on, and its outcome is dropped. */
			else if (cl->state != CL_FREE &&
			    (pfd[i].revents & (POLLERR | POLLHUP)))
				cl_close(cl);
			/* Room again: take more from the tap. */
			if (cl->state == CL_TRACE)
				cl_trace_pump(cl);
		}
		if (pfd[1].revents & POLLIN)
			control_accept(ctl);
	}
	return (NULL);
}
