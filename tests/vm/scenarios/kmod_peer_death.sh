# kmod_peer_death: 'xl destroy' of guest2 in the middle of a transfer makes
# guest1's blocked writer fail with ECONNRESET within 2 s; guest1's counters
# return to their baseline and yasmin.ko unloads. Guest2 is recreated
# afterwards so later scenarios find the host as they expect it.
counters() { # guest N -> "sockets=.. grants=.. maps=.. evtchns=.. "
	guest "$1" 'for c in sockets grants maps evtchns; do printf "%s=%s " $c $(yasmin-stat $c); done'
}

step "baseline counters on guest1"
g1 'killall yasmin-xfer 2>/dev/null; sleep 0.3; true'
base=$(counters 1)
echo "baseline: $base"

step "guest1 streams to guest2"
g2 'yasmin-xfer -s -p 5400 > /tmp/death-s.log 2>&1 &'
wait_log 2 /tmp/death-s.log 'listening on port'
# The wrapper stamps guest1's uptime when the client exits, so the delay is
# measured on one clock against the stamps taken around the destroy below.
g1 "(yasmin-xfer -c $G2_CID -p 5400 -n 100G; echo rc=\$?; echo end=\$(cut -d' ' -f1 /proc/uptime)) > /tmp/death-c.log 2>&1 &"
sleep 3
g1 yasmin-stat
assert_eq "$(g1 yasmin-stat sockets)" 1 "guest1 has the streaming socket"
g1 'grep -q rc= /tmp/death-c.log' && { g1 'cat /tmp/death-c.log'; fail "the transfer ended before the destroy"; }

step "destroy guest2 and time guest1's error"
t0=$(g1 "cut -d' ' -f1 /proc/uptime")
vm_destroy 2
t1=$(g1 "cut -d' ' -f1 /proc/uptime")
i=0
until g1 'grep -q end= /tmp/death-c.log'; do
	i=$((i + 1)); [ $i -lt 30 ] || { g1 'cat /tmp/death-c.log'; fail "guest1's client still runs 30 s after the destroy"; }
	sleep 1
done
out=$(g1 'cat /tmp/death-c.log')
echo "$out"
g1 'dmesg | grep yasmin | tail -3'
assert_grep "rc=4" "$out"
assert_grep "ECONNRESET" "$out"
end=$(echo "$out" | sed -n 's/^end=//p')
# The domain is gone somewhere in [t0, t1]: end - t1 is the delay after
# 'xl destroy' returned, end - t0 an upper bound that includes xl itself.
after=$(awk "BEGIN{printf \"%d\", ($end - $t1) * 1000}")
bound=$(awk "BEGIN{printf \"%d\", ($end - $t0) * 1000}")
echo "guest1 uptime: destroy from $t0 to $t1, client exit at $end"
echo "client exit: $after ms relative to xl destroy's return (negative: before it), $bound ms after it began"
[ "$after" -le 2000 ] || fail "the writer's error took $after ms after the destroy"
# the connection's line and the final line both carry it; take the first
ms=$(echo "$out" | sed -n 's/.*, \([0-9]*\) ms after the last I\/O.*/\1/p' | head -n 1)
echo "error came ${ms:-?} ms after the last successful write"

step "guest1's counters are back to baseline and yasmin.ko unloads"
sleep 1
now=$(counters 1)
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

step "recreate guest2; guest1 reaches it again"
vm_create 2
g2 'grep -q "^yasmin " /proc/modules'
g2 'yasmin-xfer -s -p 5401 > /tmp/death-s2.log 2>&1 &'
wait_log 2 /tmp/death-s2.log 'listening on port'
g1 "yasmin-xfer -c $G2_CID -p 5401 -n 16M"
g2 'killall yasmin-xfer 2>/dev/null; sleep 0.5; true'
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
