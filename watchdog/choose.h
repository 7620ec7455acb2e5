/* choose.h -- which way a sweep samples: one dump, or a probe per link. */
#ifndef WD_CHOOSE_H
#define WD_CHOOSE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Both ways give the same samples (diag.h); what differs is the cost, and
 * it depends on the host: a probe costs the same few calls per link, while
 * a dump costs a walk of the kernel's whole table of TCP sockets (every
 * namespace's, every state's, ours or not) plus a little per socket. A
 * few links are cheaper to probe, thousands cheaper to dump, and where the
 * two meet depends on what else runs. So the watchdog measures both and
 * takes the cheaper, and tries the other again now and then.
 */
enum wd_way {
	WD_WAY_PROBE,
	WD_WAY_DUMP,
	WD_WAY_COUNT
};

/* Sweeps between two tries of the way not taken. */
#define WD_TRIAL_SWEEPS	100

/* Plain values, the watchdog thread's alone; all zero to start. */
struct wd_chooser {
	/* Sweep CPU time per link up, smoothed; 0: not measured yet. */
	int64_t		cost_ns[WD_WAY_COUNT];
	unsigned	since_trial;
	enum wd_way	last;		/* of the last sweep recorded */
};

/* The way for the next sweep: probe when no dump can be had (can_dump
   false); else each way once to measure it, then the cheaper, and the
   other every WD_TRIAL_SWEEPS sweeps. */
enum wd_way	wd_choose(struct wd_chooser *, bool can_dump);

/* A sweep that went way w took sweep_ns of CPU with links_up links up. A sweep
   with no link up measures nothing. A way taken again is smoothed over
   about four sweeps; a way taken after the other (a trial, or a switch)
   takes the new cost as it is, since its old one may be long out of
   date. */
void		wd_chooser_record(struct wd_chooser *, enum wd_way w,
		    int64_t sweep_ns, int links_up);

#ifdef __cplusplus
}
#endif

#endif
