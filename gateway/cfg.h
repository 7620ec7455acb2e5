/* cfg.h -- the configuration: libconfig file -> validated plain structs.
   The schema (keys, defaults, bounds, rules, equality) is cfg_schema.h. */
#ifndef GW_CFG_H
#define GW_CFG_H

#include <stdbool.h>
#include <stdio.h>

#include "addr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CFG_NAME_MAX	65	/* device name: [A-Za-z0-9_.-]{1,64} + NUL */
#define CFG_ADDR_MAX	(ADDR_HOST_MAX + 16)
#define CFG_SOCKET_MAX	108	/* a Unix socket's path: sun_path, NUL included */
#define CFG_MONITOR_CLIENTS	4	/* monitor clients of a device at once */

enum cfg_log_level { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR };
enum cfg_log_target { CFG_LOG_STDERR, CFG_LOG_SYSLOG, CFG_LOG_JOURNAL };
enum cfg_link_mode { CFG_LINK_NONE, CFG_LINK_CONNECT, CFG_LINK_LISTEN };
enum cfg_new_client { CFG_NEW_CLIENT_REPLACE, CFG_NEW_CLIENT_REJECT };
enum cfg_device_down { CFG_DOWN_CLOSE, CFG_DOWN_HOLD };
enum cfg_relay { CFG_RELAY_SPLICE, CFG_RELAY_COPY };
enum cfg_monitor_format { CFG_MONITOR_RAW, CFG_MONITOR_TAGGED };

/* One link end: dial out (connect) or accept one peer at a time (listen). */
struct cfg_endpoint {
	enum cfg_link_mode	 mode;
	char			 text[CFG_ADDR_MAX];	/* as written */
	struct addr_hostport	 hp;
	enum cfg_new_client	 on_new_client;		/* listen only */
	struct addr_cidr	*allow;			/* listen only; NULL = any */
	int			 n_allow;
	int			 line;			/* config line, for messages */
	struct addr_binds	 binds;	/* listen: what a name binds, once a
					   start or a reload looked it up */
};

/* Tunables that every device inherits from "defaults" and may override. */
struct cfg_policy {
	int			keepalive_idle_s;
	int			keepalive_interval_s;
	int			keepalive_count;
	int			user_timeout_ms;
	int			stall_timeout_ms;
	int			rx_silence_ms;		/* 0 = off */
	int			io_timeout_ms;
	int			connect_timeout_ms;
	int			backoff_min_ms;
	int			backoff_max_ms;
	int			buffer_bytes;
	enum cfg_device_down	on_device_down;
	int			hold_max_ms;
	enum cfg_relay		relay;
	enum cfg_monitor_format	monitor_format;
};

struct cfg_device {
	char			name[CFG_NAME_MAX];
	bool			split;		/* rx + tx instead of one link */
	struct cfg_endpoint	device;		/* when !split */
	struct cfg_endpoint	rx;		/* when split: gateway only reads */
	struct cfg_endpoint	tx;		/* when split: gateway only writes */
	struct cfg_endpoint	upstream;
	struct cfg_endpoint	monitor;	/* listen, or mode NONE: none */
	struct cfg_policy	pol;
	int			line;
};

struct cfg {
	int			 version;
	enum cfg_log_level	 log_level;
	enum cfg_log_target	 log_target;
	char			 status_listen[CFG_ADDR_MAX];	/* "" = off */
	struct addr_hostport	 status_hp;
	struct addr_binds	 status_binds;	/* as an endpoint's binds */
	int			 status_per_link_detail;	/* 0 or 1 */
	char			 control_socket[CFG_SOCKET_MAX]; /* "" = off */
	int			 watchdog_period_ms;
	struct cfg_policy	 defaults;
	struct cfg_device	*devices;
	int			 n_devices;
};

/* Read and validate path. On success returns 0 and a new config in *out
   (free with cfg_free()). On any error returns -1, *out is NULL, and every
   problem of the file has been written to err, one line each, in the form
   "FILE:LINE: setting.path: problem (got X, want Y)". Warnings (a valid but
   risky setting) are written as "FILE:LINE: warning: ..." and do not fail.
   Touches no network. */
int	cfg_load(const char *path, struct cfg **out, FILE *err);

/* cfg_load(), and every listen address written as a name is looked up,
   all at once, waiting CFG_LOOKUP_MS in all (cfg_lookup_listen()): for a
   start or a reload, where the network is to be used anyway. The answers
   are what the listens bind, and show one name that binds what another
   listen address does (cfg_check_devices()). */
int	cfg_load_lookup(const char *path, struct cfg **out, FILE *err);

/* cfg_load_lookup() for a reload, on the thread that answers SIGTERM:
   path is read only if it is a regular file, and opening it never waits
   (a FIFO without a writer would). Returns CFG_NOT_REGULAR, with the
   line "PATH: cannot read: not a regular file" written to err, when it is
   not one. */
#define CFG_NOT_REGULAR	(-2)
int	cfg_load_regular(const char *path, struct cfg **out, FILE *err);

void	cfg_free(struct cfg *);

/* A device's settings as a copy of its own (allow lists too), to outlive
   the config it came from. Returns 0, or -1 (ENOMEM) with dst empty. */
int	cfg_device_copy(struct cfg_device *dst, const struct cfg_device *src);

/* Free what cfg_device_copy() allocated. */
void	cfg_device_free(struct cfg_device *);

#ifdef __cplusplus
}
#endif

#endif
