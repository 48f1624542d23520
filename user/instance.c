// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The pure parts of the instance lifecycle (instance.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include "instance.h"
#include "strnum.h"

void instance__default_opts(struct inst_replace_opts *o)
{
	*o = (struct inst_replace_opts){ .drain_s = INST_DRAIN_S,
					 .stop_timeout_s = INST_STOP_TIMEOUT_S,
					 .ready_timeout_s = INST_READY_TIMEOUT_S,
					 .stop_signal = SIGTERM };
}

uint16_t instance__dir_num(const char *name)
{
	unsigned int n;

	/* i1..i65535: a leading zero would give one instance two names */
	if (name[0] != 'i' || name[1] < '1' || name[1] > '9')
		return 0;
	if (strnum__uint(name + 1, 1, 65535, &n))
		return 0;
	return (uint16_t)n;
}

uint16_t instance__of_cgroup(const char *path, const char *app_cgroup)
{
	size_t n = strlen(app_cgroup);
	char dir[8];
	const char *p, *end;

	if (strncmp(path, app_cgroup, n) || path[n] != '/')
		return 0;
	p = path + n + 1;
	end = strchrnul(p, '/');
	if ((size_t)(end - p) >= sizeof(dir))
		return 0;
	memcpy(dir, p, (size_t)(end - p));
	dir[end - p] = '\0';
	return instance__dir_num(dir);
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	  { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "WINCH", SIGWINCH },
	{ "CONT", SIGCONT },
};

int instance__signal(const char *name)
{
	unsigned int n;

	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (!strcasecmp(name, signals[i].name))
			return signals[i].sig;
	if (!strnum__uint(name, 1, 64, &n))
		return (int)n;
	return -EINVAL;
}

const char *instance__signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].sig == sig)
			return signals[i].name;
	return NULL;
}

const double drainhist_bounds[DRAINHIST_BUCKETS] = { 0.5, 1,  2,   5,   10, 20,
						     30,  60, 120, 300, 600 };

void drainhist__add(struct drainhist *h, uint64_t d_ns)
{
	double s = (double)d_ns / 1e9;

	for (int i = 0; i < DRAINHIST_BUCKETS; i++) {
		if (s <= drainhist_bounds[i]) {
			h->bucket[i]++;
			break;
		}
	}
	h->count++;
	h->sum += s;
}

enum inst_action instance__due(enum inst_phase phase, uint64_t deadline_ns, uint64_t now_ns,
			       bool drained)
{
	bool late = now_ns >= deadline_ns;

	switch (phase) {
	case INST_P_STARTING:
		return late ? INST_ACT_ABORT : INST_ACT_NONE;
	case INST_P_DRAINING:
		return late || drained ? INST_ACT_STOP : INST_ACT_NONE;
	case INST_P_STOPPING:
		return late ? INST_ACT_KILL : INST_ACT_NONE;
	default:
		return INST_ACT_NONE;
	}
}
