# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# twinguard build. Shape follows libbpf-bootstrap: outputs in .output/, quiet
# rules unless V=1, BPF objects embedded through bpftool skeletons.

OUTPUT := .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
CONFIG ?= packaging/twinguard.conf

ARCH ?= $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/')
ifeq ($(filter x86 arm64,$(ARCH)),)
$(error unsupported architecture '$(ARCH)': twinguard pins vmlinux.h for x86 and arm64 only, see docs/build.md)
endif
VMLINUX_DIR := include/vmlinux/$(ARCH)
ifeq ($(wildcard $(VMLINUX_DIR)/vmlinux.h),)
$(error no pinned $(VMLINUX_DIR)/vmlinux.h for '$(ARCH)': generate it on a kernel with BTF, see docs/build.md)
endif

WARN := -Wall -Wextra -Werror
CFLAGS ?= -g -O2
USER_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread -Iinclude -I$(OUTPUT) -Iuser
# Header dependencies come from the compiler (-MMD -MP): one header edit
# rebuilds only the objects that include it.
DEPFLAGS = -MMD -MP -MF $(@:.o=.d)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -D__TWINGUARD_BPF__ $(WARN) \
	-Wno-unused-function -Wno-unused-parameter -Iinclude -I$(VMLINUX_DIR) -Ibpf
LIBS := -lbpf -lelf -lz -lcjson -lcrypto -lcurl -lrelp -lmicrohttpd -lsystemd -pthread
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_HDRS := $(wildcard bpf/*.bpf.h bpf/*/*.bpf.h) include/twinguard/events.h
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# Modules with several files live in folders (user/deliver/, ...).
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_HDRS := $(wildcard user/*.h user/*/*.h) include/twinguard/events.h
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(LIB_SRCS))
SAN_OBJS := $(patsubst user/%.c,$(OUTPUT)/san/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/unit/%,$(UNIT_SRCS))
INTEG_SRCS := $(filter-out tests/integration/helpers.c,$(wildcard tests/integration/*.c))
INTEG_BINS := $(patsubst tests/integration/%.c,$(OUTPUT)/tests/integration/%,$(INTEG_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
# The twin lab's programs (tests/lab/src): a real twin stack for the lab
# driver to attack. Plain userspace, no BPF, no root; `make lab`.
LAB_DIR := tests/lab/src
LAB_OUT := $(OUTPUT)/lab
LAB_PROGS := twin-engine twin-gateway twin-deploy twin-operator
LAB_BINS := $(addprefix $(LAB_OUT)/bin/,$(LAB_PROGS)) $(LAB_OUT)/bin/twinlab
LAB_HDRS := $(wildcard $(LAB_DIR)/*.h)
LAB_COMMON_OBJS := $(addprefix $(LAB_OUT)/obj/,labcommon.o labclient.o)
LAB_ENGINE_OBJS := $(addprefix $(LAB_OUT)/obj/,twin-engine.o engine_mqtt.o engine_api.o)
LAB_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread
LAB_LIBS := -lmosquitto -lcjson -lm -pthread
# Seconds each fuzz target runs: `make fuzz` long, `make test` a smoke run.
FUZZ_SECONDS ?= 120
FUZZ_SMOKE_SECONDS ?= 15

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps run test unit integration fuzz fuzz-smoke bench install clean lab demo

all: $(OUTPUT)/twinguard

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/san $(OUTPUT)/tests/unit $(OUTPUT)/tests/integration $(OUTPUT)/fuzz \
		$(LAB_OUT)/obj $(LAB_OUT)/bin:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/user/%.o: user/%.c $(SKELS) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/san/%.o: user/%.c $(SKELS) | $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) $(SAN) $(DEPFLAGS) -c $< -o $@

-include $(LIB_OBJS:.o=.d) $(SAN_OBJS:.o=.d) $(OUTPUT)/user/main.d

$(OUTPUT)/libtwinguard.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/libtwinguard-san.a: $(SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The whole archive: a module's real definition must always win over the
# weak placeholder another module keeps for a build without it.
WHOLE = -Wl,--whole-archive $(1) -Wl,--no-whole-archive

$(OUTPUT)/twinguard: $(OUTPUT)/user/main.o $(OUTPUT)/libtwinguard.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(USER_CFLAGS) $< $(call WHOLE,$(OUTPUT)/libtwinguard.a) $(LIBS) -o $@

# Unit tests: no root, built and run under ASan/UBSan.
$(OUTPUT)/tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(OUTPUT)/libtwinguard-san.a | $(OUTPUT)/tests/unit
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(SAN) $< $(call WHOLE,$(OUTPUT)/libtwinguard-san.a) $(LIBS) -lcriterion -o $@

# Integration tests: load the real BPF programs, need root.
$(OUTPUT)/tests/integration/%: tests/integration/%.c tests/integration/helpers.c $(wildcard tests/integration/*.h) $(OUTPUT)/libtwinguard.a | $(OUTPUT)/tests/integration
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests/integration $< tests/integration/helpers.c $(call WHOLE,$(OUTPUT)/libtwinguard.a) $(LIBS) -lcriterion -o $@

# libFuzzer targets: clang with ASan/UBSan over the library sources they need.
$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(USER_HDRS) $(SKELS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -Iinclude \
		-I$(OUTPUT) -Iuser $< $(LIB_SRCS) $(LIBS) -o $@

# The twin lab: each program is its main file plus the shared objects; the
# engine has two more files.
$(LAB_OUT)/obj/%.o: $(LAB_DIR)/%.c $(LAB_HDRS) | $(LAB_OUT)/obj
	$(call msg,LAB-CC,$@)
	$(Q)$(CC) $(LAB_CFLAGS) -c $< -o $@

$(LAB_OUT)/bin/twin-engine: $(LAB_ENGINE_OBJS) $(LAB_COMMON_OBJS) | $(LAB_OUT)/bin
	$(call msg,LAB-BIN,$@)
	$(Q)$(CC) $(LAB_CFLAGS) $^ $(LAB_LIBS) -o $@

$(LAB_OUT)/bin/twin-%: $(LAB_OUT)/obj/twin-%.o $(LAB_COMMON_OBJS) | $(LAB_OUT)/bin
	$(call msg,LAB-BIN,$@)
	$(Q)$(CC) $(LAB_CFLAGS) $^ $(LAB_LIBS) -o $@

# The intruder's multi-tool (also compiled by the rule tests themselves).
$(LAB_OUT)/bin/twinlab: tests/integration/lab/twinlab.c | $(LAB_OUT)/bin
	$(call msg,LAB-BIN,$@)
	$(Q)$(CC) $(LAB_CFLAGS) $< -o $@

lab: $(LAB_BINS)

# The twin lab under the agent: every scenario, a timeline, a summary
# (tests/lab/demo.sh, docs/lab.md). Root.
demo: deps
	$(Q)$(MAKE) --no-print-directory all lab
	$(Q)tests/lab/demo.sh

fuzz: $(FUZZ_BINS)
	$(Q)tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-smoke: $(FUZZ_BINS)
	$(Q)tests/run-fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_BINS)

deps:
	$(Q)packaging/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)install -d -m 0750 /var/log/twinguard
	$(OUTPUT)/twinguard run --config $(CONFIG) --rules-dir rules --profile rules/profile/twin-profile.json

unit: $(UNIT_BINS) $(OUTPUT)/twinguard
	$(Q)tests/run-unit.sh $(UNIT_BINS)

integration: $(INTEG_BINS) $(OUTPUT)/twinguard $(LAB_BINS)
	$(Q)tests/run-integration.sh $(INTEG_BINS)

test: deps
	$(Q)rm -f $(OUTPUT)/test-counts
	$(Q)TG_TEST_COUNTS=$(abspath $(OUTPUT))/test-counts $(MAKE) --no-print-directory unit
	$(Q)TG_TEST_COUNTS=$(abspath $(OUTPUT))/test-counts $(MAKE) --no-print-directory integration
	$(Q)TG_TEST_COUNTS=$(abspath $(OUTPUT))/test-counts $(MAKE) --no-print-directory fuzz-smoke
	$(Q)tests/summary.sh $(OUTPUT)/test-counts

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/bench/bench.sh
	$(Q)tests/bench/delivery.sh

install: $(OUTPUT)/twinguard
	install -D -m 0755 $(OUTPUT)/twinguard $(DESTDIR)$(PREFIX)/sbin/twinguard
	install -D -m 0644 packaging/twinguard.conf $(DESTDIR)/etc/twinguard/twinguard.conf
	install -D -m 0644 packaging/twinguard.service $(DESTDIR)$(PREFIX)/lib/systemd/system/twinguard.service
	install -d $(DESTDIR)$(PREFIX)/share/twinguard/rules
	install -d -m 0750 $(DESTDIR)/var/log/twinguard
	install -D -m 0644 rules/profile/twin-profile.json $(DESTDIR)/etc/twinguard/twin-profile.json
	install -d $(DESTDIR)/etc/twinguard/rules.d
	for f in rules/*.json; do install -m 0644 "$$f" $(DESTDIR)$(PREFIX)/share/twinguard/rules/; done

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT)
