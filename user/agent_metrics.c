// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Placeholder until the exporter lands: the agent runs without /metrics. */
#include "agent.h"
#include "log.h"
#include "metrics.h"

int metrics__start(struct agent *a)
{
	pr_warn("metrics: exporter not built yet (%s ignored)\n", a->o.metrics);
	return 0;
}

void metrics__run(struct agent *a)
{
	(void)a;
}

void metrics__stop(struct agent *a)
{
	(void)a;
}
