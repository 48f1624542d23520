// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* XDP fast path: for now it only counts and passes every packet. */
#include "maps.h"

SEC("xdp")
int xsl_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct xsl_stats *st = bpf_map_lookup_elem(&xsl_stats, &zero);

	if (st)
		st->stat[XSL_STAT_XDP_PASS]++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
