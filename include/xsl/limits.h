/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Capacity limits shared by the BPF maps and the userspace registry. */
#ifndef XSL_LIMITS_H
#define XSL_LIMITS_H

#define XSL_MAX_APPS		256
#define XSL_MAX_WORKERS		4096
#define XSL_MAX_LISTENERS	256
/* Listeners one app may have, so that no app can take the whole table. */
#define XSL_MAX_APP_LISTENERS	(XSL_MAX_LISTENERS / 4)
#define XSL_MAX_SESSIONS	(1 << 20)

/* Slots of a listener's worker table. Prime, so every Maglev skip value is
 * coprime with it and each worker's preference list visits every slot. */
#define XSL_TABLE_SLOTS		1021

/* Longest app name, including the terminating NUL. */
#define XSL_APP_NAME_LEN	32

#define XSL_RINGBUF_BYTES	(256 * 1024)

/* "No worker" in slot tables and worker references. */
#define XSL_NO_WORKER		0xffffffffu
#define XSL_NO_APP		0xffffffffu

/* A FIN/RST-marked TCP session is expired after this many seconds. */
#define XSL_TCP_LINGER_S	5
#define XSL_DEFAULT_IDLE_S	60

#endif /* XSL_LIMITS_H */
