# kmod_race: guest1 and guest2 connect to each other at the same moment,
# both with no control channel yet. The lower domid owns the pair's control
# page, so both sides end up on one channel and both transfers succeed.
step "fresh modules on both sides, servers on both"
each_guest 'killall yasmin-xfer 2>/dev/null; sleep 0.3; rmmod yasmin && insmod /opt/yasmin/yasmin.ko'
each_guest 'yasmin-xfer -s -p 5600 > /tmp/race-s.log 2>&1 &'
wait_log 1 /tmp/race-s.log 'listening on port'
wait_log 2 /tmp/race-s.log 'listening on port'
assert_eq "$(g1 yasmin-stat evtchns)$(g2 yasmin-stat evtchns)" "00" "control channels before the race"

step "both connect at once"
# Both clients wait for the same wall-clock second before connecting.
at=$(( $(date +%s) + 3 ))
g1 "(while [ \$(date +%s) -lt $at ]; do :; done; yasmin-xfer -c $G2_CID -p 5600 -n 32M -d; echo rc=\$?) > /tmp/race-c.log 2>&1 &"
g2 "(while [ \$(date +%s) -lt $at ]; do :; done; yasmin-xfer -c $G1_CID -p 5600 -n 32M -d; echo rc=\$?) > /tmp/race-c.log 2>&1 &"
i=0
until g1 'grep -q rc= /tmp/race-c.log' && g2 'grep -q rc= /tmp/race-c.log'; do
	i=$((i + 1)); [ $i -lt 120 ] || fail "the racing transfers did not finish"; sleep 1
done
o1=$(g1 'cat /tmp/race-c.log') o2=$(g2 'cat /tmp/race-c.log')
echo "guest1: $o1"
echo "guest2: $o2"
assert_grep "rc=0" "$o1"
assert_grep "rc=0" "$o2"

step "one control channel between them"
l1=$(g1 'dmesg | grep "domain '"$G2_DOMID"': control channel open"')
l2=$(g2 'dmesg | grep "domain '"$G1_DOMID"': control channel open"')
echo "$l1"; echo "$l2"
assert_eq "$(echo "$l1" | grep -c open)" 1 "channels guest1 opened"
assert_eq "$(echo "$l2" | grep -c open)" 1 "channels guest2 opened"
assert_eq "$(echo "$l1" | sed 's/.*gen //')" "$(echo "$l2" | sed 's/.*gen //')" "the session both sides joined"
each_guest 'killall yasmin-xfer 2>/dev/null; sleep 0.5; true'
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
