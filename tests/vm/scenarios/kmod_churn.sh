# kmod_churn: 2,000 connections ended every way a connection ends (close
# mid-transfer from either end, shutdown then close, both ends closing at
# once, read part and close with the rest unread, connect to a guest
# without yasmin.ko), and 1,000 connections open at once on 4 KiB rings,
# each moving verified data. After each phase the sockets, grants, maps and
# event channels of both guests must be back where they were before it
# within 2 s of the connection's last close (the server's own, and the
# later of the two for the client, whose pages the server may still map),
# and at the end where they were at
# the start; leaked grants (issue 9: "517 -> 5,419 after 60 unread
# closes") fail here. Every phase runs even after a failure, so one run
# names every leak, and unread runs late because a leak there empties the
# grant table (ENOBUFS) for whatever follows.
#
# On PVH guests (make check's second run of it, on the other kernel line)
# every phase but the concurrent one runs half as many connections: the
# ends of a connection are the same code on both types, and what PVH
# changes (grant maps through the p2m, events through the callback vector)
# 250 connections a phase exercise as well as 500, in half the time.
h=1
[ "$TYPE" = pvh ] && h=2
N_UNREAD=${CHURN_UNREAD:-$((500 / h))}
N_RESET=${CHURN_RESET:-$((500 / h))}
N_SHUT=${CHURN_SHUTDOWN:-$((400 / h))}
N_BOTH=${CHURN_BOTH:-$((400 / h))}
N_TIMEOUT=${CHURN_TIMEOUT:-$((200 / h))}
N_CONC=${CHURN_CONCURRENT:-1000}
CONC_BYTES=${CHURN_CONCURRENT_BYTES:-32K}
PORT=5700

counters() { # N -> "sockets=.. grants=.. maps=.. evtchns=.. "
	guest "$1" 'for c in sockets grants maps evtchns; do read v < /sys/module/yasmin/counters/$c; printf "%s=%s " $c $v; done'
}
slab() { # N -> "Slab: .. kB SUnreclaim: .. kB"
	guest "$1" "grep -E '^(Slab|SUnreclaim):' /proc/meminfo | tr -s ' ' | tr '\n' ' '"
}
show() { # LABEL
	echo "$1: guest1 $(counters 1)| $(slab 1)"
	echo "$1: guest2 $(counters 2)| $(slab 2)"
}

bad=
note() { bad="$bad
  $*"; echo "PROBLEM: $*"; }

# Timing "back at baseline within 2 s of the last close" needs a poll that
# is already running at that close: a guest command started afterwards
# comes seconds late under TCG. So each guest runs a poller (every 0.1 s,
# in /proc/uptime's centiseconds) from before a phase until after it,
# keeping in /tmp/settle.state whether the counters are at BASELINE and
# when they last came back to it.
poll_start() { # N BASELINE
	guest "$1" "rm -f /tmp/settle-stop /tmp/settle.state; (
st=base back=0
while [ ! -e /tmp/settle-stop ]; do
	cur=; for c in sockets grants maps evtchns; do read v < /sys/module/yasmin/counters/\$c; cur=\"\$cur\$c=\$v \"; done
	read up x < /proc/uptime; t=\$((\${up%.*} * 100 + 1\${up#*.} - 100))
	if [ \"\$cur\" = '$2' ]; then [ \$st = off ] && back=\$t; st=base; else st=off; fi
	echo \"\$st \$back \$t \$cur\" > /tmp/settle.state
	sleep 0.1
done) > /dev/null 2>&1 &"
}

# poll_stop N FROM [NOT_BEFORE]: FROM is "client FILE" (the client's
# "closed ... at uptime=" line in FILE) or "server" (the churn server's last
# close). NOT_BEFORE (centiseconds of guest N's uptime) moves the start
# later. Waits until the poller has seen the baseline at or after the
# start, or 2.1 s after it, stops the poller (the baseline must then hold
# another 0.5 s) and prints "settled
# ms=.." (0: no counter moved after the close) or "unsettled ...", then
# "close-cs=" and the start used; exit 1 when unsettled.
poll_stop() {
	guest "$1" "
cs() { echo \$((\${1%.*} * 100 + 1\$(echo \${1#*.} | cut -c1-2) - 100)); }
if [ '$2' = server ]; then
	# A fresh SERVER line once it has closed every connection (a busy
	# server answers late: an old line carries an old last-close).
	i=0
	while :; do
		n0=\$(grep -c '^SERVER ' /tmp/churn-s.log)
		kill -USR1 \$(cat /tmp/churn-s.pid)
		j=0
		while [ \$(grep -c '^SERVER ' /tmp/churn-s.log) -le \$n0 ] && [ \$j -lt 100 ]; do sleep 0.05; j=\$((j + 1)); done
		grep '^SERVER ' /tmp/churn-s.log | tail -n 1 | grep -q ' open=0 ' && break
		i=\$((i + 1)); [ \$i -lt 50 ] || break
		sleep 0.2
	done
	u=\$(sed -n 's/^SERVER .*last-close=\([0-9.]*\).*/\1/p' /tmp/churn-s.log | tail -n 1)
else
	u=\$(sed -n 's/^closed .* at uptime=\([0-9.]*\).*/\1/p' ${2#client } | tail -n 1)
fi
[ -n \"\$u\" ] || { echo 'unsettled: no last close recorded'; touch /tmp/settle-stop; exit 1; }
from=\$(cs \$u)
[ -n '${3:-}' ] && [ '${3:-0}' -gt \$from ] && from=${3:-0}
while :; do
	read up x < /proc/uptime; [ \$(cs \$up) -ge \$((from + 210)) ] && break
	st=; read st back t cur < /tmp/settle.state; [ \"\$st\" = base ] && [ \"\$t\" -ge \$from ] && break
	sleep 0.05
done
touch /tmp/settle-stop; sleep 0.5
read st back t cur < /tmp/settle.state
if [ \$st = base ]; then
	ms=\$(( (back - from) * 10 )); [ \$ms -ge 0 ] || ms=0
	echo \"settled ms=\$ms after the last close close-cs=\$from\"; [ \$ms -le 2000 ]
else
	echo \"unsettled \$(( (t - from) * 10 )) ms after the last close: \$cur close-cs=\$from\"; exit 1
fi"
}

# uptime_cs N: guest N's uptime in centiseconds.
uptime_cs() {
	guest "$1" 'read up x < /proc/uptime; echo $((${up%.*} * 100 + 1$(echo ${up#*.} | cut -c1-2) - 100))'
}

# phase: before a phase, note both guests' counters and start their
# pollers; phase_end LABEL CLIENT_GUEST checks them.
phase() {
	pre1=$(counters 1) pre2=$(counters 2)
	poll_start 1 "$pre1"
	poll_start 2 "$pre2"
}
phase_end() { # LABEL CLIENT_GUEST
	o=$([ "$2" = 1 ] && echo 2 || echo 1)
	rc=0
	s=$(poll_stop "$o" server) || rc=$?
	echo "$1: guest$o (server) $s"
	[ "$rc" = 0 ] || note "$1: guest$o not back at its counters of before within 2 s: $s(before: $([ "$o" = 1 ] && echo "$pre1" || echo "$pre2"))"
	# A connection ends when both ends have closed: the client's pages
	# stay granted while the server still maps them (it may be reading
	# what was sent last), so the client's 2 s count from the later of
	# its own last close and the server's. The server's close is moved
	# onto the client's clock by the difference of their uptimes, the
	# client's read first: the error makes the bound stricter, not looser.
	nb=
	sc=$(echo "$s" | sed -n 's/.*close-cs=\([0-9]*\).*/\1/p')
	if [ -n "$sc" ]; then
		u1=$(uptime_cs "$2")
		u2=$(uptime_cs "$o")
		nb=$((sc + u1 - u2))
	fi
	rc=0
	s=$(poll_stop "$2" "client /tmp/churn-c.log" $nb) || rc=$?
	echo "$1: guest$2 (client) $s"
	[ "$rc" = 0 ] || note "$1: guest$2 not back at its counters of before within 2 s: $s(before: $([ "$2" = 1 ] && echo "$pre1" || echo "$pre2"))"
}

# churn FROM TO MODE COUNT [ARGS]: one yasmin-churn client run as a phase.
churn() {
	eval "cid=\$G$2_CID"
	phase
	rc=0
	guest "$1" "yasmin-churn -c $cid -p $PORT -m $3 -n $4 ${5:-} > /tmp/churn-c.log 2>&1" || rc=$?
	out=$(guest "$1" 'cat /tmp/churn-c.log')
	echo "$out" | grep -v '^FAIL conn=' | sed "s/^/$3 g$1->g$2: /"
	echo "$out" | grep '^FAIL conn=' | head -n 3 | sed "s/^/$3 g$1->g$2: /"
	[ "$rc" = 0 ] || note "$3 g$1->g$2 exit $rc: $(echo "$out" | tail -n 1)"
	phase_end "$3 g$1->g$2" "$1"
}

server_start() { # N
	guest "$1" "yasmin-churn -s -p $PORT >> /tmp/churn-s.log 2>&1 & echo \$! > /tmp/churn-s.pid"
	wait_log "$1" /tmp/churn-s.log 'listening on port'
}

# Budgets that would refuse the concurrent phase before the guest runs
# out of anything (max_peer_conns, max_evtchns, where the module has them)
# are raised for this scenario by loading yasmin.ko again in both guests;
# the end of the scenario loads it with its defaults. vmctl gives guests
# 4,096 event channels, so 1,000 sockets fit. Accepted connections may
# take three quarters of max_evtchns, so that one is raised further.
MODARGS=
for prm in max_peer_conns max_evtchns; do
	want=$((N_CONC + 64))
	[ $prm = max_evtchns ] && want=$(( want * 4 / 3 + 1 ))
	v=$(g1 "cat /sys/module/yasmin/parameters/$prm 2>/dev/null; true")
	if [ -n "$v" ] && [ "$v" -lt $want ]; then
		MODARGS="$MODARGS $prm=$want"
	fi
done
step "idle guests; yasmin.ko loaded again in both${MODARGS:+ with$MODARGS}"
for n in 1 2; do
	guest $n 'i=0; until [ "$(cat /sys/module/yasmin/counters/sockets)" = 0 ]; do i=$((i + 1)); [ $i -le 150 ] || exit 1; sleep 0.1; done' ||
		note "guest$n: $(guest $n 'cat /sys/module/yasmin/counters/sockets') sockets still open 15 s into the scenario"
done
for n in 1 2; do
	if ! guest $n 'rmmod yasmin'; then
		note "guest$n: rmmod yasmin refused with $(guest $n 'cat /sys/module/yasmin/counters/sockets') sockets counted: budgets not raised"
		MODARGS=
	fi
	guest $n 'grep -q "^yasmin " /proc/modules' || guest $n "insmod /opt/yasmin/yasmin.ko$MODARGS" ||
		fail "guest$n: yasmin.ko could not be loaded again ($(guest $n 'dmesg | grep yasmin | tail -n 2'))"
done

step "churn servers on both guests; one verified transfer each way sets up the control channel"
server_start 1
server_start 2
g1 'yasmin-xfer -s -p 5701 > /tmp/churn-x.log 2>&1 &'
g2 'yasmin-xfer -s -p 5701 > /tmp/churn-x.log 2>&1 &'
wait_log 1 /tmp/churn-x.log 'listening on port'
wait_log 2 /tmp/churn-x.log 'listening on port'
g1 "yasmin-xfer -c $G2_CID -p 5701 -n 1M -d"
g2 "yasmin-xfer -c $G1_CID -p 5701 -n 1M -d"
# Sockets of earlier scenarios may still be closing; a baseline taken
# then would be higher than what this scenario can return to.
for n in 1 2; do
	guest $n 'i=0; until [ "$(cat /sys/module/yasmin/counters/sockets)" = 0 ]; do i=$((i + 1)); [ $i -le 150 ] || exit 1; sleep 0.1; done' ||
		note "guest$n: $(guest $n 'cat /sys/module/yasmin/counters/sockets') sockets still open 15 s after the last transfer, before any churn"
done
base1=$(counters 1)
base2=$(counters 2)
show "baseline"

t_all=$(date +%s)
for spec in "reset-mid $N_RESET" "shutdown-close $N_SHUT" "both-close $N_BOTH"; do
	m=${spec% *} n=${spec#* }
	step "$m: $n connections, half from each guest"
	t0=$(date +%s)
	churn 1 2 "$m" $((n / 2)) "-j 2"
	churn 2 1 "$m" $((n - n / 2)) "-j 2"
	echo "$m: $n connections in $(( $(date +%s) - t0 )) s"
done

step "concurrent: $N_CONC connections from guest1 open at once on 4 KiB rings, $CONC_BYTES each way on each"
t0=$(date +%s)
phase
g1 "yasmin-churn -c $G2_CID -p $PORT -m concurrent -n $N_CONC -B 4K -b $CONC_BYTES -H 300 > /tmp/churn-c.log 2>&1 & echo \$! > /tmp/churn-conc.pid"
# Not wait_log: a client that never gets there is one failure among the
# phases, and the closing and counting below still have something to say.
g1 'i=0; until grep -Eq "^(holding |OK mode|FAIL mode)" /tmp/churn-c.log; do i=$((i + 1)); [ $i -le 1200 ] || exit 1; sleep 0.2; done' ||
	note "concurrent: not all $N_CONC connections up and verified within 240 s"
g1 'grep -v "^FAIL conn=" /tmp/churn-c.log; grep "^FAIL conn=" /tmp/churn-c.log | head -n 5'
echo "concurrent: connected and moved in $(( $(date +%s) - t0 )) s"
show "peak (connections held)"
g1 'kill -USR1 $(cat /tmp/churn-conc.pid) 2>/dev/null; i=0; until grep -Eq "^(OK|FAIL) mode=" /tmp/churn-c.log; do i=$((i + 1)); [ $i -le 600 ] || exit 1; sleep 0.05; done' ||
	note "concurrent: the client did not finish within 30 s of its release"
out=$(g1 'cat /tmp/churn-c.log')
echo "$out" | grep -E '^(closed|OK|FAIL mode)' | sed 's/^/concurrent g1->g2: /'
echo "$out" | grep -q '^OK mode=concurrent' || note "concurrent g1->g2: $(echo "$out" | grep -E '^FAIL mode=' | tail -n 1)"
phase_end "concurrent g1->g2" 1

step "unread: $N_UNREAD connections, half from each guest, each reading 64 KiB of 4 MiB"
t0=$(date +%s)
churn 1 2 unread $((N_UNREAD / 2)) "-j 2"
churn 2 1 unread $((N_UNREAD - N_UNREAD / 2)) "-j 2"
echo "unread: $N_UNREAD connections in $(( $(date +%s) - t0 )) s"
show "after unread"

step "connect-timeout: $N_TIMEOUT connects from guest1 to guest2 with yasmin.ko unloaded there"
g2 'kill $(cat /tmp/churn-s.pid); killall yasmin-xfer 2>/dev/null; sleep 0.5; true'
if g2 'rmmod yasmin'; then
	pre1=$(counters 1)
	t0=$(date +%s)
	rc=0
	out=$(g1 "yasmin-churn -c $G2_CID -p $PORT -m connect-timeout -n $N_TIMEOUT -T 0.3 -j 8") || rc=$?
	echo "$out" | grep -v '^FAIL conn=' | sed 's/^/connect-timeout g1->g2: /'
	echo "$out" | grep '^FAIL conn=' | head -n 3 | sed 's/^/connect-timeout g1->g2: /'
	[ "$rc" = 0 ] || note "connect-timeout g1->g2 exit $rc: $(echo "$out" | tail -n 1)"
	echo "connect-timeout: $N_TIMEOUT connects in $(( $(date +%s) - t0 )) s"
	sleep 2
	now1=$(counters 1)
	echo "guest1 2 s after the last connect-timeout, guest2's module gone: $now1(before: $pre1)"
	# The control channel to the unloaded peer may go, nothing else.
	for c in sockets grants maps evtchns; do
		b=$(echo "$pre1" | sed -n "s/.*$c=\([0-9]*\).*/\1/p")
		v=$(echo "$now1" | sed -n "s/.*$c=\([0-9]*\).*/\1/p")
		[ "$v" -le "$b" ] || note "connect-timeout: guest1 $c $v 2 s after, $b before"
	done
	g2 "insmod /opt/yasmin/yasmin.ko$MODARGS"
else
	note "rmmod yasmin refused on guest2 with $(g2 'cat /sys/module/yasmin/counters/sockets') sockets: connect-timeout not run"
fi
server_start 2
g2 'yasmin-xfer -s -p 5701 > /tmp/churn-x2.log 2>&1 &'
wait_log 2 /tmp/churn-x2.log 'listening on port'

step "guest2's yasmin.ko again: verified transfers both ways"
for d in "1 $G2_CID" "2 $G1_CID"; do
	rc=0
	out=$(guest ${d% *} "yasmin-xfer -c ${d#* } -p 5701 -n 1M -d -t 60") || rc=$?
	echo "after the reload, from guest${d% *}: $out"
	[ "$rc" = 0 ] || note "from guest${d% *} after guest2's reload: exit $rc: $(echo "$out" | tail -n 1)"
done
echo "all phases took $(( $(date +%s) - t_all )) s"

step "servers: no unexpected outcome"
for n in 1 2; do
	guest $n "kill -USR1 \$(cat /tmp/churn-s.pid); sleep 0.3; grep ^SERVER /tmp/churn-s.log | tail -n 1" || true
	f=$(guest $n 'grep -c ^FAIL /tmp/churn-s.log; true')
	[ "$f" = 0 ] || note "guest$n's server: $f unexpected outcomes: $(guest $n 'grep ^FAIL /tmp/churn-s.log | head -n 3')"
done

step "after: both guests at their baseline (guest2's counters restart at its reload), no socket left"
g1 'kill $(cat /tmp/churn-s.pid); killall yasmin-xfer 2>/dev/null; sleep 0.5; true'
g2 'kill $(cat /tmp/churn-s.pid); killall yasmin-xfer 2>/dev/null; sleep 0.5; true'
show "after"
now1=$(counters 1)
[ "$now1" = "$base1" ] || note "guest1 at the end: $now1(baseline $base1)"
# guest2's counters restarted at its reload: it may hold less than at the
# baseline (what earlier scenarios left), never more.
now2=$(counters 2)
for c in sockets grants maps evtchns; do
	b=$(echo "$base2" | sed -n "s/.*$c=\([0-9]*\).*/\1/p")
	v=$(echo "$now2" | sed -n "s/.*$c=\([0-9]*\).*/\1/p")
	[ "$v" -le "$b" ] || note "guest2 at the end (reloaded): $c $v, baseline $b"
done
# Pages a peer still mapped at close linger until it lets go; at the end
# nothing may linger, be abandoned or leak (counters of newer modules).
for n in 1 2; do
	x=$(guest $n 'for c in grants_lingering grants_abandoned maps_leaked; do [ -f /sys/module/yasmin/counters/$c ] && printf "%s=%s " $c $(cat /sys/module/yasmin/counters/$c); done; true')
	echo "guest$n: ${x:-no lingering/abandoned/leaked counters}"
	if echo "$x" | grep -Eq '=[1-9]'; then note "guest$n at the end: $x"; fi
done
for n in 1 2; do
	guest $n 'rmmod yasmin && insmod /opt/yasmin/yasmin.ko' || note "guest$n: yasmin.ko did not unload and load again with its defaults"
done
[ -z "$bad" ] || fail "churn left resources behind or failed:$bad"
