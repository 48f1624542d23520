// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's epoll set: every fd the loop waits on is added here with a
 * tag (what it is) and an index (which one), so the loop in agent_main.c
 * and the rooms that own the fds (control clients, pidfds, metrics) need
 * not know each other. Also the one way for a long pass to let queued
 * process events through between its steps.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <bpf/libbpf.h>
#include "agent.h"

int agent__epoll_add(struct agent *a, int fd, enum agent_tag tag, uint32_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = AGENT_EV(tag, idx) };

	if (tag == TAG_CLIENT)
		ev.events |= EPOLLRDHUP;
	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void agent__events_drain(struct agent *a)
{
	if (a->rb)
		ring_buffer__consume(a->rb);
}
