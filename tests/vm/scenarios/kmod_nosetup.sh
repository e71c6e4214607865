# pvh: no. Its subject is a pair XenStore has no rendezvous for: connect
# fails before any page is granted or mapped, whatever the guests' type.
# kmod_nosetup: without 'yasmin-xs setup' for a pair, connect fails fast
# with a clear errno and a log line that names the missing step.
step "remove guest2's rendezvous"
dom0 "yasmin-xs teardown $G2_DOMID"
sleep 1
g2 'yasmin-xfer -s -p 5300 > /tmp/nosetup-s.log 2>&1 &'
wait_log 2 /tmp/nosetup-s.log 'listening on port'

step "guest1 -> guest2 fails fast with EHOSTUNREACH"
# Time it inside guest1; restore the rendezvous before judging, so a
# failure here does not break the scenarios that follow.
rc=0
out=$(g1 "t0=\$(cut -d' ' -f1 /proc/uptime); yasmin-xfer -c $G2_CID -p 5300 -n 1M; rc=\$?; t1=\$(cut -d' ' -f1 /proc/uptime); echo elapsed_ms=\$(awk \"BEGIN{print (\$t1-\$t0)*1000}\"); exit \$rc" 2>&1) || rc=$?
log=$(g1 'dmesg | tail -5')
dom0 "yasmin-xs setup 0 $G1_DOMID $G2_DOMID"
echo "$out"
echo "$log"
[ "$rc" != 0 ] || fail "connect succeeded without a rendezvous"
assert_grep "connect: (EHOSTUNREACH|ECONNREFUSED)" "$out"
ms=$(echo "$out" | sed -n 's/^elapsed_ms=\([0-9]*\).*/\1/p')
echo "failed after ${ms:-?} ms"
[ -n "$ms" ] && [ "$ms" -lt 2000 ] || fail "connect took ${ms:-?} ms to fail"
assert_grep "run 'yasmin-xs setup" "$log"

step "after setup again, the same connect works"
g1 "yasmin-xfer -c $G2_CID -p 5300 -n 64M"
g2 'killall yasmin-xfer 2>/dev/null; sleep 0.5; true'

step "no socket left behind"
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
