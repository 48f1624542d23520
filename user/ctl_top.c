// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `xslctl top [NAME]`: the refresh loop and the terminal (the rows and the
 * text are cli_top.c's). Every second it asks the agent for show.apps and
 * show.workers on one connection (both, so `a` switches views with rates at
 * once) and redraws. On a terminal it takes the alternate screen, reads
 * keys unbuffered (termios: no ICANON, no ECHO; ^C still signals) and puts
 * everything back on q, SIGINT, SIGTERM or SIGHUP; SIGWINCH redraws at the
 * new size. When stdout is not a terminal it samples twice, one second
 * apart, prints one table and exits. A lost agent connection is retried
 * every second, with a status line saying so.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "cli_top.h"
#include "clock.h"
#include "ctl.h"

#define TOP_INTERVAL_MS 1000

static volatile sig_atomic_t got_stop, got_winch;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_stop = sig;
}

/* One view's data: the latest reply and the one before, with their times. */
struct sample {
	json_t *cur, *prev;
	double t_cur, t_prev;
};

struct top {
	struct conn *c;
	const char *socket;
	struct top_view v;
	struct sample apps, workers;
	char status[600];
	bool tty_in, screen;
	struct termios saved;
};

static void sample_push(struct sample *s, json_t *data, double t)
{
	json_decref(s->prev);
	s->prev = s->cur;
	s->t_prev = s->t_cur;
	s->cur = data;
	s->t_cur = t;
}

static void sample_free(struct sample *s)
{
	json_decref(s->cur);
	json_decref(s->prev);
	*s = (struct sample){ 0 };
}

/* One show request; 0 with *data, -errno for the connection, or the
 * agent's errno (positive) with its text in t->status. */
static int fetch(struct top *t, const char *cmd, json_t **data)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd);
	struct cli_reply r;
	int err;

	if (!req)
		return -ENOMEM;
	err = conn_exchange(t->c, req, &r);
	json_decref(req);
	if (err)
		return err;
	if (r.err) {
		snprintf(t->status, sizeof(t->status), "agent: %s", r.msg);
		cli_reply_free(&r);
		return r.err;
	}
	*data = r.data;
	return 0;
}

/* Both samples, reconnecting first when the last try lost the agent. */
static int poll_agent(struct top *t)
{
	json_t *apps = NULL, *workers = NULL;
	double now;
	int err;

	if (t->c->fd < 0) {
		err = conn_connect(t->c, t->socket);
		if (err) {
			snprintf(t->status, sizeof(t->status), "agent: connect %s: %s; retrying",
				 t->socket, strerror(-err));
			return err;
		}
	}
	err = fetch(t, "show.apps", &apps);
	if (!err)
		err = fetch(t, "show.workers", &workers);
	now = mono_s();
	if (err) {
		json_decref(apps);
		if (err < 0) {
			snprintf(t->status, sizeof(t->status), "agent: %s; retrying",
				 strerror(-err));
			conn_close(t->c);
		}
		return err;
	}
	sample_push(&t->apps, apps, now);
	sample_push(&t->workers, workers, now);
	t->status[0] = '\0';
	return 0;
}

/* The current view as text, at most width x height (0: no limit). */
static int render(struct top *t, unsigned int width, unsigned int height, char **text)
{
	struct sample *s = t->v.workers ? &t->workers : &t->apps;
	struct top_row *rows = NULL;
	size_t n = 0, len = 0;
	FILE *f;
	int err = 0;

	*text = NULL;
	if (s->cur)
		err = top_rows(s->prev, s->cur, s->t_cur - s->t_prev, t->v.workers, t->v.name,
			       &rows, &n);
	if (err)
		return err;
	top_sort(rows, n, t->v.sort);
	f = open_memstream(text, &len);
	if (!f) {
		free(rows);
		return -ENOMEM;
	}
	t->v.status = t->status[0] ? t->status : NULL;
	top_render(f, &t->v, rows, n, width, height);
	fclose(f);
	free(rows);
	return 0;
}

/* Redraws the whole screen from the top left, each line cleared to its
 * end; no newline after the last one, so the screen never scrolls. */
static void draw(struct top *t)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	char *text, *p, *nl;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };
	if (render(t, ws.ws_col, ws.ws_row, &text)) {
		snprintf(t->status, sizeof(t->status), "agent: bad reply");
		return;
	}
	fputs("\033[H", stdout);
	for (p = text; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		fwrite(p, 1, (size_t)(nl - p), stdout);
		fputs(nl[1] ? "\033[K\r\n" : "\033[K", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
	free(text);
}

static void screen_enter(struct top *t)
{
	struct termios raw;

	t->tty_in = isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &t->saved);
	if (t->tty_in) {
		raw = t->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	/* the alternate screen, cursor hidden */
	fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
	fflush(stdout);
	t->screen = true;
}

static void screen_leave(struct top *t)
{
	if (!t->screen)
		return;
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	if (t->tty_in)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
	t->screen = false;
}

/* Keys waiting on stdin; false when q was pressed. */
static bool read_keys(struct top *t)
{
	char buf[64];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		switch (buf[i]) {
		case 'q':
		case 'Q':
			return false;
		case 's':
			t->v.sort = (enum top_sort)((t->v.sort + 1) % TOP_SORT__MAX);
			break;
		case 'S':
			/* back one */
			t->v.sort = (enum top_sort)((t->v.sort + TOP_SORT__MAX - 1) %
						    TOP_SORT__MAX);
			break;
		case 'a':
		case 'w':
			t->v.workers = !t->v.workers;
			break;
		}
	}
	return true;
}

/* The interactive loop, until q or a signal. */
static int loop(struct top *t)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGWINCH };
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	sigset_t block, old;
	double next = mono_s() + TOP_INTERVAL_MS / 1000.0;

	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	/* signals wait while the flags are checked; ppoll lets them in */
	sigprocmask(SIG_BLOCK, &block, &old);
	screen_enter(t);
	draw(t);
	while (!got_stop) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		double left = next - mono_s();
		struct timespec ts;
		int r;

		if (got_winch) {
			got_winch = 0;
			draw(t);
		}
		if (left <= 0) {
			poll_agent(t);
			draw(t);
			next = mono_s() + TOP_INTERVAL_MS / 1000.0;
			continue;
		}
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		r = ppoll(&pfd, t->tty_in ? 1 : 0, &ts, &old);
		if (r > 0 && (pfd.revents & (POLLHUP | POLLERR)))
			t->tty_in = false;	/* the terminal is gone: no more keys */
		if (r > 0 && (pfd.revents & POLLIN)) {
			if (!read_keys(t))
				break;
			draw(t);
		}
	}
	screen_leave(t);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Not a terminal: two samples a second apart, one table. */
static int once(struct top *t)
{
	struct timespec ts = { .tv_sec = TOP_INTERVAL_MS / 1000,
			       .tv_nsec = (TOP_INTERVAL_MS % 1000) * 1000000L };
	char *text;
	int err;

	/* the interval rates are measured over, not a wait for something */
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	err = poll_agent(t);
	if (err) {
		fprintf(stderr, "xslctl: top: %s\n", t->status);
		return 1;
	}
	err = render(t, 0, 0, &text);
	if (err) {
		fprintf(stderr, "xslctl: bad reply from agent\n");
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

int do_top(struct conn *c, const struct cli_opts *o, const char *socket)
{
	json_t *sort = json_object_get(o->req, "sort");
	struct top t = { .c = c, .socket = socket };
	int ret;

	t.v.name = json_string_value(json_object_get(o->req, "name"));
	t.v.workers = json_is_true(json_object_get(o->req, "workers"));
	for (int s = 0; sort && s < TOP_SORT__MAX; s++)
		if (!strcmp(json_string_value(sort), top_sort_names[s]))
			t.v.sort = (enum top_sort)s;
	t.v.keys = true;
	if (poll_agent(&t)) {
		fprintf(stderr, "xslctl: top: %s\n", t.status);
		return 1;
	}
	/* like show workers NAME: a name that is no app is an error */
	if (t.v.name) {
		json_t *app;
		size_t i;
		bool found = false;

		json_array_foreach(json_object_get(t.apps.cur, "apps"), i, app)
			found |= !strcmp(json_string_value(json_object_get(app, "name")) ?: "",
					 t.v.name);
		if (!found) {
			fprintf(stderr, "xslctl: top %s: no such app\n", t.v.name);
			sample_free(&t.apps);
			sample_free(&t.workers);
			return 1;
		}
	}
	if (isatty(STDOUT_FILENO)) {
		ret = loop(&t);
	} else {
		t.v.keys = false;
		ret = once(&t);
	}
	sample_free(&t.apps);
	sample_free(&t.workers);
	return ret;
}
