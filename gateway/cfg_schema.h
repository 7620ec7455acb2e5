/* cfg_schema.h -- the configuration's schema: one table of keys with their
   bounds, defaults, units and help, and everything the table drives: the
   defaults, the range checks the loader applies, the cross-field and
   cross-device rules, equality on reload, and the reference the docs are
   checked against. Pure: no file, no network. */
#ifndef GW_CFG_SCHEMA_H
#define GW_CFG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cfg_keyscope {
	CFG_SCOPE_TOP,		/* top level: "watchdog.period_ms" */
	CFG_SCOPE_POLICY,	/* in "defaults" and in each device */
	CFG_SCOPE_ENDPOINT	/* in a link group: "on_new_client" */
};
enum cfg_keykind { CFG_KEY_INT, CFG_KEY_ENUM, CFG_KEY_ADDR, CFG_KEY_BOOL,
	CFG_KEY_PATH };

struct cfg_keydoc {
	const char		*path;	/* in its scope: "keepalive.idle_s" */
	enum cfg_keyscope	 scope;
	enum cfg_keykind	 kind;
	bool			 required;	/* no default: must be set */
	bool			 restarts;	/* POLICY: a change restarts the
						   device, not applied live */
	bool			 monitor_only;	/* POLICY: nothing to a device
						   without a monitor */
	long long		 min, max;	/* INT; ENUM: 0..n-1; BOOL: 0..1 */
	long long		 def;	/* INT: value; ENUM: index in choices;
					   BOOL: 0 false, 1 true */
	const char *const	*choices;	/* ENUM: NULL-terminated */
	const char		*defstr;	/* ADDR, PATH: default ("" = off) */
	const char		*unit;	/* "ms", "s", "bytes", ... or "" */
	const char		*help;	/* one line */
	size_t			 off;	/* INT, ENUM, BOOL: offset of the int
					   (or enum) field in struct cfg,
					   cfg_policy or cfg_endpoint; a
					   BOOL's int is 0 or 1 */
};

/* The key table, read-only; *n receives its length. */
const struct cfg_keydoc *cfg_keydocs(int *n);

/* The entry for path ("keepalive.idle_s"), or NULL. */
const struct cfg_keydoc *cfg_keydoc_find(const char *path);

/* The int (or enum) field of key k in base: a struct cfg, cfg_policy or
   cfg_endpoint, as k's scope says. */
int	*cfg_keydoc_field(void *base, const struct cfg_keydoc *k);

/* The accepted values as the docs and messages print them: "1..7200",
   "1", "close or hold", "HOST:PORT or \"\"", "true or false", "PATH or
   \"\"". Returns buf. */
char	*cfg_keydoc_range(const struct cfg_keydoc *, char *buf, size_t len);

/* The names a group of scope holds below prefix (NULL: at the top),
   comma-separated: (POLICY, "keepalive") -> "idle_s, interval_s, count".
   Empty when prefix names no group. Returns buf. */
char	*cfg_keydoc_names(enum cfg_keyscope, const char *prefix, char *buf,
	    size_t len);

/* Fill c with the table's defaults: no devices, version 0. */
void	cfg_defaults(struct cfg *c);

/* The defaults of a link end (on_new_client). */
void	cfg_endpoint_defaults(struct cfg_endpoint *);

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
   relative to the policy's group, and returns how many it stored. */
int	cfg_policy_check(const struct cfg_policy *p, struct cfg_issue *iv,
	    int max);

/* How long a start or a reload waits, in all, for the listen names it
   looks up. */
#define CFG_LOOKUP_MS		2000

/* Look up every listen address of c written as a name (status.listen
   included), all at once, waiting CFG_LOOKUP_MS in all, into its binds:
   a start or a reload runs on the thread that answers SIGTERM and tells
   the service manager it is alive, so a silent DNS server holds it up
   no longer. A name not answered in time gets no address (binds.why), a
   lookup of its own running on. */
void	cfg_lookup_listen(struct cfg *c);

/* Check across devices: duplicate names, overlapping listen addresses
   (status.listen included). With lookup, a listen address written as a
   name clashes with any other that binds the same address and port, as
   cfg_lookup_listen() found them. Calls fn once per problem, blaming the
   later setting by its full path; returns the number of problems. */
int	cfg_check_devices(const struct cfg *c, bool lookup,
	    void (*fn)(void *arg, const struct cfg_issue *), void *arg);

struct wd_policy;
/* The watchdog's view of a policy: its budgets and blip tolerance are the
   watchdog's arithmetic (wd_budget_ms(), wd_blip_tolerance_ms()), which
   the config check uses too, so the two never disagree. */
void	cfg_wd_policy(const struct cfg_policy *, struct wd_policy *);

/* (idle_s + interval_s * count) * 1000: how long keepalive takes to find
   a silent idle peer (wd_budget_ms(), clamped to an int). */
int	cfg_keepalive_budget_ms(const struct cfg_policy *);

/* Whether now shortens a budget of was that a quiet, healthy link's
   silence is held against: keepalive's, or the user timeout. */
bool	cfg_quiet_budgets_shorter(const struct cfg_policy *was,
	    const struct cfg_policy *now);

/* Print, for every link of every device, its detection budgets -- the
   worst case from a peer's last sign of life to the verdict: a silent
   idle peer, data in flight, a stalled peer, FIN/RST (and no byte received
   with rx_silence_ms) -- and the longest silent blip it survives, as the
   watchdog's arithmetic (wd_budgets()) has them; a warning line for each
   budget over CFG_BUDGET_WARN_MS (idle peer, data in flight, stalled
   peer; rx_silence_ms is the operator's own choice) or a link that
   survives no blip. */
#define CFG_BUDGET_WARN_MS	60000
void	cfg_print_budgets(const struct cfg *, FILE *);

/* True when the two devices' settings are identical (used on reload): the
   parsed addresses, not their text or config lines, count, and a setting
   the device does not use (monitor_format without a monitor) does not. */
bool	cfg_device_equal(const struct cfg_device *, const struct cfg_device *);

/* True when b differs from a only in policy keys that apply to a running
   device (keepalive, timeouts, backoff, hold, ...): not in its name, its
   links' addresses, a listen link's allow or on_new_client, its monitor
   or a policy key that restarts it (buffer_bytes, relay, and
   monitor_format where it has a monitor). */
bool	cfg_device_policy_only(const struct cfg_device *a,
	    const struct cfg_device *b);

/* What restarts a device at a reload, as a reload says it: "addresses,
   allow, on_new_client, monitor, buffer_bytes, relay or monitor_format"
   (the table's restarting keys). Returns buf; at most len - 1 chars. */
#define CFG_RESTART_CAUSES_MAX	160
char	*cfg_restart_causes(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
