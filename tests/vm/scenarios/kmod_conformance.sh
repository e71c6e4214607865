# kmod_conformance: the kernel's own AF_VSOCK suite, vsock_test, of each
# kernel line (tools/testing/vsock from Debian's linux-source-6.1 and
# linux-source-6.12), between guest1 and guest2 over yasmin, each guest
# serving once; guests on different kernel lines run 6.12's only. With a
# third guest, guest1 runs it with guest3 too (make check gives guest2 and
# guest3 different kernel lines, so guest1 meets a pair of its own line and
# a mixed pair in one boot). Its control connection runs over netfront. Every test runs
# and passes, SOCK_STREAM and SOCK_SEQPACKET, except those SKIPS below
# names for the guests' kernel line, each with its reason. Skips go by test
# name (ids come from --list), so a suite that renumbers cannot shift them.
#
# Core skips apply to a suite newer than the pair's core; a line's own
# suite expects its core's answers and runs whole. A "self" entry is a
# test that skips itself on the guest's core (it runs,
# prints "Test skipped" and counts as passed): it must skip itself, and
# nothing else may. A "core" skip is a test the guest's own vsock core
# cannot pass, whatever the transport. Each is then run alone, over yasmin
# and over the kernel's virtio transport (vsock_loopback, CID 1, in
# guest1), and must fail on both with the same message: the limit is the
# core's, not yasmin's. A "todo" skip is what yasmin lacks, named.
SKIPS='6.1|SOCK_STREAM test invalid buffer|core|6.1 vsock_connectible_recvmsg() turns any transport error (EFAULT here) into ENOMEM
6.1|SOCK_SEQPACKET test invalid buffer|core|6.1 __vsock_seqpacket_recvmsg() turns any transport error (EFAULT here) into ENOMEM
6.1|SOCK_SEQPACKET invalid receive buffer|core|6.1 __vsock_seqpacket_recvmsg() turns any transport error (EFAULT here) into ENOMEM
6.1|SOCK_SEQPACKET big message|core|6.1 vsock_connectible_sendmsg() turns any transport error (EMSGSIZE here) into ENOMEM
6.1|SOCK_STREAM SHUT_WR|core|6.1 vsock_connectible_sendmsg() returns EPIPE but raises no SIGPIPE
6.1|SOCK_STREAM SHUT_RD|core|6.1 vsock_connectible_sendmsg() returns EPIPE but raises no SIGPIPE
6.1|SOCK_STREAM MSG_ZEROCOPY|core|the 6.1 vsock core has no SO_ZEROCOPY (6.7 added it)
6.1|SOCK_SEQPACKET MSG_ZEROCOPY|core|the 6.1 vsock core has no SO_ZEROCOPY (6.7 added it)
6.1|SOCK_STREAM ioctl(SIOCOUTQ) 0 unsent bytes|self|the 6.1 vsock core has no SIOCOUTQ (6.11 added it): the test skips itself
6.1|SOCK_SEQPACKET ioctl(SIOCOUTQ) 0 unsent bytes|self|the 6.1 vsock core has no SIOCOUTQ (6.11 added it): the test skips itself'

kline() { guest "$1" 'uname -r' | cut -d. -f1,2; }
# A skip holds when either end's core imposes it.
skips_for() { # kernel lines...
	for k in "$@"; do
		echo "$SKIPS" | awk -F'|' -v k="$k" '$1 == k'
	done | sort -t'|' -k2,2 -u
}

# skip_args SUITE-LIST [NAME]: --skip for every test of the suite that
# SKIPS names (with NAME: for every test but NAME).
skip_args() {
	echo "$1" | awk -F'\t' -v only="${2:-}" '
		BEGIN { n = split(ENVIRON["MYSKIPS"], l, "\n"); for (i = 1; i <= n; i++) { split(l[i], f, "|"); if (f[3] == "todo" || (f[3] == "core" && ENVIRON["OWN_SUITE"] != "yes")) s[f[2]] = 1 } }
		$1 ~ /^[0-9]+$/ && ((only == "" && ($2 in s)) || (only != "" && $2 != only)) { printf "--skip=%s ", $1 }'
}

# passed LOG: how many tests passed (a test that skips itself prints
# "Test skipped" and then its "ok" on a line of its own).
passed() {
	awk '/^[0-9]+ - / { t = 1; done = 0 } /^All tests/ { t = 0 } t && !done && /ok$/ { n++; done = 1 } END { print n + 0 }'
}

# run_suite V SERVER CLIENT PORT: the whole suite V, SERVER guest serving.
run_suite() {
	eval "sip=\$G$2_IP scid=\$G$2_CID ccid=\$G$3_CID"
	guest "$2" "vsock_test-$1 --mode=server --control-port=$4 --peer-cid=$ccid $SKIP > /tmp/vt-$4.log 2>&1 &"
	wait_listen "$2" "$4"
	out=$(guest "$3" -t 900 "vsock_test-$1 --mode=client --control-host=$sip --control-port=$4 --peer-cid=$scid $SKIP 2>&1") ||
		{ echo "$out"; guest "$2" "cat /tmp/vt-$4.log"; fail "vsock_test-$1 client on guest $3 failed"; }
	echo "$out"
	wait_log "$2" "/tmp/vt-$4.log" "All tests have been executed" 120
	srv=$(guest "$2" "cat /tmp/vt-$4.log")
	echo "$srv"
	assert_eq "$(echo "$out" | passed)" "$NRUN" "vsock_test-$1 tests passed (client, guest $3)"
	assert_eq "$(echo "$srv" | passed)" "$NRUN" "vsock_test-$1 tests passed (server, guest $2)"
	eval "nself=\$NSELF$3"
	assert_eq "$(echo "$out" | grep -c 'Test skipped')" "$nself" "vsock_test-$1 tests that skipped themselves (client)"
}

# first_error LOG: what vsock_test said when the test failed, without the
# numbers that differ between transports (CIDs, ports), and without what
# one end says when the other has already failed and exited (that depends
# on where the survivor was, not on the transport).
first_error() {
	sed 's/^[0-9]* - [^.]*\.\.\.//' |
		grep -v -e '^Control socket' -e '^Waiting for' -e '^All tests' -e '^skipped$' -e 'ok$' -e '^rc=' -e '^$' \
			-e 'unexpected EOF on control socket' -e 'Connection reset by peer' -e 'Broken pipe' |
		sed 's/[0-9][0-9]*/N/g' | head -n 2
}

# run_one V NAME SERVER CLIENT SERVER-CID CLIENT-CID SERVER-IP PORT: test
# NAME of suite V alone, guest SERVER serving (CIDs as each end sees the
# other). Sets ONE_OK (yes/no) and ONE_ERR, the failure (client's, then
# server's).
run_one() {
	args=$(skip_args "$list_all" "$2")
	guest "$3" "timeout 90 vsock_test-$1 --mode=server --control-port=$8 --peer-cid=$6 $args > /tmp/one-s.log 2>&1; echo rc=\$? >> /tmp/one-s.log" &
	wait_listen "$3" "$8"
	guest "$4" -t 120 "timeout 90 vsock_test-$1 --mode=client --control-host=$7 --control-port=$8 --peer-cid=$5 $args > /tmp/one-c.log 2>&1; echo rc=\$? >> /tmp/one-c.log"
	wait
	c=$(guest "$4" 'cat /tmp/one-c.log')
	s=$(guest "$3" 'cat /tmp/one-s.log')
	echo "$c" | sed 's/^/    client: /'
	echo "$s" | sed 's/^/    server: /'
	ONE_OK=no
	echo "$c" | grep -q '^rc=0$' && echo "$s" | grep -q '^rc=0$' && ONE_OK=yes
	ONE_ERR=$({ echo "$c" | first_error; echo "$s" | first_error; } | tr '\n' ' ')
}

# conform A B: the whole check between guests A and B, A serving first.
conform() {
A=$1 B=$2
KA=$(kline "$A")
KB=$(kline "$B")
echo "guest$A runs Linux $KA, guest$B Linux $KB"
MYSKIPS=$(skips_for "$KA" "$KB")
export MYSKIPS
eval "AIP=\$G${A}_IP ACID=\$G${A}_CID BCID=\$G${B}_CID"
baseA= baseB=

# 6.12's suite runs everywhere; 6.1's where both guests run 6.1, since it
# checks 6.1's own answers (ENOMEM where 6.12's core gives EFAULT).
suites=6.12
[ "$KA" = 6.1 ] && [ "$KB" = 6.1 ] && suites="6.1 6.12"
for v in $suites; do
	step "vsock_test-$v: every test that SKIPS does not name, guest$A serving, then guest$B"
	list=$(guest "$A" "vsock_test-$v --list; true")
	# A line's own suite expects its own core's answers: no core skips.
	OWN_SUITE=no
	[ "$v" = "$KA" ] && [ "$v" = "$KB" ] && OWN_SUITE=yes
	export OWN_SUITE
	SKIP=$(skip_args "$list")
	NALL=$(echo "$list" | grep -c '^[0-9]')
	NSKIP=$(echo "$SKIP" | wc -w)
	NRUN=$((NALL - NSKIP))
	# Tests that skip themselves do so in the client, on its own core.
	nself() { # kernel-line
		echo "$list" | while IFS="$(printf '\t')" read -r id name; do
			echo "$SKIPS" | awk -F'|' -v n="$name" -v k="$1" '$1 == k && $2 == n && $3 == "self"'
		done | wc -l
	}
	eval "NSELF$A=$(nself "$KA") NSELF$B=$(nself "$KB")"
	[ "$NRUN" -gt 0 ] || fail "vsock_test-$v --list names no test to run"
	eval "echo \"vsock_test-$v: $NALL tests, $NRUN to run (\$NSELF$A skip themselves with guest$A as client, \$NSELF$B with guest$B), skipped:\""
	skipped=" $SKIP "
	echo "$list" | while IFS="$(printf '\t')" read -r id name; do
		r=$(echo "$MYSKIPS" | awk -F'|' -v n="$name" '$2 == n { print $3 ": " $4 }')
		case $r:$skipped in
		self:*|*" --skip=$id "*) echo "  $id $name ($r)" ;;
		esac
	done
	run_suite "$v" "$A" "$B" "$port"
	# The baseline: the pair's control session is up now (its page is
	# the lower domid's one grant), and every test socket is closed.
	if [ -z "$baseA" ]; then
		baseA=$(guest "$A" yasmin-stat grants)
		baseB=$(guest "$B" yasmin-stat grants)
		echo "baseline grants: guest$A $baseA, guest$B $baseB"
	fi
	run_suite "$v" "$B" "$A" $((port + 1))
	port=$((port + 2))
done

step "vsock_diag_test (what ss --vsock relies on) sees yasmin's sockets, guest$A serving"
for n in "$A" "$B"; do
	guest "$n" 'while read -r ko; do grep -q "^$(basename "$ko" | sed "s,\\.ko.*,," | tr - _) " /proc/modules || insmod "$ko" || exit 1; done < /etc/modules.ondemand/vsock_diag'
done
v=$(echo "$KA" | grep -qx 6.12 && echo 6.12 || echo 6.1)
dlist=$(guest "$A" "vsock_diag_test-$v --list; true")
NRUN=$(echo "$dlist" | grep -c '^[0-9]')
[ "$NRUN" -gt 0 ] || fail "vsock_diag_test-$v --list names no test"
guest "$A" "vsock_diag_test-$v --mode=server --control-port=$port --peer-cid=$BCID > /tmp/vd.log 2>&1 &"
wait_listen "$A" "$port"
out=$(guest "$B" -t 300 "vsock_diag_test-$v --mode=client --control-host=$AIP --control-port=$port --peer-cid=$ACID 2>&1") ||
	{ echo "$out"; guest "$A" 'cat /tmp/vd.log'; fail "vsock_diag_test-$v client failed"; }
echo "$out"
wait_log "$A" /tmp/vd.log "All tests have been executed" 60
srv=$(guest "$A" 'cat /tmp/vd.log')
echo "$srv"
assert_eq "$(echo "$out" | passed)" "$NRUN" "vsock_diag_test-$v tests passed (client)"
assert_eq "$(echo "$srv" | passed)" "$NRUN" "vsock_diag_test-$v tests passed (server)"
for n in "$A" "$B"; do
	guest "$n" 'rmmod vsock_diag'
done
port=$((port + 1))

# What the core prevents does not depend on the guest type: PV runs it,
# on a pair of one kernel line (a mixed pair skips what either core
# prevents, and which end's core a test meets varies).
core=$(echo "$MYSKIPS" | awk -F'|' '$3 == "core" { print $2 }')
if [ -n "$core" ] && [ "$TYPE" = pv ] && [ "$KA" = "$KB" ]; then
	step "each test the $KA core prevents fails the same way over the kernel's virtio transport (vsock_loopback)"
	guest "$A" 'while read -r ko; do grep -q "^$(basename "$ko" | sed "s,\\.ko.*,," | tr - _) " /proc/modules || insmod "$ko" || exit 1; done < /etc/modules.ondemand/vsock_loopback'
	list_all=$(guest "$A" "vsock_test-6.12 --list; true")
	OWN_SUITE=no
	# fd 3: the guest calls in the loop read their standard input
	while read -r name <&3; do
		port=$((port + 1))
		run_one 6.12 "$name" "$A" "$B" "$ACID" "$BCID" "$AIP" "$port"
		[ "$ONE_OK" = no ] ||
			fail "'$name' passed over yasmin: it is not the core that prevents it; remove its skip"
		y=$ONE_ERR
		port=$((port + 1))
		run_one 6.12 "$name" "$A" "$A" 1 1 127.0.0.1 "$port"
		[ "$ONE_OK" = no ] ||
			fail "'$name' passed over virtio (vsock_loopback) on $KA: yasmin must pass it too"
		echo "'$name': over yasmin: $y"
		echo "'$name': over virtio: $ONE_ERR"
		[ -n "$y" ] || fail "'$name': no failure message over yasmin"
		assert_eq "$y" "$ONE_ERR" "'$name' fails the same over yasmin and virtio"
	done 3<<EOT
$core
EOT
	guest "$A" 'rmmod vsock_loopback vmw_vsock_virtio_transport_common'
fi

step "no socket left behind, grants back at baseline (guest$A, guest$B)"
assert_eq "$(guest "$A" yasmin-stat sockets)" 0 "guest$A sockets"
assert_eq "$(guest "$B" yasmin-stat sockets)" 0 "guest$B sockets"
i=0
while [ "$(guest "$A" yasmin-stat grants)" != "$baseA" ] || [ "$(guest "$B" yasmin-stat grants)" != "$baseB" ]; do
	i=$((i + 1))
	[ $i -le 20 ] || break
	sleep 0.1
done
assert_eq "$(guest "$A" yasmin-stat grants)" "$baseA" "guest$A grants"
assert_eq "$(guest "$B" yasmin-stat grants)" "$baseB" "guest$B grants"
}

port=1300
conform 1 2
[ "${NGUESTS:-2}" -lt 3 ] || conform 1 3
