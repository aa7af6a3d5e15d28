/* SPDX-License-Identifier: MIT */
/*
 * Internals of the pacing library: the budget controller's constants,
 * shared by the model and its tests. Prefix pacing__.
 */
#ifndef PLATEAU_PACING_INT_H
#define PLATEAU_PACING_INT_H

#include "pacing.h"

/* Admissible abandon probability of one more dial when the window is
 * exactly on target and nothing has been learnt yet. */
#ifndef THETA0
#define THETA0 0.01
#endif
/* Never admit more than this. */
#ifndef THETA_MAX
#define THETA_MAX 0.60
#endif
/* Abandons of slack in the window that change theta by a factor e. */
#ifndef SLACK_SCALE
#define SLACK_SCALE 2.0
#endif
/* Same for the campaign's slowly forgetting slack (the learnt level). */
#ifndef LEARN_SCALE
#define LEARN_SCALE 8.0
#endif
/* Forgetting of that slack, per live answer. */
#ifndef LEARN_DECAY
#define LEARN_DECAY 0.999
#endif

/* Largest factors by which a window under budget, and a history under
 * budget, may raise theta: spending a surplus is done gently, a deficit
 * is corrected without bound. */
#ifndef SLACK_UP
#define SLACK_UP 0.5
#endif
#ifndef LEARN_UP
#define LEARN_UP 3.0
#endif

/** Estimated share of humans that AMD hangs up as machines. */
double pacing__fp_rate(const pacing *p);

#endif
