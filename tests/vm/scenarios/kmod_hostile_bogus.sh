# guests: 3
# pvh: no. Bad refs fail in Xen's grant-map hypercall and yasmin.ko's
# error path is the same whatever the victim's type; a PVH victim's grant
# maps are exercised by kmod_hostile_corrupt and every vm-pvh scenario.
# kmod_hostile_bogus: guest2 (yasmin-hostile, no yasmin.ko) sends guest1
# every malformed CONNECT and message of tests/prog/hostile.h: ring orders
# above 9, refs out of its grant table or granted to dom0, repeated refs,
# bad interface pages, event channels out of range or not meant for guest1,
# zero ids, unknown types, reserved bits, a SOCK_SEQPACKET CONNECT to a
# SOCK_STREAM listener. Guest1 must answer each as the
# protocol says (nothing for a malformed message, RESET for an unusable
# channel), keep serving guest3, and end with nothing leaked.
. /harness/scenarios/hostile.inc
hostile_setup

step "guest2 sends two rounds of every bogus case (order 0, then order 3)"
hostile_run -p $VICTIM_PORT -t 240 -n 33 -o 0 bogus-connect
hostile_wait 300
out=$(g2 'cat /tmp/hostile.log')
g2 'mv /tmp/hostile.log /tmp/hostile-o0.log'
hostile_run -p $VICTIM_PORT -t 240 -n 33 -o 3 bogus-connect
hostile_wait 300
out="$out
$(g2 'cat /tmp/hostile.log')"
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check

step "every case was answered as the protocol requires"
n=$(echo "$out" | grep -c '^hostile: bogus-connect cases=33 unexpected=0 ' || true)
[ "$n" = 2 ] || fail "the victim answered some cases wrongly: $(echo "$out" | grep UNEXPECTED | tr '\n' ';')"

step "the victim's resources stayed bounded and came back"
# One order-3 channel at a time: 2 + 16 maps, plus the honest peer's
# channels (order 7: 2 + 256 maps, one at a time) and one control page.
victim_bounds "$peak" 4 600 8 16384
hostile_kill
victim_back 10
hostile_finish
