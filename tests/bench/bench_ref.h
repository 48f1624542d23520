/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The value of bench_ref.bpf.c's LRU session map, shared with bench_xdp.c
 * (which fills the map): the reference design's 40-byte-key entry. */
#ifndef XSL_BENCH_REF_H
#define XSL_BENCH_REF_H

#include <linux/types.h>

struct ref_session {
	__u64 last_seen_ns;
	__u64 packets;
	__u64 bytes;
	__u32 worker;
	__u32 worker_gen;
	__u16 listener;
	__u16 app;
	__u8 state;
	__u8 flags;
	__u16 pad;
};

#endif /* XSL_BENCH_REF_H */
