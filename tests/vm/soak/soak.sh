# soak: SOAK_MINUTES (default 30) of mixed traffic and churn between guest1
# and guest2, then both guests' sockets, grants, maps and event channels
# back at the baseline taken before, within 2 s. Each round streams
# verified bulk data one way and a non-blocking mode the other way while
# connections are opened and ended every way yasmin-churn knows, in both
# directions, with 200 held at once on 4 KiB rings. A round that fails
# ends the soak: a transport that failed once is not soaking any more.
# Not in tests/vm/scenarios/ so that --all (make check) never runs it;
# 'make soak' (tests/vm/soak/run) does.
: "${SOAK_MINUTES:=30}"
PORT=5800
NBIO_MODES="et sendfile splice partial keepalive lt poll"

counters() {
	guest "$1" 'for c in sockets grants maps evtchns; do read v < /sys/module/yasmin/counters/$c; printf "%s=%s " $c $v; done'
}
slab() {
	guest "$1" "grep -E '^(Slab|SUnreclaim):' /proc/meminfo | tr -s ' ' | tr '\n' ' '"
}
show() {
	echo "$1: guest1 $(counters 1)| $(slab 1)"
	echo "$1: guest2 $(counters 2)| $(slab 2)"
}
# must N CMD: run CMD in guest N; on failure print its output and fail.
must() {
	_o=$(guest "$1" "$2") || { echo "$_o"; fail "round $round: guest$1: $2: $(echo "$_o" | tail -n 1)"; }
	echo "$_o" | grep -E '^(OK|closed)' | sed "s/^/round $round g$1: /"
}

step "servers on both guests; baseline after one transfer each way"
for n in 1 2; do
	guest $n "yasmin-xfer -s -p $PORT > /tmp/soak-x.log 2>&1 &"
	guest $n "yasmin-nbio -s -p $((PORT + 1)) > /tmp/soak-n.log 2>&1 &"
	guest $n "yasmin-churn -s -p $((PORT + 2)) > /tmp/soak-c.log 2>&1 &"
	wait_log $n /tmp/soak-x.log 'listening on port'
	wait_log $n /tmp/soak-n.log 'listening on port'
	wait_log $n /tmp/soak-c.log 'listening on port'
done
g1 "yasmin-xfer -c $G2_CID -p $PORT -n 1M -d"
g2 "yasmin-xfer -c $G1_CID -p $PORT -n 1M -d"
# Sockets still closing would make a baseline no idle host returns to.
for n in 1 2; do
	guest $n 'i=0; until [ "$(cat /sys/module/yasmin/counters/sockets)" = 0 ]; do i=$((i + 1)); [ $i -le 150 ] || exit 1; sleep 0.1; done' ||
		fail "guest$n: sockets still open 15 s after the first transfers"
done
base1=$(counters 1)
base2=$(counters 2)
show "baseline"

start=$(date +%s)
end=$((start + SOAK_MINUTES * 60))
round=0
set -- $NBIO_MODES
while [ "$(date +%s)" -lt "$end" ]; do
	round=$((round + 1))
	a=$((round % 2 + 1)) b=$(((round + 1) % 2 + 1))	# alternate who connects
	eval "ca=\$G${a}_CID cb=\$G${b}_CID"
	mode=$1
	shift
	set -- "$@" "$mode"
	step "round $round ($(( ($(date +%s) - start) / 60 )) of $SOAK_MINUTES min): bulk g$a->g$b and nbio $mode g$b->g$a under churn"
	guest $a "(yasmin-xfer -c $cb -p $PORT -n 256M -d -S 30 -t 600; echo rc=\$?) > /tmp/soak-bulk.log 2>&1 &"
	guest $b "(yasmin-nbio -c $ca -p $((PORT + 1)) -m $mode -n 64M -d -k 500 -t 600; echo rc=\$?) > /tmp/soak-nbio.log 2>&1 &"
	for m in unread reset-mid shutdown-close both-close; do
		must $a "yasmin-churn -c $cb -p $((PORT + 2)) -m $m -n 100 -j 2"
		must $b "yasmin-churn -c $ca -p $((PORT + 2)) -m $m -n 100 -j 2"
	done
	must $a "yasmin-churn -c $cb -p $((PORT + 2)) -m concurrent -n 200 -B 4K -b 16K"
	guest $a 'i=0; until grep -q ^rc= /tmp/soak-bulk.log; do i=$((i + 1)); [ $i -le 3000 ] || exit 1; sleep 0.2; done' ||
		fail "round $round: bulk g$a->g$b did not end in 600 s"
	guest $b 'i=0; until grep -q ^rc= /tmp/soak-nbio.log; do i=$((i + 1)); [ $i -le 3000 ] || exit 1; sleep 0.2; done' ||
		fail "round $round: nbio $mode g$b->g$a did not end in 600 s"
	for x in "$a /tmp/soak-bulk.log" "$b /tmp/soak-nbio.log"; do
		o=$(guest ${x% *} "cat ${x#* }")
		echo "$o" | grep -E '^(OK|FAIL) (conns|mode)' | sed "s/^/round $round g${x% *}: /"
		echo "$o" | grep -q '^rc=0' || fail "round $round: guest${x% *}: $(echo "$o" | grep -E '^FAIL' | tail -n 1)"
	done
	for n in 1 2; do
		f=$(guest $n 'cat /tmp/soak-x.log /tmp/soak-n.log /tmp/soak-c.log | grep -c ^FAIL; true')
		[ "$f" = 0 ] || fail "round $round: guest$n's servers: $(guest $n 'grep -h ^FAIL /tmp/soak-*.log | head -n 3')"
	done
	echo "round $round: guest1 $(counters 1)| guest2 $(counters 2)"
done
echo "$round rounds in $(( ($(date +%s) - start) / 60 )) min"

step "after the soak: both guests back at baseline (polled for about 2 s)"
ok=
i=0
while [ $i -lt 10 ]; do
	n1=$(counters 1) n2=$(counters 2)
	[ "$n1" = "$base1" ] && [ "$n2" = "$base2" ] && { ok=1; break; }
	i=$((i + 1))
	sleep 0.2
done
show "after"
[ -n "$ok" ] || fail "not back at baseline: guest1 $n1(baseline $base1); guest2 $n2(baseline $base2)"
for n in 1 2; do
	guest $n 'killall yasmin-xfer yasmin-nbio yasmin-churn 2>/dev/null; sleep 0.5; true'
	assert_eq "$(guest $n 'cat /sys/module/yasmin/counters/sockets')" 0 "guest$n sockets"
done
