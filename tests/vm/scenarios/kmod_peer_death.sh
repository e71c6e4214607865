# kmod_peer_death: 'xl destroy' of guest2 in the middle of a transfer makes
# guest1's blocked writer fail within 2 s; guest1's counters return to
# their baseline and yasmin.ko unloads. Guest2 is recreated afterwards.
step "baseline counters on guest1"
g1 'killall yasmin-xfer 2>/dev/null; sleep 0.3; true'
base=$(g1 'for c in sockets grants maps evtchns; do printf "%s=%s " $c $(yasmin-stat $c); done')
echo "baseline: $base"

step "guest1 streams to guest2"
g2 'yasmin-xfer -s -p 5400 > /tmp/death-s.log 2>&1 &'
sleep 1
g1 "(yasmin-xfer -c $G2_CID -p 5400 -n 100G; echo rc=\$?) > /tmp/death-c.log 2>&1 &"
sleep 3
g1 yasmin-stat
assert_eq "$(g1 yasmin-stat sockets)" 1 "guest1 has the streaming socket"

step "destroy guest2 and time guest1's error"
t0=$(g1 'cat /proc/uptime')
vm_destroy 2
t1=$(g1 'cat /proc/uptime')
sleep 2
out=$(g1 'cat /tmp/death-c.log')
echo "$out"
assert_grep "rc=4" "$out"
assert_grep "ECONNRESET" "$out"
echo "uptime before/after destroy: $t0 / $t1"
g1 'dmesg | grep yasmin | tail -3'
# the connection's line and the final line both carry it; take the first
ms=$(echo "$out" | sed -n 's/.*, \([0-9]*\) ms after the last I\/O.*/\1/p' | head -n 1)
echo "error came $ms ms after the last successful write"
[ -n "$ms" ] && [ "$ms" -le 2000 ] || fail "the writer's error took ${ms:-?} ms"

step "guest1's counters are back to baseline and yasmin.ko unloads"
sleep 1
now=$(g1 'for c in sockets grants maps evtchns; do printf "%s=%s " $c $(yasmin-stat $c); done')
echo "after: $now"
assert_grep "sockets=0 " "$now"
# Whatever the dead peer held (its sockets' channels and the control
# channel) is gone; nothing may exceed the baseline.
for c in grants maps evtchns; do
	b=$(echo "$base" | sed -n "s/.*$c=\([0-9]*\).*/\1/p")
	n=$(echo "$now" | sed -n "s/.*$c=\([0-9]*\).*/\1/p")
	[ "$n" -le "$b" ] || fail "$c: $n after, $b at baseline"
done
g1 'rmmod yasmin && insmod /opt/yasmin/yasmin.ko'

step "recreate guest2"
vm_create 2
g2 'grep -q "^yasmin " /proc/modules'
g2 'yasmin-xfer -s -p 5401 > /tmp/death-s2.log 2>&1 &'
sleep 1
g1 "yasmin-xfer -c $G2_CID -p 5401 -n 16M"
g2 'killall yasmin-xfer 2>/dev/null; true'
