// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Watches which interfaces of the agent's network namespace run xsl's XDP
 * program, however it was attached (`ip link`, `xslctl xdp attach`). When
 * one loses it behind the agent's back (`ip link set dev X xdp off`), that
 * is logged and counted: traffic goes on through sk_lookup, but without the
 * fast path and its packet counters, and an operator should know.
 */
#include <net/if.h>
#include <string.h>
#include "agent.h"
#include "loader.h"
#include "log.h"

#define MAX_DEVS (sizeof(((struct agent *)0)->xdp_devs) / sizeof(((struct agent *)0)->xdp_devs[0]))

static int dev_find(const struct agent *a, unsigned int ifindex)
{
	for (unsigned int i = 0; i < a->n_xdp_devs; i++)
		if (a->xdp_devs[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

static void dev_add(struct agent *a, unsigned int ifindex, const char *name)
{
	if (dev_find(a, ifindex) >= 0 || a->n_xdp_devs == MAX_DEVS)
		return;
	a->xdp_devs[a->n_xdp_devs].ifindex = ifindex;
	strncpy(a->xdp_devs[a->n_xdp_devs].name, name, sizeof(a->xdp_devs[0].name) - 1);
	a->xdp_devs[a->n_xdp_devs].name[sizeof(a->xdp_devs[0].name) - 1] = '\0';
	a->n_xdp_devs++;
}

static void dev_del(struct agent *a, unsigned int i)
{
	a->xdp_devs[i] = a->xdp_devs[--a->n_xdp_devs];
}

void xdp__note(struct agent *a, const char *ifname, bool attached)
{
	unsigned int ifindex = if_nametoindex(ifname);
	int i;

	if (!ifindex)
		return;
	i = dev_find(a, ifindex);
	if (attached)
		dev_add(a, ifindex, ifname);
	else if (i >= 0)
		dev_del(a, (unsigned int)i);
}

void xdp__scan(struct agent *a)
{
	struct if_nameindex *ifs = if_nameindex();
	bool seen[MAX_DEVS] = { false };

	if (!ifs)
		return;
	for (struct if_nameindex *it = ifs; it->if_index; it++) {
		int i = dev_find(a, it->if_index);
		int on;

		/* each query reads the interface's programs (netlink, BPF
		 * object info): events queued meanwhile need not wait for all */
		on = loader__xdp_attached(it->if_name);
		agent__events_drain(a);
		if (on != 1)
			continue;
		if (i < 0) {
			pr_info("xdp: %s runs xsl's XDP program\n", it->if_name);
			dev_add(a, it->if_index, it->if_name);
			i = dev_find(a, it->if_index);
		}
		if (i >= 0)
			seen[i] = true;
	}
	if_freenameindex(ifs);
	for (unsigned int i = a->n_xdp_devs; i-- > 0;) {
		if (seen[i])
			continue;
		pr_warn("xdp: %s no longer runs xsl's XDP program (detached behind the agent's "
			"back); traffic continues through sk_lookup without the fast path\n",
			a->xdp_devs[i].name);
		a->xdp_lost++;
		dev_del(a, i);
	}
}
