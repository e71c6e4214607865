# guests: 3
# pvh: no. The victim only grants here (the attacker maps and keeps its
# pages); granting and lingering are the same for PV and PVH victims.
# kmod_hostile_pin: guest2 (yasmin-hostile, no yasmin.ko) accepts every
# connection guest1 makes to it, takes all the pages offered, and never
# unmaps them, not even after guest1 closes. Those pages stay granted in
# guest1 (they linger): guest1 must stop connecting to guest2 once guest2
# pins max_peer_lingering pages (ENOBUFS, logged), so that guest2 cannot
# use up the grants guest1's other peers need; guest3's transfers go on,
# and a new connection to guest3 still fits. Then guest1 holds as many
# connections to guest2 at once as it may (max_peer_grants) and closes
# them all: guest2 pins all of those, and the sixteenth of max_grants kept
# for other peers still carries guest1's connections to guest3. When the
# attacker exits, every page comes back.
. /harness/scenarios/hostile.inc
hostile_setup

cap=$(g1 'cat /sys/module/yasmin/parameters/max_peer_lingering')
max_grants=$(g1 'cat /sys/module/yasmin/parameters/max_grants')
max_peer=$(g1 'cat /sys/module/yasmin/parameters/max_peer_grants')
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering before the attack"
ring_kb=$(g1 'cat /sys/module/yasmin/parameters/ring_kb')
# 2 interface pages and two rings of ring_kb each
per_conn=$(( 2 + 2 * ring_kb / 4 ))
echo "guest1: max_peer_lingering=$cap pages, $per_conn pages per connection"

step "guest2 pins what guest1 offers; guest1 connects to it 20 times, each closing at once"
hostile_run -t 120 -n 1000 -H 60 pin
sleep 2
g1 "i=0; while [ \$i -lt 20 ]; do timeout 10 socat -u /dev/zero,readbytes=4096 VSOCK-CONNECT:$G2_CID:7300 2>&1 | grep -o 'No buffer space available' | head -n 1 || true; echo done; i=\$((i + 1)); done > /tmp/pin.log 2>&1"
refused=$(g1 'grep -c "No buffer space" /tmp/pin.log')
ran=$(g1 'grep -c "^done" /tmp/pin.log')
lingering=$(g1 yasmin-stat grants_lingering)
echo "guest1: $ran connects, $refused refused for ENOBUFS; $lingering pages lingering"
assert_eq "$ran" 20 "connects run"
[ "$refused" -ge 1 ] || fail "guest1 never stopped connecting to guest2, which pins $lingering pages"
[ "$refused" -lt 20 ] || fail "guest2 was refused every connection, even the first"
[ "$lingering" -ge "$cap" ] || fail "refused with $lingering pages lingering, below max_peer_lingering=$cap"
[ "$lingering" -le $((cap + per_conn)) ] ||
	fail "$lingering pages lingering, more than max_peer_lingering=$cap plus one connection"
assert_grep "max_peer_lingering=$cap; refused" "$(g1 'dmesg | tail -n 40')"

step "guest1 still reaches guest3 while guest2 pins: a verified 16 MiB, and 8 connections at once"
g3 'yasmin-xfer -s -p 7400 > /tmp/pin-s.log 2>&1 & echo $! > /tmp/pin-s.pid'
wait_log 3 /tmp/pin-s.log 'listening on port'
g1 "yasmin-xfer -c $G3_CID -p 7400 -n 16M"
g1 "yasmin-xfer -c $G3_CID -p 7400 -n 8M -P 8"
# only this server: guest3's honest loop keeps running
g3 'kill $(cat /tmp/pin-s.pid); true'

# A peer busy with many streams may take a while to unmap what we let go:
# a connect waits for it, up to its connect timeout, and is not refused
# at once (before, it waited 100 ms and failed with ENOBUFS under load).
step "guest1 connects while guest2 still pins; guest2 lets go 3 s later: the connect waited, and was not refused"
g1 "(echo start=\$(cut -d' ' -f1 /proc/uptime); yasmin-xfer -c $G2_CID -p 7302 -n 1M -T 6; echo rc=\$? end=\$(cut -d' ' -f1 /proc/uptime)) > /tmp/pin-wait.log 2>&1 &"
sleep 3
hostile_kill
wait_log 1 /tmp/pin-wait.log '^rc=' 45
out=$(g1 'cat /tmp/pin-wait.log')
echo "$out"
waited=$(echo "$out" | awk '/^start=/ { sub("start=", ""); s = $0 } /^rc=/ { sub(".*end=", ""); printf "%d", ($0 - s) * 1000 }')
! echo "$out" | grep -q ENOBUFS || fail "the connect was refused while guest2 was about to let go"
[ "$waited" -ge 2500 ] || fail "the connect ended after $waited ms, before guest2 let go"

step "guest2 lets go; then guest1 holds all it may to guest2 at once, 120 connections, and closes them"
hostile_kill
g1 'i=0; until [ "$(yasmin-stat grants_lingering)" = 0 ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done'
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering once guest2 let go"
hostile_run -t 600 -n 100000 -H 600 pin
sleep 2
# one at a time (the attacker maps each in user space): each connect is
# held, or refused, before the next starts; all are held a second, then
# closed. One process, not 120 socats polled by a shell loop.
out=$(g1 -t 900 "yasmin-churn -c $G2_CID -p 7301 -m hold -n 120 -H 1") ||
	{ echo "$out"; fail "yasmin-churn -m hold failed"; }
echo "$out"
held=$(echo "$out" | awk '/^holding/ { print $2 }')
refused=$(echo "$out" | awk '/^holding/ { print $4 }')
echo "guest1: $held connections held to guest2, $refused refused for ENOBUFS"
[ $((held + refused)) = 120 ] || fail "$held held and $refused refused of 120"
[ "$refused" -ge 1 ] || fail "all 120 connections fit, past max_peer_grants=$max_peer"
[ $(( held * per_conn )) -le "$max_peer" ] || fail "$held connections of $per_conn pages passed max_peer_grants=$max_peer"
sleep 2
lingering=$(g1 yasmin-stat grants_lingering)
echo "guest1: all closed, $lingering pages pinned by guest2 (max_peer_grants=$max_peer, max_grants=$max_grants)"
[ "$lingering" -ge $(( (held - 1) * per_conn )) ] || fail "guest2 was to pin what it accepted, $held connections; $lingering pages linger"

step "guest2 pins all it got: guest1 reaches guest3 on what is kept for other peers"
g3 'yasmin-xfer -s -p 7401 > /tmp/pin-s2.log 2>&1 & echo $! > /tmp/pin-s2.pid'
wait_log 3 /tmp/pin-s2.log 'listening on port'
g1 "yasmin-xfer -c $G3_CID -p 7401 -n 8M -P 4"
g3 'kill $(cat /tmp/pin-s2.pid); true'
rc=0
out=$(g1 "socat -u /dev/zero,readbytes=4096 VSOCK-CONNECT:$G2_CID:7300 2>&1") || rc=$?
echo "guest1 -> guest2 while it pins: rc=$rc $out"
assert_grep "No buffer space available" "$out"

step "the attacker exits: every pinned page comes back"
hostile_kill
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check
victim_bounds "$peak" "$max_grants" 600 140 65536
victim_back 5
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering"
hostile_finish
