# guests: 3
# pvh: no. A storm is met by lateeoi (yasmin.ko flags spurious events and
# the kernel's event core delays their source), the same code whatever the
# victim's type; PVH's event delivery carries every vm-pvh scenario.
# kmod_hostile_storm: guest2 (yasmin-hostile, no yasmin.ko) notifies guest1's
# control event channel, then a data channel's, then both, flat out for 8 s
# each. Guest1 must keep serving guest3 and end with its counters at the
# baseline; the events sent and received per second are printed.
VICTIM_STALL=120
. /harness/scenarios/hostile.inc
hostile_setup

for v in ctrl data both; do
	step "event storm on the $v channel(s) for 8 s"
	r0=$(g1 yasmin-stat events_received)
	t0=$(g1 "cut -d' ' -f1 /proc/uptime")
	hostile_run -p $VICTIM_PORT -t 8 -r $v evtchn-storm
	hostile_wait 90
	r1=$(g1 yasmin-stat events_received)
	t1=$(g1 "cut -d' ' -f1 /proc/uptime")
	sent=$(g2 "sed -n 's/.*evtchn-storm.* rate=\([0-9]*\).*/\1/p' /tmp/hostile.log")
	echo "storm $v: guest2 sent ${sent:-?} events/s; guest1 received $(awk "BEGIN { printf \"%d\", ($r1 - $r0) / ($t1 - $t0) }") events/s ($((r1 - r0)) in $(awk "BEGIN { print $t1 - $t0 }") s)"
	hostile_kill
done
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check

step "the victim's resources stayed bounded and came back"
victim_bounds "$peak" 4 600 10 16384
victim_back 10
hostile_finish
