# guests: 3
# pvh: no. Its subject is XenStore keys, which the victim's type does not
# reach.
# kmod_hostile_xs: guest2 (yasmin-hostile, no yasmin.ko) writes garbage into
# every key of both directories of its pair with guest1 (non-numbers, huge
# numbers, zero, 4 KiB and binary values, unknown and nested keys), removes
# it all, checks that guest1's pair with guest3 is out of its reach, and at
# last removes its own pair directory. Guest1 keeps serving guest3 and is
# back at its baseline after each.
. /harness/scenarios/hostile.inc
hostile_setup

# One round is about 1700 XenStore writes and removes, a minute under TCG.
step "guest2 writes garbage into the rendezvous, one round"
hostile_run -n 1 -t 200 -3 $G3_DOMID xs-garbage
hostile_wait 240
out=$(g2 'cat /tmp/hostile.log')
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check
victim_bounds "$peak" 4 600 8 16384
assert_grep 'foreign_writes_denied=3 ' "$out"
step "the victim is back at its baseline: a request nobody joins must not hold a page"
# Some garbage parses as a request ("17abc", "4294967295"): the victim may
# have answered one, but guest2's process is gone and never joined it.
victim_back 10

step "guest2 removes its own pair directory; dom0 puts it back"
hostile_run -n 1 -t 60 -R -3 $G3_DOMID xs-garbage
hostile_wait 90
sleep 2
victim_back 10
dom0 "yasmin-xs setup 0 $G1_DOMID $G2_DOMID $G3_DOMID"
hostile_finish
