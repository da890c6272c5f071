# memscope build. `make` builds ./memscope; `sudo make run` and `sudo make test`
# install missing Debian packages first (target `deps`).

BUILD    := build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# Debian packages the build, the tests and the workloads need.
# Each feature appends what it needs (DEB_PKGS for apt, PKGS for pkg-config).
DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev \
            libcriterion-dev libcap-dev pkg-config gcc make libc6-dbg
PKGS     := libbpf libelf libdw zlib libcap

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror
CPPFLAGS := -I$(BUILD) -Ibpf -Iuser -D_GNU_SOURCE
DEPFLAGS  = -MMD -MP
# Recursive (=) so pkg-config runs after `deps` has installed it.
LDLIBS    = $(shell pkg-config --libs $(PKGS)) -lstdc++ -lm

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
USER_SRCS  := $(wildcard user/*.c)
USER_OBJS  := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o)
LIB_OBJS   := $(filter-out $(BUILD)/user/main.o,$(USER_OBJS))
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_OBJS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%.o)
INTEG_SRCS := $(wildcard tests/integration/*.c)
INTEG_OBJS := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%.o)
FIXTURES   := $(patsubst tests/fixtures/%.c,$(BUILD)/fixtures/%,$(wildcard tests/fixtures/*.c))
WORKLOADS  := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(wildcard tests/workloads/*.c))

.PHONY: all deps run test test-unit test-integration check-root vmlinux clean
.DELETE_ON_ERROR:
.SECONDARY:

all: memscope

# ---- dependencies ---------------------------------------------------------
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "memscope: installing missing packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# ---- BPF ------------------------------------------------------------------
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf $(DEPFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# ---- user space -----------------------------------------------------------
$(BUILD)/user/%.o: user/%.c | $(SKELS) $(BUILD)/user
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

memscope: $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# ---- tests ----------------------------------------------------------------
$(BUILD)/tests/%.o: tests/%.c | $(SKELS) $(BUILD)/tests/unit $(BUILD)/tests/integration
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) -Itests $(DEPFLAGS) -c $< -o $@

$(BUILD)/tests/unit_tests: $(UNIT_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcriterion

$(BUILD)/tests/integration_tests: $(INTEG_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ -lcriterion

# Test binaries: symbols and frame pointers kept, PIE and non-PIE variants.
$(BUILD)/fixtures/%: tests/fixtures/%.c | $(BUILD)/fixtures
	$(CC) -O1 -g -fno-omit-frame-pointer -fPIE -pie $< -o $@
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-pie -no-pie $< -o $@.nopie

$(BUILD)/workloads/%: tests/workloads/%.c | $(BUILD)/workloads
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror $< -o $@

test-unit: $(BUILD)/tests/unit_tests $(FIXTURES)
	$(BUILD)/tests/unit_tests --jobs 2

test-integration: memscope $(BUILD)/tests/integration_tests $(WORKLOADS) check-root
	$(BUILD)/tests/integration_tests --jobs 1

check-root:
	@[ "$$(id -u)" = 0 ] || { echo "memscope tests need root: run 'sudo make test'"; exit 1; }

test: deps
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-integration

run: deps
	$(MAKE) --no-print-directory memscope
	./memscope record -d 30 -o memscope.folded

$(BUILD) $(BUILD)/user $(BUILD)/tests/unit $(BUILD)/tests/integration $(BUILD)/fixtures $(BUILD)/workloads:
	mkdir -p $@

clean:
	rm -rf $(BUILD) memscope

-include $(wildcard $(BUILD)/*.d $(BUILD)/user/*.d $(BUILD)/tests/*/*.d)
