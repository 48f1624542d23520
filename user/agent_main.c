// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xsl-agent: owns the pinned maps, the registry, cleanup and GC.
 *
 * Start: bpffs and cgroup2 found (mounted if missing), maps opened or
 * created under the pin root, the registry rebuilt from them (restart
 * recovery), the process hooks and sk_lookup attached with pinned links, the
 * control socket and metrics endpoint opened, a reconcile pass run. Then one
 * epoll loop until SIGINT/SIGTERM, which leave the pinned state in place for
 * the next start; --reset removes it on purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "agent.h"
#include "clock.h"
#include "defaults.h"
#include "hooks.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "mounts.h"
#include "recover.h"
#include "strnum.h"
#include "xsl/maps.h"
#include "xsl/stats.h"

#define TICK_MS 100

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xsl-agent [OPTIONS]\n"
		"\n"
		"Runs the xsl control agent in the foreground: owns the pinned maps,\n"
		"registers app workers, cleans up after them and serves xslctl.\n"
		"\n"
		"Options:\n"
		"  --pin-root DIR        bpffs directory of the pinned maps (default %s)\n"
		"  --socket PATH         control socket (default %s)\n"
		"  --metrics ADDR:PORT   Prometheus endpoint, \"none\" to disable (default %s)\n"
		"  --cgroup-root DIR     directory for app cgroups (default: xsl/ below the\n"
		"                        cgroup v2 mount found in /proc/mounts)\n"
		"  --log-level LEVEL     error, warn, info or debug (default info)\n"
		"  --reconcile-ms N      reconcile pass period (default 1000)\n"
		"  --gc-ms N             session GC tick period (default 1000)\n"
		"  --max-sessions N      session table size when the maps are created\n"
		"                        (default %u)\n"
		"  --ringbuf-kb N        event ring buffer size in KiB when created, a\n"
		"                        power of two (default %u)\n"
		"  --client-idle-s N     drop a control client without a request for N\n"
		"                        seconds (default %u)\n"
		"  --sched POLICY        CPU scheduling of the agent once started: other\n"
		"                        (SCHED_OTHER), fifo:N or rr:N (real-time, priority\n"
		"                        1..99); default: the policy it was started with.\n"
		"                        The systemd unit gives fifo:10: a fork waits for\n"
		"                        the agent, not for a busy CPU's run queue\n"
		"  --reset               remove all pinned xsl state (maps, links) and exit\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n",
		XSL_PIN_ROOT_DEFAULT, XSL_SOCKET_DEFAULT, XSL_METRICS_DEFAULT, XSL_MAX_SESSIONS,
		XSL_RINGBUF_BYTES / 1024, AGENT_CLIENT_IDLE_S);
}

static int parse_opts(int argc, char **argv, struct agent_opts *o)
{
	static const struct option longopts[] = {
		{ "pin-root", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "cgroup-root", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "reconcile-ms", required_argument, NULL, 'r' },
		{ "gc-ms", required_argument, NULL, 'g' },
		{ "max-sessions", required_argument, NULL, 'S' },
		{ "ringbuf-kb", required_argument, NULL, 'B' },
		{ "client-idle-s", required_argument, NULL, 'I' },
		{ "sched", required_argument, NULL, 'P' },
		{ "reset", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	*o = (struct agent_opts){
		.pin_root = XSL_PIN_ROOT_DEFAULT,
		.socket_path = XSL_SOCKET_DEFAULT,
		.metrics = XSL_METRICS_DEFAULT,
		.reconcile_ms = 1000,
		.gc_ms = 1000,
		.client_idle_s = AGENT_CLIENT_IDLE_S,
	};
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->pin_root = optarg; break;
		case 's': o->socket_path = optarg; break;
		case 'm': o->metrics = optarg; break;
		case 'c': o->cgroup_root = optarg; break;
		case 'R': o->reset = true; break;
		case 'l':
			if (xsl_log_parse_level(optarg, &xsl_log_level)) {
				fprintf(stderr, "xsl-agent: bad --log-level '%s'\n", optarg);
				goto bad;
			}
			break;
		case 'r':
		case 'g':
			if (strnum__uint(optarg, 10, 3600000, c == 'r' ? &o->reconcile_ms : &o->gc_ms)) {
				fprintf(stderr, "xsl-agent: bad --%s '%s' (10..3600000)\n",
					c == 'r' ? "reconcile-ms" : "gc-ms", optarg);
				goto bad;
			}
			break;
		case 'S':
			if (strnum__uint(optarg, 64, 1u << 26, &o->max_sessions)) {
				fprintf(stderr, "xsl-agent: bad --max-sessions '%s' (64..%u)\n",
					optarg, 1u << 26);
				goto bad;
			}
			break;
		case 'B':
			if (strnum__uint(optarg, 4, 1u << 20, &o->ringbuf_bytes) ||
			    (o->ringbuf_bytes & (o->ringbuf_bytes - 1))) {
				fprintf(stderr, "xsl-agent: bad --ringbuf-kb '%s' (a power of two)\n",
					optarg);
				goto bad;
			}
			o->ringbuf_bytes *= 1024;
			break;
		case 'I':
			if (strnum__uint(optarg, 1, 86400, &o->client_idle_s)) {
				fprintf(stderr, "xsl-agent: bad --client-idle-s '%s' (1..86400)\n",
					optarg);
				goto bad;
			}
			break;
		case 'P': {
			char why[96];

			if (sched_opt__parse(optarg, &o->sched, why, sizeof(why))) {
				fprintf(stderr, "xsl-agent: bad --sched '%s': %s\n", optarg, why);
				goto bad;
			}
			o->sched_set = true;
			break;
		}
		case 'h': usage(stdout); exit(0);
		case 'V': printf("xsl-agent %s\n", XSL_VERSION); exit(0);
		default: goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xsl-agent: unexpected argument '%s'\n", argv[optind]);
		goto bad;
	}
	return 0;
bad:
	usage(stderr);
	return -EINVAL;
}

static int setup_cgroups(struct agent *a)
{
	int err = mounts__cgroup2(a->cgroup2, sizeof(a->cgroup2));

	if (err) {
		pr_err("cgroup v2: %s\n", strerror(-err));
		return err;
	}
	if (snprintf(a->cgroup_root, sizeof(a->cgroup_root), "%s%s",
		     a->o.cgroup_root ? a->o.cgroup_root : a->cgroup2,
		     a->o.cgroup_root ? "" : "/xsl") >= (int)sizeof(a->cgroup_root))
		return -ENAMETOOLONG;
	err = mounts__mkdir_p(a->cgroup_root, 0755);
	if (err)
		pr_err("create cgroup root %s: %s\n", a->cgroup_root, strerror(-err));
	return err;
}

static int setup_bpf(struct agent *a)
{
	struct xsl_map_sizes sizes = { .max_sessions = a->o.max_sessions,
				       .ringbuf_bytes = a->o.ringbuf_bytes };
	int netns, err;

	err = loader__create_maps(a->o.pin_root, &sizes);
	if (err)
		return err;
	err = xsl_maps__open(&a->maps, a->o.pin_root);
	if (err)
		return err;
	err = hooks__load(&a->hooks, a->o.pin_root);
	if (!err)
		err = hooks__attach_tracepoints(a->hooks, a->o.pin_root);
	if (err) {
		pr_err("process hooks: %s\n", strerror(-err));
		return err;
	}
	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return -errno;
	err = loader__sklookup_attach(a->o.pin_root, netns);
	close(netns);
	if (err)
		return err;
	a->rb = ring_buffer__new(a->maps.events, events__handle, a, NULL);
	if (!a->rb) {
		err = -errno;
		pr_err("ring buffer %s: %s\n", XSL_MAP_EVENTS, strerror(-err));
		return err;
	}
	return agent__epoll_add(a, ring_buffer__epoll_fd(a->rb), TAG_RINGBUF, 0);
}

static int setup_loop(struct agent *a)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = 0, .tv_nsec = TICK_MS * 1000000L },
		.it_value = { .tv_sec = 0, .tv_nsec = TICK_MS * 1000000L },
	};
	sigset_t mask;
	int err;

	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->epfd < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	a->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->sigfd < 0 || a->timerfd < 0 || timerfd_settime(a->timerfd, 0, &its, NULL))
		return -errno;
	err = agent__epoll_add(a, a->sigfd, TAG_SIGNAL, 0);
	if (!err)
		err = agent__epoll_add(a, a->timerfd, TAG_TIMER, 0);
	return err;
}

/* Lost ring buffer records show up in the kernel counter: reconcile now. */
static bool events_were_lost(struct agent *a)
{
	struct xsl_stats s;

	if (agent__read_stats(a, &s) || s.stat[XSL_STAT_EVENTS_LOST] == a->c.events_lost_seen)
		return false;
	pr_warn("events: %llu lost (ring buffer full), reconciling\n",
		(unsigned long long)(s.stat[XSL_STAT_EVENTS_LOST] - a->c.events_lost_seen));
	a->c.events_lost_seen = s.stat[XSL_STAT_EVENTS_LOST];
	return true;
}

static void on_tick(struct agent *a)
{
	uint64_t expirations;

	if (read(a->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	a->since_reconcile_ms += TICK_MS;
	a->since_gc_ms += TICK_MS;
	if (a->since_reconcile_ms >= a->o.reconcile_ms || events_were_lost(a)) {
		a->since_reconcile_ms = 0;
		/* first drain what is queued, so reconcile sees the events' effects */
		ring_buffer__consume(a->rb);
		procs__reconcile(a);
		xdp__scan(a);
	}
	agent__sched_tick(a);
	socks__settle(a);
	inst__tick(a);
	rmdirs__retry(a);
	iview__tick(a);
	if (a->since_gc_ms >= a->o.gc_ms || gc__busy(a)) {
		a->since_gc_ms = 0;
		gc__tick(a);
	}
	metrics__run(a);	/* MHD times out idle clients only when it runs */
	ctl__tick(a);
}

static void on_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			pr_info("signal %u: shutting down, pinned state kept\n", si.ssi_signo);
			a->exiting = true;
		}
	}
}

static int run(struct agent *a)
{
	struct epoll_event evs[64];

	while (!a->exiting) {
		/* control requests still buffered: look at events, don't wait */
		int n = epoll_wait(a->epfd, evs, 64, ctl__pending(a) ? 0 : -1);

		a->woke_ns = mono_ns();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = (uint32_t)(evs[i].data.u64 >> 32);
			uint32_t idx = (uint32_t)evs[i].data.u64;

			switch (tag) {
			case TAG_RINGBUF: ring_buffer__consume(a->rb); break;
			case TAG_CTL: ctl__accept(a); break;
			case TAG_CLIENT: ctl__client_io(a, idx, evs[i].events); break;
			case TAG_PIDFD:
				/* the exit event may be queued: handle it first */
				ring_buffer__consume(a->rb);
				procs__pidfd_ready(a, idx);
				break;
			case TAG_SIGNAL: on_signal(a); break;
			case TAG_TIMER: on_tick(a); break;
			case TAG_METRICS: metrics__run(a); break;
			}
		}
		inst__settle(a);
		ctl__serve(a);
	}
	return 0;
}

static int reset_state(struct agent *a)
{
	int err = mounts__prepare_pin_root(a->o.pin_root);

	if (err)
		return err;
	err = recover__unpin_all(a->o.pin_root);
	if (!err)
		pr_info("removed the pinned xsl state under %s\n", a->o.pin_root);
	return err;
}

static void cleanup(struct agent *a)
{
	metrics__stop(a);
	ctl__close(a);
	procs__close_all(a);
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		if (a->apps[i].cgroup_fd >= 0)
			close(a->apps[i].cgroup_fd);
	ring_buffer__free(a->rb);
	hooks__destroy(a->hooks);
	xsl_maps__close(&a->maps);
	gc__free(a);
	socks__free(a);
	registry__free(a->reg);
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->timerfd >= 0)
		close(a->timerfd);
}

int main(int argc, char **argv)
{
	static struct agent a;
	int err;

	if (parse_opts(argc, argv, &a.o))
		return 2;
	a.epfd = a.sigfd = a.timerfd = a.ctl_fd = -1;
	xsl_maps__init(&a.maps);
	for (uint32_t i = 0; i < XSL_MAX_APPS; i++)
		a.apps[i].cgroup_fd = -1;
	a.start_time = (uint64_t)time(NULL);
	loader__route_library_logs();
	if (a.o.reset)
		return reset_state(&a) ? 1 : 0;

	a.reg = registry__new();
	if (a.reg) {
		procs__init(&a);
		apps__init(&a);
	}
	err = a.reg ? gc__init(&a) : -ENOMEM;
	if (!err)
		err = socks__init(&a);
	if (!err)
		err = setup_loop(&a);
	if (!err)
		err = setup_cgroups(&a);
	/* before anything is attached: a taken port must not leave hooks behind */
	if (!err)
		err = metrics__start(&a);
	if (!err)
		err = setup_bpf(&a);
	if (!err) {
		mirror__install(&a.mirror, a.reg, &a.maps);
		err = recover__registry(&a);
		if (!err)
			inst__recover(&a);
	}
	if (!err)
		err = mirror__enable_port_filter(&a.mirror);
	if (!err)
		err = ctl__open(&a);
	if (err)
		goto out;
	ring_buffer__consume(a.rb);
	procs__reconcile(&a);
	xdp__scan(&a);
	gc__tick(&a);
	agent__sched_start(&a);
	pr_info("xsl-agent %s ready: pin root %s, socket %s, cgroups %s\n", XSL_VERSION,
		a.o.pin_root, a.o.socket_path, a.cgroup_root);
	err = run(&a);
out:
	if (err)
		pr_err("xsl-agent: %s\n", strerror(-err));
	cleanup(&a);
	return err ? 1 : 0;
}
