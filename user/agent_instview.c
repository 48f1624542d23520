// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Instances as the agent shows them: their start times (agent_app's
 * inst_start, per registry slot) and their summaries (instview.h) with the
 * GC's session counts, for show.instances and the metrics.
 */
#include <errno.h>
#include "agent.h"
#include "clock.h"
#include "instview.h"

static uint64_t worker_sessions(const void *ctx, uint32_t worker)
{
	return gc__worker_sessions(ctx, worker);
}

static void note_app(struct agent *a, uint32_t app, uint64_t now)
{
	const struct reg_app *ra = registry__app(a->reg, app);
	struct agent_app *aa = &a->apps[app];
	struct inst_view v[XSL_REG_MAX_INSTANCES];
	bool fresh[XSL_REG_MAX_INSTANCES] = { 0 }, any = false;
	int n;

	for (unsigned int s = 0; s < XSL_REG_MAX_INSTANCES; s++) {
		uint16_t num = ra->inst[s].num;

		if (aa->inst_start[s].num == num)
			continue;
		aa->inst_start[s].num = num;
		aa->inst_start[s].start_ns = num ? now : 0;
		fresh[s] = num != 0;
		any |= fresh[s];
	}
	if (!any)
		return;
	/* seen late (the agent restarted, or between ticks): its first
	 * process tells when it began */
	n = instview__list(a->reg, app, NULL, NULL, v);
	for (int i = 0; i < n; i++)
		if (fresh[v[i].slot] && v[i].first_start_ns && v[i].first_start_ns < now)
			aa->inst_start[v[i].slot].start_ns = v[i].first_start_ns;
}

void iview__tick(struct agent *a)
{
	uint64_t now = boot_ns();

	for (uint32_t app = 0; app < XSL_MAX_APPS; app++)
		if (registry__app(a->reg, app))
			note_app(a, app, now);
}

int iview__list(struct agent *a, uint32_t app, struct inst_view *out)
{
	if (!registry__app(a->reg, app))
		return -ENOENT;
	note_app(a, app, boot_ns());
	return instview__list(a->reg, app, worker_sessions, a, out);
}

uint64_t iview__age_s(const struct agent *a, uint32_t app, const struct inst_view *v)
{
	const struct agent_app *aa = &a->apps[app];
	uint64_t now = boot_ns(), start;

	if (v->slot >= XSL_REG_MAX_INSTANCES || aa->inst_start[v->slot].num != v->num)
		return 0;
	start = aa->inst_start[v->slot].start_ns;
	return start && now > start ? (now - start) / 1000000000ull : 0;
}
