# guests: 3
# pvh: no. The victim only grants and revokes its control pages here
# (the attacker maps them); granting is the same for PV and PVH victims.
# kmod_hostile_churn: guest2 (yasmin-hostile, no yasmin.ko) rewrites its
# request key for 15 s (up to 300 times), each time joining the new
# control page and keeping every old one mapped, so guest1 must revoke pages that are still
# mapped. Guest1 keeps serving guest3, stays within bounds and is back at
# its baseline once guest2's process is killed.
. /harness/scenarios/hostile.inc
hostile_setup

step "guest2 churns up to 300 requests (15 s at most) and holds the old pages 8 s"
# A victim may hold a new page back until the old one is let go: then the
# requests go unanswered (2 s each), which the summary counts.
hostile_run -n 300 -t 15 -H 8 request-churn
wait_log 2 /tmp/hostile.log '^hostile: request-churn' 200
g2 'cat /tmp/hostile.log'
out=$(g2 'cat /tmp/hostile.log')
sleep 5
held=$(victim_counters)
echo "victim while guest2 holds every page it was given: $held"
g1 'grep -E "MemFree|Slab|SUnreclaim" /proc/meminfo'
hostile_kill
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check

step "the victim's resources stayed bounded and came back"
assert_grep 'request-churn requests=[1-9][0-9]* answered=' "$out"
victim_bounds "$peak" 4 600 8 16384
victim_back 10
hostile_finish
