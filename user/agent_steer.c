// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CPU steering (an app attached with --cpu-steer): each worker is pinned to
 * one CPU (its map-index modulo the online CPUs) and XDP redirects its
 * sessions' packets into that CPU's cpumap entry, so the stack handles them
 * where the worker runs.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <bpf/bpf.h>
#include "agent.h"
#include "log.h"

void steer__worker(struct agent *a, uint32_t app, uint32_t worker)
{
	struct bpf_cpumap_val val = { .qsize = 2048 };
	const struct reg_worker *rw = registry__worker(a->reg, worker);
	const struct reg_app *ra = registry__app(a->reg, app);
	cpu_set_t set;
	uint32_t cpu;
	int ncpus;

	/* (get_nprocs reads sysfs: not for every registration of every app) */
	if (!ra || !(ra->flags & XSL_APP_F_CPU_STEER) || !rw)
		return;
	ncpus = get_nprocs();
	if (ncpus <= 0)
		return;
	cpu = rw->map_index % (uint32_t)ncpus;
	if (bpf_map_update_elem(a->maps.cpumap, &cpu, &val, BPF_ANY)) {
		pr_warn("app %s: cpumap entry for cpu %u: %s\n", registry__app_name(a->reg, app),
			cpu, strerror(errno));
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity((pid_t)rw->pid, sizeof(set), &set)) {
		pr_warn("app %s: pin pid %u to cpu %u: %s\n", registry__app_name(a->reg, app),
			rw->pid, cpu, strerror(errno));
		return;
	}
	registry__worker_set_cpu(a->reg, worker, (int32_t)cpu);
}
