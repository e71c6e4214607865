# guests: 3
# pvh: no. A full control ring and the victim's bounded answers are the
# same code and memory whatever the victim's type.
# kmod_hostile_fill: guest2 (yasmin-hostile, no yasmin.ko) keeps its control
# ring to guest1 full of messages guest1 must answer (ACCEPTs for unknown
# ids, CONNECTs to unbound ports) and never reads guest1's ring. Guest1's
# answers have nowhere to go: its memory must stay bounded, and guest3's
# transfers must go on.
. /harness/scenarios/hostile.inc
hostile_setup

step "guest2 fills the control ring for 30 s (three times the 10 s a stalled peer is given)"
hostile_run -t 30 -H 5 ctrl-fill
wait_log 2 /tmp/hostile.log '^hostile: ctrl-fill' 120
g2 'cat /tmp/hostile.log'
mid=$(victim_counters)
echo "victim at the end of the fill: $mid"
hostile_kill
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check

step "the victim's memory stayed bounded and came back"
victim_bounds "$peak" 4 600 8 16384
victim_back 10
hostile_finish
