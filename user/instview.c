// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* An app's instances, summed up from the registry (see instview.h). */
#include <errno.h>
#include <string.h>
#include "instview.h"

const char *instview__state_name(unsigned int state)
{
	static const char *const names[] = {
		[XSL_INST_STARTING] = "starting", [XSL_INST_SERVING] = "serving",
		[XSL_INST_DRAINING] = "draining", [XSL_INST_STOPPING] = "stopping",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

/* Is (start, pid) an earlier process than v's first one? An unknown start
 * time (0) comes after every known one. */
static bool earlier(const struct inst_view *v, uint64_t start, uint32_t pid)
{
	uint64_t a = start ? start : UINT64_MAX;
	uint64_t b = v->first_start_ns ? v->first_start_ns : UINT64_MAX;

	if (!v->first_pid)
		return true;
	if (a != b)
		return a < b;
	return pid < v->first_pid;
}

int instview__list(const struct xsl_registry *r, uint32_t app, instview_count_fn count,
		   const void *ctx, struct inst_view *out)
{
	const struct reg_app *ra = registry__app(r, app);
	/* out[] index of each instance slot, -1: not live */
	int at[XSL_REG_MAX_INSTANCES];
	uint16_t taking = 0;
	int n = 0;

	if (!ra)
		return -ENOENT;
	registry__instance_taking(r, app, &taking);
	for (unsigned int s = 0; s < XSL_REG_MAX_INSTANCES; s++) {
		const struct reg_instance *in = &ra->inst[s];
		enum xsl_inst_state st;
		int i;

		at[s] = -1;
		if (!in->num || registry__instance_state(r, app, in->num, &st))
			continue;
		/* insert by number: oldest first */
		for (i = n; i > 0 && out[i - 1].num > in->num; i--)
			out[i] = out[i - 1];
		out[i] = (struct inst_view){ .num = in->num, .state = (uint8_t)st,
					     .taking = in->num == taking, .slot = s };
		n++;
	}
	for (int i = 0; i < n; i++)
		at[out[i].slot] = i;
	for (uint32_t w = 0; w < XSL_MAX_WORKERS && n; w++) {
		const struct reg_worker *rw = registry__worker(r, w);
		struct inst_view *v = NULL;

		if (!rw || rw->app != app)
			continue;
		for (unsigned int s = 0; s < XSL_REG_MAX_INSTANCES && !v; s++)
			if (at[s] >= 0 && ra->inst[s].num == rw->instance)
				v = &out[at[s]];
		if (!v)
			continue;
		v->workers++;
		if (count)
			v->sessions += count(ctx, w);
		if (rw->pid && earlier(v, rw->start_time_ns, rw->pid)) {
			v->first_pid = rw->pid;
			v->first_start_ns = rw->start_time_ns;
		}
	}
	return n;
}
