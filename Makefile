# xsl: make builds into build/, make test runs every test (as root).
# Quiet by default; V=1 prints full commands.

BUILD		:= build
CC		?= gcc
CLANG_BPF	?= $(shell command -v clang-19 2>/dev/null || command -v clang 2>/dev/null)
BPFTOOL		?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
MULTIARCH	:= $(shell $(CC) -print-multiarch 2>/dev/null)
VERSION		:= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS		?= -O2 -g
# SANITIZE=1: the agent, xslctl, libraries and unit tests built with ASan +
# UBSan into build-san/ (so build/ stays as it is); `make test SANITIZE=1`
# (or `make test-sanitize`) runs the unit tests and SAN_E2E under them.
ifeq ($(SANITIZE),1)
BUILD		:= build-san
SAN_FLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer
CFLAGS		:= -O1 -g $(SAN_FLAGS)
endif
XSL_CFLAGS	:= -std=gnu11 -Wall -Wextra -Werror -Iinclude -Iuser -I$(BUILD) \
		   -DXSL_VERSION='"$(VERSION)"' -D_GNU_SOURCE
BPF_CFLAGS	:= -target bpf -mcpu=v3 -g -O2 -Wall -Werror -Iinclude -Ibpf \
		   -I/usr/include/$(MULTIARCH) -D__TARGET_ARCH_x86
LIBS_BPF	:= -lbpf -lxdp -lelf -lz
LIBS_AGENT	:= $(LIBS_BPF) -ljansson -lmicrohttpd -lpthread
LIBS_CTL	:= -ljansson

BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
BPF_OBJS	:= $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS		:= $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS	:= $(wildcard bpf/*.h) $(wildcard include/xsl/*.h)

# user/: agent_*.c make xsl-agent, ctl_*.c make xslctl. The rest is two
# static libraries: libxsl.a, the core without libbpf (registry, tables,
# restore, metrics text, CLI), and libxsl-bpf.a, the edges that talk to the
# kernel through libbpf (maps, loader, hooks, mirror). xslctl links only
# the core.
USER_HDRS	:= $(wildcard user/*.h) $(wildcard include/xsl/*.h)
AGENT_SRCS	:= $(wildcard user/agent_*.c)
CTL_SRCS	:= $(wildcard user/ctl_*.c)
EDGE_SRCS	:= user/hooks.c user/loader.c user/maps.c user/mirror.c
LIB_SRCS	:= $(filter-out $(AGENT_SRCS) $(CTL_SRCS) $(EDGE_SRCS),$(wildcard user/*.c))
LIB		:= $(BUILD)/libxsl.a
LIB_BPF		:= $(BUILD)/libxsl-bpf.a

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_COMMON	:= $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_BINS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
BPFT_SRCS	:= $(wildcard tests/bpf/test_*.c)
BPFT_COMMON	:= $(filter-out $(BPFT_SRCS),$(wildcard tests/bpf/*.c))
BPFT_BINS	:= $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFT_SRCS))
HELPER_SRCS	:= $(wildcard tests/helpers/*.c)
HELPER_BINS	:= $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(HELPER_SRCS))
BENCH_SRCS	:= $(filter-out %.bpf.c,$(wildcard tests/bench/bench_*.c))
BENCH_BINS	:= $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRCS))
BENCH_BPF	:= $(BUILD)/tests/bench/bench_ref.bpf.o

.PHONY: all clean deps test test-unit test-bpf test-e2e test-sanitize test-stress fuzz bench demo \
	check-faults
.DELETE_ON_ERROR:

all: $(BPF_OBJS) $(SKELS) $(BUILD)/xsl-agent $(BUILD)/xslctl

deps:
	$(Q)bash scripts/deps.sh

$(BUILD) $(BUILD)/user $(BUILD)/tests/unit $(BUILD)/tests/bpf $(BUILD)/tests/helpers $(BUILD)/tests/bench:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG_BPF) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<)) > $@

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) $(SKELS) | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XSL_CFLAGS) -c $< -o $@

$(LIB): $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS)) | $(BUILD)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIB_BPF): $(patsubst user/%.c,$(BUILD)/user/%.o,$(EDGE_SRCS)) | $(BUILD)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/xsl-agent: $(patsubst user/%.c,$(BUILD)/user/%.o,$(AGENT_SRCS)) $(LIB_BPF) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS_AGENT)

$(BUILD)/xslctl: $(patsubst user/%.c,$(BUILD)/user/%.o,$(CTL_SRCS)) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS_CTL)

# Unit tests link only libxsl.a, cmocka and jansson (the CLI's JSON): no libbpf.
$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_COMMON) $(wildcard tests/unit/*.h) $(LIB) $(USER_HDRS) \
		       | $(BUILD)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XSL_CFLAGS) -o $@ $< $(UNIT_COMMON) $(LIB) -lcmocka -ljansson

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(BPFT_COMMON) $(wildcard tests/bpf/*.h) $(LIB_BPF) $(LIB) $(SKELS) $(BPF_OBJS) | $(BUILD)/tests/bpf
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XSL_CFLAGS) -Itests/bpf -o $@ $< $(BPFT_COMMON) $(LIB_BPF) $(LIB) -lcmocka $(LIBS_AGENT)

$(BUILD)/tests/helpers/%: tests/helpers/%.c $(wildcard tests/helpers/*.h) $(LIB) | $(BUILD)/tests/helpers
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XSL_CFLAGS) -o $@ $< $(LIB)

$(BUILD)/tests/bench/%.bpf.o: tests/bench/%.bpf.c tests/bench/bench_ref.h $(BPF_HDRS) \
			       | $(BUILD)/tests/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG_BPF) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/bench/%: tests/bench/%.c tests/bench/bench_ref.h $(LIB_BPF) $(LIB) $(SKELS) $(BPF_OBJS) | $(BUILD)/tests/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(XSL_CFLAGS) -Itests/bpf -o $@ $< $(BPFT_COMMON) $(LIB_BPF) $(LIB) -lcmocka $(LIBS_AGENT)

# The control protocol fuzzer (tests/fuzz): the agent's C files and the
# libraries built with clang's libFuzzer, ASan and UBSan; the kernel edges
# (hooks.c, loader.c) are replaced by fakes. make test runs it FUZZ_SECONDS.
FUZZ_CC		?= $(CLANG_BPF)
FUZZ_FLAGS	:= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Iinclude -Iuser \
		   -DXSL_VERSION='"$(VERSION)"' -D_GNU_SOURCE -Dmain=xsl_agent_main \
		   -Wl,--wrap=mkdir,--wrap=rmdir,--wrap=xsl_log
FUZZ_SRCS	:= $(AGENT_SRCS) $(filter-out user/hooks.c user/loader.c,$(EDGE_SRCS)) $(LIB_SRCS) \
		   $(wildcard tests/fuzz/*.c)
FUZZ_SECONDS	?= 60
export FUZZ_SECONDS

fuzz: $(BUILD)/fuzz/fuzz_ctl

$(BUILD)/fuzz/fuzz_ctl: $(FUZZ_SRCS) $(USER_HDRS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(FUZZ_SRCS) $(LIBS_AGENT)

ifeq ($(SANITIZE),1)
# e2e files run under the sanitizers; every report written fails the run
SAN_E2E		?= test-agent.sh test-faults.sh test-metrics.sh test-observe.sh test-instances.sh \
		   test-inst-view.sh
# tests to leave out of it (each shown as skipped, with SAN_E2E_WHY)
SAN_E2E_EXCLUDE	?=
SAN_E2E_WHY	?= left out of the sanitizer pass (SAN_E2E_EXCLUDE)
SAN_LOGS	:= $(abspath $(BUILD))/sanitizer-logs
TEST_DEPS	:= all $(UNIT_BINS) $(HELPER_BINS)
TEST_RUN	:= rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS) && \
		   ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan:detect_leaks=1 \
		   UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1:halt_on_error=1 \
		   XSL_SANITIZER_LOGS=$(SAN_LOGS) XSL_E2E_FILES="$(SAN_E2E)" \
		   XSL_E2E_EXCLUDE="$(SAN_E2E_EXCLUDE)" XSL_E2E_EXCLUDE_WHY="$(SAN_E2E_WHY)" \
		   bash tests/run.sh $(BUILD) unit e2e
else
TEST_DEPS	:= all $(UNIT_BINS) $(BPFT_BINS) $(HELPER_BINS) fuzz
TEST_RUN	:= bash tests/run.sh $(BUILD) unit bpf e2e fuzz
endif

test: deps $(TEST_DEPS)
	$(Q)$(TEST_RUN)

# The sanitizer pass of CI (see SANITIZE above).
test-sanitize:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 test

# make test three times in a row beside two CPU hogs (the hogs stop
# whatever happens); the first failing run stops it.
STRESS_RUNS	?= 3
test-stress:
	$(Q)bash tests/stress.sh $(STRESS_RUNS) $(MAKE) --no-print-directory test

test-unit: $(UNIT_BINS)
	$(Q)bash tests/run.sh $(BUILD) unit

test-bpf: all $(BPFT_BINS)
	$(Q)bash tests/run.sh $(BUILD) bpf

test-e2e: all $(HELPER_BINS)
	$(Q)bash tests/run.sh $(BUILD) e2e

bench: deps all $(BENCH_BINS) $(BENCH_BPF) $(HELPER_BINS)
	$(Q)for b in $(BENCH_BINS); do $$b || exit 1; done
	$(Q)for s in tests/bench/bench-*.sh; do bash $$s $(BUILD) || exit 1; done

demo: deps all $(BUILD)/tests/helpers/xsl_testsrv
	$(Q)bash scripts/demo.sh $(BUILD)

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD) build-san

# ---- man pages, install ----
# Man pages are made from the programs' own --help (scripts/gen-man.sh,
# help2man) plus docs/man/*.h2m. install honours PREFIX and DESTDIR.

PREFIX		?= /usr/local
SBINDIR		:= $(PREFIX)/sbin
BINDIR		:= $(PREFIX)/bin
XSLLIBDIR	:= $(PREFIX)/lib/xsl
UNITDIR		:= $(PREFIX)/lib/systemd/system
MAN8DIR		:= $(PREFIX)/share/man/man8
# Prometheus rules and the example fleet config (docs/prometheus/).
PROMDIR		:= $(PREFIX)/share/xsl/prometheus
PROM_FILES	:= $(wildcard docs/prometheus/*.yml)
# Where bash-completion looks for xslctl's completion, under PREFIX.
BASHCOMPDIR	?= $(or $(shell pkg-config --define-variable=prefix=$(PREFIX) \
			--variable=completionsdir bash-completion 2>/dev/null), \
			$(PREFIX)/share/bash-completion/completions)
MANS		:= $(BUILD)/man/xsl-agent.8 $(BUILD)/man/xslctl.8

.PHONY: man install uninstall

man: $(MANS)

$(BUILD)/man:
	$(Q)mkdir -p $@

$(BUILD)/man/%.8: $(BUILD)/% docs/man/%.h2m scripts/gen-man.sh | $(BUILD)/man
	$(call msg,MAN,$@)
	$(Q)bash scripts/gen-man.sh $< docs/man/$*.h2m $(VERSION) $@

install: all man
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(XSLLIBDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(PROMDIR) $(DESTDIR)$(BASHCOMPDIR)
	$(Q)install -m 0755 $(BUILD)/xsl-agent $(DESTDIR)$(SBINDIR)/xsl-agent
	$(Q)install -m 0755 $(BUILD)/xslctl $(DESTDIR)$(BINDIR)/xslctl
	$(Q)install -m 0644 $(BPF_OBJS) $(DESTDIR)$(XSLLIBDIR)/
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' scripts/xsl-agent.service >$(DESTDIR)$(UNITDIR)/xsl-agent.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/xsl-agent.service
	$(Q)install -m 0644 $(MANS) $(DESTDIR)$(MAN8DIR)/
	$(Q)install -m 0644 $(PROM_FILES) $(DESTDIR)$(PROMDIR)/
	$(Q)install -m 0644 scripts/xslctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/xslctl

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/xsl-agent $(DESTDIR)$(BINDIR)/xslctl \
		$(addprefix $(DESTDIR)$(XSLLIBDIR)/,$(notdir $(BPF_OBJS))) \
		$(DESTDIR)$(UNITDIR)/xsl-agent.service \
		$(addprefix $(DESTDIR)$(MAN8DIR)/,$(notdir $(MANS))) \
		$(addprefix $(DESTDIR)$(PROMDIR)/,$(notdir $(PROM_FILES))) \
		$(DESTDIR)$(BASHCOMPDIR)/xslctl
	$(Q)rmdir $(DESTDIR)$(XSLLIBDIR) $(DESTDIR)$(PROMDIR) 2>/dev/null || true
	$(Q)rmdir $(DESTDIR)$(PREFIX)/share/xsl 2>/dev/null || true
