# shellcheck shell=bash
# Image building for the emulated Xen host. Sourced by tests/vm/run.
#
# Every initramfs is gzip'd cpio archives back to back (the kernel unpacks
# each in turn):
#   base     busybox, Xen tools, kernel modules, Debian programs and every
#            library ldd finds for them. Slow to make, so it is cached under
#            $CACHE/img/<key>, the key being a hash of every input.
#   extra    (guests, when scenarios name packages beyond the default ones)
#            those packages, cached under $CACHE/img/extra-<key>; the same
#            layer serves every kernel line.
#   overlay  the project's own files (yasmin.ko, tools, shim, init scripts,
#            scenarios). Rebuilt on every run: it takes a second.

# Debian packages whose files, plus libraries, go into every guest.
GUEST_PKGS_DEFAULT="iperf3 netpipe-tcp socat wget webfs nginx curl memcached"

# Modules each image needs, loaded in this order by its init.
DOM0_MODS="xen-privcmd xen-evtchn xen-gntdev xen-gntalloc xenfs xen-netback bridge vsock"
# xen-evtchn, xen-gntdev and xen-gntalloc: /dev/xen/{evtchn,gntdev,gntalloc}
# for tests/prog/yasmin-hostile, a peer speaking the protocol from userspace.
GUEST_MODS="vsock xen-netfront xen-evtchn xen-gntdev xen-gntalloc"
# Modules a scenario loads itself (insmod each file of
# /etc/modules.ondemand/<name>, in order): vsock_loopback puts the kernel's
# virtio transport behind CID 1, the reference yasmin is compared with;
# vsock_diag answers ss --vsock and vsock_diag_test.
GUEST_ONDEMAND_MODS="vsock_loopback vsock_diag"

XEN_BINS="/usr/lib/xen-4.17/bin/xl /usr/lib/xen-4.17/bin/oxenstored
/usr/lib/xen-4.17/bin/xenconsoled /usr/lib/xen-4.17/bin/xen-init-dom0
/usr/lib/xen-4.17/bin/libxl-save-helper /usr/lib/xen-4.17/bin/xenstore-control
/usr/lib/xen-4.17/bin/xenctx
/usr/bin/xenstore-read /usr/bin/xenstore-write /usr/bin/xenstore-ls
/usr/bin/xenstore-chmod /usr/bin/xenstore-rm /usr/bin/xenstore-list
/usr/bin/xenstore-exists /usr/bin/xenstore-watch /usr/bin/xenstore"

die() { echo "vm: $*" >&2; exit 2; }

# debian_version PKG: the newest version of PKG that a Debian archive
# offers (not what the host has installed, which may come from elsewhere).
# From DEBIAN_VERSION when debian_versions filled it in.
declare -A DEBIAN_VERSION
debian_version() {
	if [ -n "${DEBIAN_VERSION[$1]+set}" ]; then
		echo "${DEBIAN_VERSION[$1]}"
		return
	fi
	apt-cache madison "$1" 2>/dev/null |
		awk -F'|' '$3 ~ /Packages/ { gsub(/ /, "", $2); print $2; exit }'
}

# debian_versions PKG...: look up every PKG's debian_version at once (one
# apt-cache run takes a second) for the cache keys computed in subshells.
debian_versions() {
	local p v
	for p in "$@"; do DEBIAN_VERSION[$p]=; done
	while read -r p v; do
		[ -n "${DEBIAN_VERSION[$p]}" ] || DEBIAN_VERSION[$p]=$v
	done < <(apt-cache madison "$@" 2>/dev/null |
		awk -F'|' '$3 ~ /Packages/ { gsub(/ /, "", $1); gsub(/ /, "", $2); print $1, $2 }')
}

# fetch_deb PKG [VERSION]: download PKG's .deb (VERSION, or the candidate)
# once into the cache and extract it. Prints the extraction directory.
fetch_deb() {
	local pkg=$1 ver=${2:-} dir deb
	[ -n "$ver" ] || ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "package $pkg not found (run 'make deps')"
	dir=$CACHE/pkg/${pkg}_$ver
	if [ ! -d "$dir" ]; then
		mkdir -p "$CACHE/debs" "$dir.tmp"
		(cd "$CACHE/debs" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) ||
			die "cannot download $pkg=$ver"
		deb=$(ls "$CACHE/debs/${pkg}_$(echo "$ver" | sed 's/^[0-9]*://')"_*.deb 2>/dev/null | head -n 1)
		dpkg-deb -x "$deb" "$dir.tmp" || die "cannot extract $pkg"
		mv "$dir.tmp" "$dir"
	fi
	echo "$dir"
}

# copy_with_libs ROOT FILE...: copy each file to the same path under ROOT,
# with every shared library ldd reports (symlinks resolved).
copy_with_libs() {
	local root=$1 f lib
	shift
	for f in "$@"; do
		[ -e "$f" ] || die "missing $f"
		mkdir -p "$root$(dirname "$f")"
		cp -aL "$f" "$root$f"
		ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done || true	# a static program has no libraries to copy
	done
}

# foreign PKG: true when the host's PKG is not Debian's: a version no
# archive has, and another maintainer than the archive's (an older Debian
# version that the archive has moved past is still Debian's).
foreign() {
	local v
	v=$(dpkg-query -W -f='${Version}' "$1")
	apt-cache madison "$1" 2>/dev/null | grep -qF " $v " && return 1
	[ "$(dpkg-query -W -f='${Maintainer}' "$1")" != \
		"$(apt-cache show "$1=$(debian_version "$1")" 2>/dev/null | sed -n 's/^Maintainer: //p' | head -n 1)" ]
}

# copy_pkg ROOT PKG: every file of an installed Debian package plus the
# libraries of its executables. Installs the package first if needed. A
# package the host has from another vendor under Debian's name (e.g. a
# nodejs that Debian's libnode108 conflicts with) comes from Debian's .debs
# instead (copy_debs), leaving the host's alone.
copy_pkg() {
	local root=$1 pkg=$2 f
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
		echo "vm: installing $pkg for the guest images" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >&2 ||
			die "cannot install $pkg"
	fi
	if foreign "$pkg"; then
		echo "vm: the host's $pkg is not Debian's: taking Debian's $pkg $(debian_version "$pkg") from its .debs" >&2
		copy_debs "$root" "$pkg"
		return
	fi
	dpkg -L "$pkg" | while read -r f; do
		case $f in /usr/share/doc/*|/usr/share/man/*|/usr/share/info/*) continue ;; esac
		[ -f "$f" ] || continue
		if file -L "$f" 2>/dev/null | grep -q ELF; then
			copy_with_libs "$root" "$f"
		else
			mkdir -p "$root$(dirname "$f")"
			cp -aL "$f" "$root$f"
		fi
	done
}

# copy_debs ROOT PKG: Debian's PKG (the archive's newest version), and every
# package it depends on that the host lacks, from their .debs, with the
# libraries of their executables. A dependency the host has contributes its
# libraries through ldd, as for copy_pkg.
copy_debs() {
	local root=$1 todo=$2 done_=" " pkg dir dirs="" libpath="" f lib src d alt dep have
	while [ -n "$todo" ]; do
		# shellcheck disable=SC2086 # a list of package names
		set -- $todo
		pkg=$1
		shift
		todo=$*
		case $done_ in *" $pkg "*) continue ;; esac
		done_="$done_$pkg "
		dir=$(fetch_deb "$pkg" "$(debian_version "$pkg")")
		dirs="$dirs $dir"
		[ -d "$dir/usr/lib/x86_64-linux-gnu" ] && libpath="$libpath:$dir/usr/lib/x86_64-linux-gnu"
		# Each dependency, or alternatives group (a line "|Depends:" joins
		# the next one): nothing to do when the host has one of them,
		# else the first real package of the group comes along.
		alt="" have=0
		while read -r dep; do
			case $dep in
			"|Depends: "*) f=1 ;;
			"Depends: "*) f=0 ;;
			*) continue ;;
			esac
			dep=${dep#*: }
			dep=${dep#<}
			dep=${dep%>}
			dep=${dep%:any}
			dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'ok installed' && have=1
			[ -n "$alt" ] || [ -z "$(debian_version "$dep")" ] || alt=$dep
			[ "$f" = 1 ] && continue
			[ "$have" = 1 ] || [ -z "$alt" ] || todo="$todo $alt"
			alt="" have=0
		done < <(apt-cache depends "$pkg=$(debian_version "$pkg")" 2>/dev/null | sed 's/^ *//')
	done
	for dir in $dirs; do
		(cd "$dir" && find . ! -type d) | sed 's,^\.,,' | while read -r f; do
			case $f in /usr/share/doc/*|/usr/share/man/*|/usr/share/info/*|/usr/share/lintian/*) continue ;; esac
			mkdir -p "$root$(dirname "$f")"
			cp -a "$dir$f" "$root$f"
			[ -f "$dir$f" ] && [ ! -L "$dir$f" ] && file "$dir$f" | grep -q ELF || continue
			LD_LIBRARY_PATH=${libpath#:} ldd "$dir$f" 2>/dev/null | grep -o '/[^ ]*' | while read -r src; do
				lib=$src
				for d in $dirs; do lib=${lib#"$d"}; done
				[ -e "$root$lib" ] && continue
				mkdir -p "$root$(dirname "$lib")"
				cp -L "$src" "$root$lib"
			done
		done
	done
}

# copy_modules ROOT MOD...: the modules and everything they depend on, plus
# /etc/modules.load listing them in load order for the image's init.
copy_modules() {
	local root=$1 m ko
	shift
	mkdir -p "$root/lib/modules/$KVER" "$root/etc"
	for m in "$@"; do
		modprobe -d "$KPKG" -S "$KVER" --show-depends "$m" |
			sed -n 's/^insmod \([^ ]*\).*/\1/p' | while read -r ko; do
			ko=${ko#"$KPKG"}
			grep -qx "$ko" "$root/etc/modules.load" 2>/dev/null && continue
			mkdir -p "$root$(dirname "$ko")"
			cp "$KPKG$ko" "$root$ko"
			echo "$ko" >> "$root/etc/modules.load"
		done
	done
}

# copy_modules_ondemand ROOT MOD...: the same, loaded by nobody at boot;
# /etc/modules.ondemand/MOD lists the files to insmod for MOD, in order.
copy_modules_ondemand() {
	local root=$1 m ko
	shift
	mkdir -p "$root/etc/modules.ondemand"
	for m in "$@"; do
		modprobe -d "$KPKG" -S "$KVER" --show-depends "$m" |
			sed -n 's/^insmod \([^ ]*\).*/\1/p' | while read -r ko; do
			ko=${ko#"$KPKG"}
			mkdir -p "$root$(dirname "$ko")"
			cp "$KPKG$ko" "$root$ko"
			echo "$ko" >> "$root/etc/modules.ondemand/$m"
		done
	done
}

# overlay_libs ROOT LIST: copy into the overlay ROOT every library that
# ROOT's programs (/opt/yasmin/bin) need and the base image lacks (LIST: the
# base's files, as "./path" lines), e.g. the Xen libraries tests/prog links.
overlay_libs() {
	local root=$1 list=$2 f lib
	for f in "$root"/opt/yasmin/bin/*; do
		file -L "$f" 2>/dev/null | grep -q ELF || continue
		ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
			grep -qxF ".$lib" "$list" && continue
			[ -e "$root$lib" ] && continue
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done || true	# a static program has no libraries to copy
	done
}

# mkcpio DIR OUT: pack DIR as a gzip'd newc archive owned by root.
mkcpio() {
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$2"
}

common_base() {
	local root=$1
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,root,var/log,var/run,usr/bin,usr/sbin}
	cp /bin/busybox "$root/bin/busybox"
	# The project's programs are built on this host: bring its C runtime
	# (libgcc_s too: glibc dlopens it for pthread_cancel and backtraces).
	copy_with_libs "$root" /usr/bin/env /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
	# The name databases ordinary programs expect (NPtcp looks up "tcp",
	# servers look up their user): the host's protocols and services, and
	# a root-only passwd/group.
	cp /etc/protocols /etc/services "$root/etc/" 2>/dev/null || true
	echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
	echo "root:x:0:" > "$root/etc/group"
}

# prepare_inputs: resolve and fetch the kernel and Xen; sets KPKG, XEN_GZ,
# VMLINUZ and the cache key inputs.
prepare_inputs() {
	KPKG=$(fetch_deb "linux-image-$KVER")
	XPKG=$(fetch_deb xen-hypervisor-4.17-amd64)
	VMLINUZ=$KPKG/boot/vmlinuz-$KVER
	XEN_GZ=$XPKG/boot/xen-4.17-amd64.gz
	[ -f "$VMLINUZ" ] && [ -f "$XEN_GZ" ] || die "kernel or Xen missing from packages"
	[ -f "$KPKG/lib/modules/$KVER/modules.dep" ] || depmod -b "$KPKG" "$KVER"
}

# build_bases: make (or reuse) the cached base images. Sets IMG.
build_bases() {
	local key pkgs p
	pkgs=$GUEST_PKGS_DEFAULT
	# shellcheck disable=SC2086 # a list of package names
	debian_versions $pkgs
	key=$( {
		echo "$KVER" "$KPKG" "$XPKG" "$pkgs" "$DOM0_MODS" "$GUEST_MODS" "$GUEST_ONDEMAND_MODS" "$XEN_BINS"
		dpkg-query -W busybox-static xen-utils-4.17 libc6 $pkgs 2>/dev/null
		# What copy_debs would take (a host's non-Debian package).
		for p in $pkgs; do echo "$p $(debian_version "$p")"; done
		cat "$HARNESS/lib/images.sh"
	} | sha256sum | cut -c1-16)
	IMG=$CACHE/img/$key
	if [ -f "$IMG/done" ]; then
		echo "vm: reusing cached images $IMG"
		return
	fi
	echo "vm: building base images into $IMG (cached for later runs)"
	rm -rf "$IMG"
	mkdir -p "$IMG/dom0" "$IMG/guest"

	common_base "$IMG/guest"
	copy_modules "$IMG/guest" $GUEST_MODS
	copy_modules_ondemand "$IMG/guest" $GUEST_ONDEMAND_MODS
	for p in $pkgs; do copy_pkg "$IMG/guest" "$p"; done

	common_base "$IMG/dom0"
	copy_modules "$IMG/dom0" $DOM0_MODS
	copy_with_libs "$IMG/dom0" $XEN_BINS
	mkdir -p "$IMG/dom0/etc/xen" "$IMG/dom0/boot" "$IMG/dom0/var/lib/xen" \
		"$IMG/dom0/var/run/xen" "$IMG/dom0/var/run/xenstored" \
		"$IMG/dom0/var/log/xen/console" "$IMG/dom0/var/lib/xenstored"
	cp /etc/xen/oxenstored.conf /etc/xen/xl.conf "$IMG/dom0/etc/xen/"
	cp "$VMLINUZ" "$IMG/dom0/boot/vmlinuz"
	for p in iperf3; do copy_pkg "$IMG/dom0" "$p"; done

	mkcpio "$IMG/guest" "$IMG/guest-base.cpio.gz"
	mkcpio "$IMG/dom0" "$IMG/dom0-base.cpio.gz"
	(cd "$IMG/guest" && find . ! -type d) > "$IMG/guest.files"
	(cd "$IMG/dom0" && find . ! -type d) > "$IMG/dom0.files"
	zcat "$XEN_GZ" > "$IMG/xen"
	cp "$VMLINUZ" "$IMG/vmlinuz"
	rm -rf "$IMG/dom0" "$IMG/guest"
	touch "$IMG/done"
}

# build_extra: the packages scenarios name beyond the default ones ("# pkgs:"
# lines, --pkg), as one more cpio layer over a line's base image. They need
# nothing from the kernel, so one layer, cached by their versions, serves
# every line, and a line's base image is the same with or without them.
# Sets EXTRA_CPIO, empty when there are none.
build_extra() {
	local key p dir
	EXTRA_CPIO=
	# shellcheck disable=SC2086 # a list of package names
	set -- $EXTRA_PKGS
	[ $# -gt 0 ] || return 0
	debian_versions "$@"
	key=$( {
		echo "$@"
		dpkg-query -W "$@" 2>/dev/null
		for p in "$@"; do echo "$p $(debian_version "$p")"; done
		cat "$HARNESS/lib/images.sh"
	} | sha256sum | cut -c1-16)
	dir=$CACHE/img/extra-$key
	EXTRA_CPIO=$dir/guest-extra.cpio.gz
	if [ -f "$dir/done" ]; then
		echo "vm: reusing cached package layer $dir ($*)"
		return
	fi
	echo "vm: building the package layer ($*) into $dir (cached for later runs)"
	rm -rf "$dir"
	mkdir -p "$dir/root"
	for p in "$@"; do copy_pkg "$dir/root" "$p"; done
	mkcpio "$dir/root" "$EXTRA_CPIO"
	rm -rf "$dir/root"
	touch "$dir/done"
}
