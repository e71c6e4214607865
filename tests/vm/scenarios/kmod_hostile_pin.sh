# guests: 3
# kmod_hostile_pin: guest2 (yasmin-hostile, no yasmin.ko) accepts every
# connection guest1 makes to it, takes all the pages offered, and never
# unmaps them, not even after guest1 closes. Those pages stay granted in
# guest1 (they linger): guest1 must stop connecting to guest2 once guest2
# pins max_peer_lingering pages (ENOBUFS, logged), so that guest2 cannot
# use up the grants guest1's other peers need; guest3's transfers go on,
# and a new connection to guest3 still fits. When the attacker exits,
# every page comes back.
. /harness/scenarios/hostile.inc
hostile_setup

cap=$(g1 'cat /sys/module/yasmin/parameters/max_peer_lingering')
ring_kb=$(g1 'cat /sys/module/yasmin/parameters/ring_kb')
# 2 interface pages and two rings of ring_kb each
per_conn=$(( 2 + 2 * ring_kb / 4 ))
echo "guest1: max_peer_lingering=$cap pages, $per_conn pages per connection"

step "guest2 pins what guest1 offers; guest1 connects to it 30 times, each closing at once"
hostile_run -t 120 -n 1000 -H 60 pin
sleep 2
g1 "i=0; while [ \$i -lt 30 ]; do timeout 10 socat -u /dev/zero,readbytes=4096 VSOCK-CONNECT:$G2_CID:7300 2>&1 | grep -o 'No buffer space available' | head -n 1 || true; echo done; i=\$((i + 1)); done > /tmp/pin.log 2>&1"
refused=$(g1 'grep -c "No buffer space" /tmp/pin.log')
ran=$(g1 'grep -c "^done" /tmp/pin.log')
lingering=$(g1 yasmin-stat grants_lingering)
echo "guest1: $ran connects, $refused refused for ENOBUFS; $lingering pages lingering"
assert_eq "$ran" 30 "connects run"
[ "$refused" -ge 1 ] || fail "guest1 never stopped connecting to guest2, which pins $lingering pages"
[ "$refused" -lt 30 ] || fail "guest2 was refused every connection, even the first"
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

step "the attacker exits: every pinned page comes back"
hostile_kill
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check
victim_bounds "$peak" $((cap + per_conn + 8 * per_conn + 8)) 600 16 16384
victim_back 5
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering"
hostile_finish
