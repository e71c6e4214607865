# guests: 3
# pvh: no. Its subject is the victim's bounds on CONNECTs in flight and
# its recovery when the attacker dies, the same code on PV and PVH; mapping
# under load on PVH is kmod_churn's 1000 connections in vm-pvh.
# kmod_hostile_flood: guest2 (yasmin-hostile, no yasmin.ko) sends guest1
# thousands of valid CONNECTs, each with real granted rings, half to a
# listener and half to an unbound port, up to 256 in flight, never reading.
# Then it opens 200 more that guest1's server holds, and guest2 is destroyed
# while they are open. Guest1 must keep serving guest3, stay within bounds,
# and be back at its baseline within seconds each time.
VICTIM_STALL=5
. /harness/scenarios/hostile.inc
hostile_setup
g1 'yasmin-xfer -s -p 7201 -S 900 > /tmp/hold-s.log 2>&1 &'
wait_log 1 /tmp/hold-s.log 'listening on port'

step "guest2 floods guest1 with 3000 CONNECTs (order 0), 150 s at most; guest1 drops each after 5 s of silence"
hostile_run -p $VICTIM_PORT -U 7299 -n 3000 -w 256 -o 0 -t 150 connect-flood
hostile_wait 240
out=$(g2 'cat /tmp/hostile.log')
hostile_kill

step "guest2 opens 200 connections that guest1's server keeps, then is destroyed"
hostile_run -p 7201 -n 200 -w 256 -o 0 -t 120 -H 900 connect-flood
wait_log 2 /tmp/hostile.log '^hostile: connect-flood' 180
g2 'cat /tmp/hostile.log'
held=$(g2 'cat /tmp/hostile.log')
sleep 2
during=$(victim_counters)
echo "victim while guest2 holds its connections: $during"
honest_check

step "destroy guest2 while it holds them; the victim is back at its baseline within 10 s"
t0=$(cut -d' ' -f1 /proc/uptime)
vm_destroy 2
victim_back 10
t1=$(cut -d' ' -f1 /proc/uptime)
echo "from the start of xl destroy to the victim's baseline: $(awk "BEGIN { print $t1 - $t0 }") s (dom0 clock)"
peak=$(victim_peak)
echo "victim peak: $peak"

step "the victim's resources stayed bounded"
# Each accepted CONNECT maps 2 + 2 pages and binds one port; 256 at most in
# flight, plus the honest peer's order-7 channel.
victim_bounds "$peak" 4 1700 300 16384
echo "$out" | grep 'connect-flood'
assert_grep 'connect-flood sent=3000 ' "$out"
assert_grep 'connect-flood sent=200 .* accepted=200 ' "$held"

step "recreate guest2, and guest3 after it"
g1 'killall yasmin-xfer 2>/dev/null; true'
# guest3 too, so that domids still rise with the guests' numbers (else the
# runner makes all three again after the scenario)
vm_destroy 3
vm_create "2 3"
g1 "yasmin-xfer -s -p $HONEST_PORT > /tmp/honest-s.log 2>&1 &"
wait_log 1 /tmp/honest-s.log 'listening on port'
hostile_finish
