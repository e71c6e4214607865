# YASMIN top-level build.
#
#   make          kmod/yasmin.ko, shim/libyasmin.so, tools/ and yasmind/
#   make install  everything, under DESTDIR and PREFIX (default /usr/local)
#   make deb      yasmin-dkms, yasmin-tools and libyasmin packages in build/deb
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
KDIR ?= $(shell scripts/kdir $(KVER) 2>/dev/null)

export KVER KDIR

.PHONY: all kmod shim tools yasmind deps check unit kunit lint fuzz vm-test demo \
	bench soak clean need-deps install deb

all: kmod shim tools yasmind

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

yasmind: need-deps
	$(MAKE) -C yasmind

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
	-$(MAKE) -C yasmind clean
	rm -rf build

# Installation. The module is installed as DKMS source (dkms.conf), built
# for each kernel by 'dkms install yasmin/$(VERSION)'. Units and
# modules-load.d go where systemd looks for this PREFIX.
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/yasmin
SYSLIBDIR := $(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)
UNITDIR ?= $(SYSLIBDIR)/systemd/system
MODLOADDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib,$(PREFIX)/lib)/modules-load.d
DKMSDIR ?= /usr/src/yasmin-$(VERSION)
INSTALL ?= install

KMOD_SRC := $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h) kmod/Kbuild

install:
	$(MAKE) -C shim
	$(MAKE) -C yasmind
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MODLOADDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(DKMSDIR)/kmod $(addprefix $(DESTDIR)$(MANDIR)/man,1 5 7 8)
	$(INSTALL) -m 755 tools/yasmin-run tools/yasmin-stat $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 755 tools/yasmin-xs yasmind/build/yasmind \
		yasmind/build/yasmin-mapd $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 644 shim/libyasmin.so $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 dkms.conf Kbuild $(DESTDIR)$(DKMSDIR)/
	$(INSTALL) -m 644 $(KMOD_SRC) $(DESTDIR)$(DKMSDIR)/kmod/
	for u in yasmind yasmin-mapd; do \
		sed 's,@SBINDIR@,$(SBINDIR),g' systemd/$$u.service.in \
			> $(DESTDIR)$(UNITDIR)/$$u.service && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u.service || exit 1; \
	done
	$(INSTALL) -m 644 systemd/modules-load.conf $(DESTDIR)$(MODLOADDIR)/yasmin.conf
	$(INSTALL) -m 644 man/yasmin-run.1 man/yasmin-stat.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 man/yasmin.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 644 man/yasmin.7 $(DESTDIR)$(MANDIR)/man7/
	$(INSTALL) -m 644 man/yasmind.8 man/yasmin-xs.8 $(DESTDIR)$(MANDIR)/man8/
	ln -sf yasmind.8 $(DESTDIR)$(MANDIR)/man8/yasmin-mapd.8
	$(INSTALL) -m 644 README.md yasmin.conf.example yasmind.conf.example \
		doc/automatic-map.md $(DESTDIR)$(DOCDIR)/

# Three binary packages from one staged install (dpkg-deb, no debhelper).
deb:
	scripts/mkdeb $(VERSION)
