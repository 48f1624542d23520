/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Loading and attaching the BPF side. Every object is opened with the pin
 * root as libbpf's pin_root_path, so its maps are the pinned ones (created on
 * first load, reused after). Syscalls live here; the registry stays pure.
 */
#ifndef XSL_LOADER_H
#define XSL_LOADER_H

#include <stdbool.h>

enum xsl_xdp_mode {
	XSL_XDP_MODE_NATIVE,
	XSL_XDP_MODE_SKB,
};

/* Sizes for maps created now (0: the compiled-in default). A map already
 * pinned keeps its size. */
struct xsl_map_sizes {
	unsigned int max_sessions;
	unsigned int ringbuf_bytes;	/* a power of two, at least a page */
};

struct bpf_object;

/*
 * Gives every map of an opened object that is already pinned under pin_root
 * the pinned map's size, so any of our objects loads against maps made
 * with other sizes (libbpf refuses to reuse a pin whose parameters differ).
 */
int loader__adopt_pinned_sizes(struct bpf_object *obj, const char *pin_root);

/* Makes sure every xsl map is pinned under pin_root (bpffs mounted if need
 * be); sizes may be NULL. */
int loader__create_maps(const char *pin_root, const struct xsl_map_sizes *sizes);

/*
 * Attaches the XDP program to ifname through libxdp (multiprog dispatcher,
 * or alone where the kernel refuses the dispatcher). Another program on
 * ifname: -EBUSY, with a message naming it and the way out (--then).
 */
int loader__xdp_attach(const char *pin_root, const char *ifname, enum xsl_xdp_mode mode);
/*
 * Chaining (docs/xdp-coexist.md): a chained copy of xsl's program runs on
 * ifname and hands every packet it passes to the XDP program pinned at
 * then_path (a tail call; that program's verdict is final). It takes the
 * place of that program or of xsl if ifname runs either, atomically and in
 * the same mode. Its program array is pinned as
 * <pin_root>/xsl_xdp_next_<ifname>. -EBUSY when ifname runs some other
 * program; -EINVAL when the kernel refuses that program as a tail call
 * target of xsl's (not XDP, or built for frags).
 */
int loader__xdp_attach_then(const char *pin_root, const char *ifname, enum xsl_xdp_mode mode,
			    const char *then_path);
/* Detaches xsl's XDP program from ifname, however it was attached
 * (libxdp dispatcher or `ip link ... xdp obj`). -ENOENT if not attached.
 * A next program (--then) takes xsl's place on ifname, so it keeps running. */
int loader__xdp_detach(const char *pin_root, const char *ifname);
/* The message of the last failed loader__xdp_*() call ("" if it set none). */
const char *loader__xdp_error(void);
/* Takes the next program out of xsl's chain on ifname; xsl stays. -ENOENT
 * when xsl is not attached or hands packets to no next program. */
int loader__xdp_detach_then(const char *pin_root, const char *ifname);
/* Is xsl's XDP program attached to ifname? 1, 0 or a negative errno. */
int loader__xdp_attached(const char *ifname);

/*
 * Attaches sk_lookup to the network namespace netns_fd and pins the link at
 * <pin_root>/xsl_link_sklookup, so delivery goes on while the agent is
 * down. An existing pinned link is kept and given this build's program.
 */
int loader__sklookup_attach(const char *pin_root, int netns_fd);
/* Unpins (and so detaches) the sk_lookup link. */
int loader__sklookup_detach(const char *pin_root);

/* Routes libbpf and libxdp messages into our log, one level lower. */
void loader__route_library_logs(void);

#endif /* XSL_LOADER_H */
