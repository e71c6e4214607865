# YASMIN top-level build.
#
#   make          kmod/yasmin.ko, shim/libyasmin.so and tools/
#   make deps     install every Debian package the project needs (idempotent)
#   make check    every test stage; last line "N passed, N failed"
#   make demo     boot the emulated Xen host and compare yasmin with netfront
#   make bench    the full benchmark matrix
#   make soak     SOAK_MINUTES (30) of mixed traffic and churn in the
#                 emulated host, counters back at baseline; not in check
#
# Each stage lives in its own directory and owns its own script; this file
# only wires them together.

# The guest kernel's headers: scripts/kver resolves the one the emulated
# guests boot, so the module always matches the kernel it is loaded into.
KVER ?= $(shell scripts/kver 2>/dev/null)
KDIR ?= /usr/src/linux-headers-$(KVER)

export KVER KDIR

.PHONY: all kmod shim tools deps check unit kunit lint fuzz vm-test demo bench \
	soak clean need-deps

all: kmod shim tools

# Targets that need packages call this first: it runs 'make deps' only
# when something is missing, so a fresh machine needs no separate step.
need-deps:
	@scripts/deps --check-only >/dev/null 2>&1 || scripts/deps

kmod: need-deps
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

shim: need-deps
	$(MAKE) -C shim

tools: need-deps
	$(MAKE) -C tools
	$(MAKE) -C tests/prog
	$(MAKE) -C bench/prog
	$(MAKE) -C tests/conformance

deps:
	scripts/deps

unit:
	$(MAKE) -C tests/unit run

kunit: need-deps
	tests/kunit/run

lint: need-deps
	scripts/lint

fuzz: need-deps
	$(MAKE) -C tests/fuzz run

vm-test: all
	tests/vm/run --all

check: need-deps
	scripts/check

demo: need-deps all
	bench/demo

bench: need-deps all
	bench/run

# Not part of check: half an hour by default (SOAK_MINUTES=N to change).
soak: need-deps all
	tests/vm/soak/run

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C shim clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C tests/prog clean
	-$(MAKE) -C bench/prog clean
	-$(MAKE) -C tests/conformance clean
	-$(MAKE) -C tests/unit clean
	rm -rf build
