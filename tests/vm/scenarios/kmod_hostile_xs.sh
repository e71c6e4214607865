# guests: 3
# kmod_hostile_xs: guest2 (yasmin-hostile, no yasmin.ko) writes garbage into
# every key of both directories of its pair with guest1 (non-numbers, huge
# numbers, zero, 4 KiB and binary values, unknown and nested keys), removes
# it all, checks that guest1's pair with guest3 is out of its reach, and at
# last removes its own pair directory. Guest1 keeps serving guest3 and ends
# at its baseline.
. /harness/scenarios/hostile.inc
hostile_setup

step "guest2 writes garbage into the rendezvous, 3 rounds"
hostile_run -n 3 -t 200 -3 $G3_DOMID xs-garbage
hostile_wait 240
out=$(g2 'cat /tmp/hostile.log')
sleep 2
mid=$(victim_counters)
echo "victim after the garbage: $mid"

step "guest2 removes its own pair directory"
hostile_run -n 1 -t 60 -R -3 $G3_DOMID xs-garbage
hostile_wait 90
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check
dom0 "yasmin-xs setup 0 $G1_DOMID $G2_DOMID $G3_DOMID"

step "the victim's resources stayed bounded and came back"
victim_bounds "$peak" 4 600 8 16384
victim_back 10
assert_grep 'foreign_writes_denied=3 ' "$out"
hostile_finish
