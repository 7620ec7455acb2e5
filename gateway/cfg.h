/* cfg.h -- the configuration: libconfig file -> validated plain structs. */
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

enum cfg_log_level { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR };
enum cfg_link_mode { CFG_LINK_NONE, CFG_LINK_CONNECT, CFG_LINK_LISTEN };
enum cfg_new_client { CFG_NEW_CLIENT_REPLACE, CFG_NEW_CLIENT_REJECT };
enum cfg_device_down { CFG_DOWN_CLOSE, CFG_DOWN_HOLD };

/* One link end: dial out (connect) or accept one peer at a time (listen). */
struct cfg_endpoint {
	enum cfg_link_mode	 mode;
	char			 text[CFG_ADDR_MAX];	/* as written */
	struct addr_hostport	 hp;
	enum cfg_new_client	 on_new_client;		/* listen only */
	struct addr_cidr	*allow;			/* listen only; NULL = any */
	int			 n_allow;
	int			 line;			/* config line, for messages */
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
};

struct cfg_device {
	char			name[CFG_NAME_MAX];
	bool			split;		/* rx + tx instead of one link */
	struct cfg_endpoint	device;		/* when !split */
	struct cfg_endpoint	rx;		/* when split: gateway only reads */
	struct cfg_endpoint	tx;		/* when split: gateway only writes */
	struct cfg_endpoint	upstream;
	struct cfg_policy	pol;
	int			line;
};

struct cfg {
	char			 path[4096];
	int			 version;
	enum cfg_log_level	 log_level;
	char			 status_listen[CFG_ADDR_MAX];	/* "" = off */
	struct addr_hostport	 status_hp;
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

void	cfg_free(struct cfg *);

/* Print the documented defaults as a libconfig "defaults" group. */
void	cfg_dump_defaults(FILE *);

/* True when the two devices' settings are identical (used on reload). */
bool	cfg_device_equal(const struct cfg_device *, const struct cfg_device *);

const char *cfg_log_level_str(enum cfg_log_level);
const char *cfg_link_mode_str(enum cfg_link_mode);
const char *cfg_device_down_str(enum cfg_device_down);
const char *cfg_new_client_str(enum cfg_new_client);

/* The schema's scalar keys. One table holds each key's bounds, default,
   unit and help; it drives parsing, range checks, the defaults, the
   "defaults" dump and the documentation. */
enum cfg_keyscope {
	CFG_SCOPE_TOP,		/* top level: "watchdog.period_ms" */
	CFG_SCOPE_POLICY,	/* in "defaults" and in each device */
	CFG_SCOPE_ENDPOINT	/* in a link group: "on_new_client" */
};
enum cfg_keykind { CFG_KEY_INT, CFG_KEY_ENUM, CFG_KEY_ADDR };

struct cfg_keydoc {
	const char		*path;	/* in its scope: "keepalive.idle_s" */
	enum cfg_keyscope	 scope;
	enum cfg_keykind	 kind;
	bool			 required;	/* no default: must be set */
	long long		 min, max;	/* INT; ENUM: 0..n-1 */
	long long		 def;	/* INT: value; ENUM: index in choices */
	const char *const	*choices;	/* ENUM: NULL-terminated */
	const char		*defstr;	/* ADDR: default ("" = off) */
	const char		*unit;	/* "ms", "s", "bytes", ... or "" */
	const char		*help;	/* one line */
	size_t			 off;	/* INT: offset of the int field in
					   struct cfg or struct cfg_policy */
};

/* The key table, read-only; *n receives its length. */
const struct cfg_keydoc *cfg_keydocs(int *n);

/* The entry for path ("keepalive.idle_s"), or NULL. */
const struct cfg_keydoc *cfg_keydoc_find(const char *path);

/* The accepted values as the docs and messages print them: "1..7200",
   "1", "close or hold", "HOST:PORT or \"\"". Returns buf. */
char	*cfg_keydoc_range(const struct cfg_keydoc *, char *buf, size_t len);

/* The names a group of scope holds below prefix (NULL: at the top),
   comma-separated: (POLICY, "keepalive") -> "idle_s, interval_s, count".
   Empty when prefix names no group. Returns buf. */
char	*cfg_keydoc_names(enum cfg_keyscope, const char *prefix, char *buf,
	    size_t len);

const char *cfg_keyscope_str(enum cfg_keyscope);
const char *cfg_keykind_str(enum cfg_keykind);

/* Fill c with the table's defaults: no devices, version 0. */
void	cfg_defaults(struct cfg *c);

/* A problem found by a check on parsed values. */
struct cfg_issue {
	bool			 warning;	/* valid but risky */
	char			 path[128];	/* the setting to blame */
	const char *const	*keys;	/* cfg_policy_check(): the keys the
					   rule reads, NULL-terminated */
	char			 text[192];	/* "problem (got X, want Y)" */
};
#define CFG_ISSUES_MAX	4

/* Apply the cross-field rules of one effective policy (backoff.min_ms <=
   backoff.max_ms; user_timeout_ms covers the keepalive budget; keepalive
   tolerates a silent blip). Stores the first max issues in iv, each path
   relative to the policy's group, and returns how many it stored. Pure. */
int	cfg_policy_check(const struct cfg_policy *p, struct cfg_issue *iv,
	    int max);

/* Check across devices: duplicate names, overlapping listen addresses
   (status.listen included). Calls fn once per problem, blaming the later
   setting by its full path; returns the number of problems. Pure. */
int	cfg_check_devices(const struct cfg *c,
	    void (*fn)(void *arg, const struct cfg_issue *), void *arg);

/* (idle_s + interval_s * count) * 1000: how long keepalive takes to find
   a silent idle peer. */
int	cfg_keepalive_budget_ms(const struct cfg_policy *);

struct wd_policy;
/* The watchdog's view of a policy. */
void	cfg_wd_policy(const struct cfg_policy *, struct wd_policy *);

/* budget - idle_s - interval_s = interval_s * (count - 1), in ms: the
   longest silent blip a healthy idle link is sure to survive. */
int	cfg_blip_tolerance_ms(const struct cfg_policy *);

#ifdef __cplusplus
}
#endif

#endif
