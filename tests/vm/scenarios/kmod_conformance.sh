# kmod_conformance: the kernel's own vsock_test (tools/testing/vsock, built
# from Debian's linux-source) passes every SOCK_STREAM test with guest1 as
# server and guest2 as client, then with the roles swapped. Its control
# connection runs over netfront. SEQPACKET tests are skipped: their ids
# come from vsock_test --list, so a newer vsock_test cannot shift them.
step "vsock_test's tests: SOCK_STREAM ones run, SOCK_SEQPACKET ones skipped"
# --list exits 1 by design (it is meant to stop a run); only its output counts
list=$(g1 'vsock_test --list; true')
echo "$list"
SKIP=$(echo "$list" | awk '$2 == "SOCK_SEQPACKET" { printf "--skip=%s ", $1 }')
NSTREAM=$(echo "$list" | awk '$2 == "SOCK_STREAM"' | wc -l)
echo "skipping: $SKIP; expecting $NSTREAM SOCK_STREAM tests to pass"
[ "$NSTREAM" -gt 0 ] || fail "vsock_test --list names no SOCK_STREAM test"

conformance() { # server-guest client-guest port
	eval "sip=\$G$1_IP scid=\$G$1_CID ccid=\$G$2_CID"
	guest "$1" "vsock_test --mode=server --control-port=$3 --peer-cid=$ccid $SKIP > /tmp/vt-$3.log 2>&1 &"
	wait_listen "$1" "$3"
	out=$(guest "$2" -t 600 "vsock_test --mode=client --control-host=$sip --control-port=$3 --peer-cid=$scid $SKIP") ||
		{ echo "$out"; guest "$1" "cat /tmp/vt-$3.log"; fail "vsock_test client on guest $2 failed"; }
	echo "$out"
	wait_log "$1" "/tmp/vt-$3.log" "All tests have been executed"
	srv=$(guest "$1" "cat /tmp/vt-$3.log")
	echo "$srv"
	assert_grep "All tests have been executed" "$out"
	assert_eq "$(echo "$out" | grep -c '^[0-9]* - SOCK_STREAM.*ok$')" "$NSTREAM" "SOCK_STREAM tests passed (client)"
	assert_eq "$(echo "$srv" | grep -c '^[0-9]* - SOCK_STREAM.*ok$')" "$NSTREAM" "SOCK_STREAM tests passed (server)"
}

step "vsock_test: guest1 server, guest2 client"
conformance 1 2 1234
step "vsock_test: guest2 server, guest1 client"
conformance 2 1 1235
step "no socket left behind"
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
