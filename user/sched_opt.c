// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --sched: parse, describe and apply a scheduling policy (sched_opt.h). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "sched_opt.h"
#include "strnum.h"

#define RT_PRIO_MIN 1
#define RT_PRIO_MAX 99

static const struct {
	const char *name;
	int policy;
} policies[] = {
	{ "other", SCHED_OTHER },
	{ "fifo", SCHED_FIFO },
	{ "rr", SCHED_RR },
};

int sched_opt__parse(const char *s, struct sched_opt *out, char *why, size_t why_len)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	unsigned int prio;

	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		if (strlen(policies[i].name) != n || strncmp(s, policies[i].name, n))
			continue;
		out->policy = policies[i].policy;
		out->prio = 0;
		if (out->policy == SCHED_OTHER) {
			if (!colon)
				return 0;
			snprintf(why, why_len, "\"other\" takes no priority");
			return -EINVAL;
		}
		if (!colon || strnum__uint(colon + 1, RT_PRIO_MIN, RT_PRIO_MAX, &prio)) {
			snprintf(why, why_len, "\"%s\" needs a priority %d..%d, as %s:%d",
				 policies[i].name, RT_PRIO_MIN, RT_PRIO_MAX, policies[i].name,
				 RT_PRIO_MIN);
			return -EINVAL;
		}
		out->prio = (int)prio;
		return 0;
	}
	snprintf(why, why_len, "policy is other, fifo:N or rr:N");
	return -EINVAL;
}

const char *sched_opt__describe(const struct sched_opt *o, char *buf, size_t len)
{
	const char *name = o->policy == SCHED_FIFO ? "SCHED_FIFO" :
			   o->policy == SCHED_RR   ? "SCHED_RR" : "SCHED_OTHER";

	if (o->policy == SCHED_OTHER)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s priority %d", name, o->prio);
	return buf;
}

int sched_opt__apply(const struct sched_opt *o)
{
	struct sched_param sp = { .sched_priority = o->prio };
	int policy = o->policy;

	if (policy != SCHED_OTHER)
		policy |= SCHED_RESET_ON_FORK;
	return sched_setscheduler(0, policy, &sp) ? -errno : 0;
}
