// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The smallest XDP program: passes every packet. bench-throughput.sh attaches
 * it to a plain SO_REUSEPORT pair as a third baseline, because attaching any
 * XDP program switches a veth to its XDP receive path (NAPI); the difference
 * to xsl is then xsl's own cost. Built by the benchmark, not by make.
 */
#include <linux/bpf.h>

__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
