# guests: 3
# setup: yasmind
# policy: default none
# policy: group a g1 g2
# yasmind_policy: the policy lets g1 and g2 talk and leaves g3 out. g3 gets
# its own directory and a map of itself alone, no pair; it can read none of
# the pair's nodes nor make itself one; its native vsock connect to g1 gets
# EHOSTUNREACH, and its TCP under the shim stays TCP (netfront) and works,
# as does g1's to g3. Then policy reloads (SIGHUP): adding g3 pairs it with
# both while a g1 -> g2 stream goes on untouched; dropping g2 removes the
# g1/g2 pair and g1's open socket to g2 fails; a policy with an error is
# refused and changes nothing.
. /harness/scenarios/yasmind.inc
d1=$G1_DOMID d2=$G2_DOMID d3=$G3_DOMID
hup() { kill -HUP "$(cat /run/yasmind.pid)"; }

step "only g1 and g2 are paired; g3 has a map of itself alone"
expect_pairs "$d1/$d2" "$d2/$d1"
expect_acl "$BASE/$d3" "n0 r$d3"
expect_acl "$BASE/$d3/map" "n0 r$d3"
assert_eq "$(map_keys "$d3")" "$d3" "g3's map"
assert_eq "$(map_keys "$d1")" "$d1 $d2" "g1's map"
map_has 3 "$G3_IP" "$d3" g3
show_map 3
g3 "grep -Eq '^($G1_IP|$G2_IP)[[:space:]]' $MAP" && fail "g3's hosts.auto lists a peer"
map_has 1 "$G2_IP" "$d2" g2
g1 "grep -Eq '^${G3_IP}[[:space:]]' $MAP" && fail "g1's hosts.auto lists g3"

step "g3 can read none of the pair's nodes, nor make itself a pair"
g1 "xenstore-read $BASE/$d1/map/$d2" >/dev/null || fail "g1 cannot read its own map"
for p in "$BASE/$d1/$d2" "$BASE/$d2/$d1" "$BASE/$d1/map/$d2" "$BASE/$d1"; do
	xenstore-exists "$p" || fail "$p is missing in dom0"
	for op in read list; do
		rc=0
		out=$(g3 "xenstore-$op $p 2>&1") || rc=$?
		echo "g3: xenstore-$op $p -> rc=$rc $out"
		[ "$rc" != 0 ] || fail "g3 could $op $p"
	done
done
for p in "$BASE/$d3/$d1" "$BASE/$d1/$d3"; do
	rc=0
	out=$(g3 "xenstore-write $p x 2>&1") || rc=$?
	echo "g3: xenstore-write $p -> rc=$rc $out"
	[ "$rc" != 0 ] || fail "g3 created $p"
	xenstore-exists "$p" && fail "$p exists after g3's write"
done

step "g3's native vsock connect to g1 gets EHOSTUNREACH"
g1 'yasmin-xfer -s -p 5300 > /tmp/pol-vs.log 2>&1 &'
wait_log 1 /tmp/pol-vs.log 'listening on port'
rc=0
out=$(g3 "t0=\$(cut -d' ' -f1 /proc/uptime); yasmin-xfer -c $G1_CID -p 5300 -n 1M; rc=\$?; t1=\$(cut -d' ' -f1 /proc/uptime); echo elapsed_ms=\$(awk \"BEGIN{print (\$t1-\$t0)*1000}\"); exit \$rc" 2>&1) || rc=$?
echo "$out"
[ "$rc" = 3 ] || fail "g3's vsock connect to g1 ended with $rc, not a connect error"
assert_grep "connect: EHOSTUNREACH" "$out"
g3 'dmesg | grep yasmin | tail -n 2'
step "g1's native vsock connect to g3 gets EHOSTUNREACH too"
g3 'yasmin-xfer -s -p 5300 > /tmp/pol-vs.log 2>&1 &'
wait_log 3 /tmp/pol-vs.log 'listening on port'
rc=0
out=$(g1 "yasmin-xfer -c $G3_CID -p 5300 -n 1M 2>&1") || rc=$?
echo "$out"
[ "$rc" = 3 ] || fail "g1's vsock connect to g3 ended with $rc"
assert_grep "connect: EHOSTUNREACH" "$out"
g1 'killall yasmin-xfer 2>/dev/null; true'
g3 'killall yasmin-xfer 2>/dev/null; true'

step "under the shim, g3 -> g1 and g1 -> g3 stay TCP and work; g1 -> g2 is yasmin"
xfer_server 1 5301
xfer_server 3 5302
xfer_server 2 5303
xfer 3 1 5301 32M tcp
xfer 1 3 5302 32M tcp
xfer 1 2 5303 64M yasmin

step "reload with g3 added: it pairs with both while a g1 -> g2 stream (paced to 64 MiB/s) goes on"
g1 "($SHIM yasmin-xfer -f inet -c $G2_IP -p 5303 -n 1G -R 64M; echo rc=\$?) > /tmp/pol-keep.log 2>&1 &"
sleep 2
g1 'grep -q rc= /tmp/pol-keep.log' && { g1 'cat /tmp/pol-keep.log'; fail "the stream ended before the reload"; }
r0=$(g1 yasmin-stat resets)
printf 'default none\ngroup a g1 g2 g3\n' > /etc/yasmin/yasmind.conf
m0=$(ms)
hup
for p in "$d1/$d3" "$d3/$d1" "$d2/$d3" "$d3/$d2"; do
	wait_there "$BASE/$p" 5 >/dev/null
done
echo "the four new pair directories appeared $(( $(ms) - m0 )) ms after SIGHUP"
expect_acl "$BASE/$d1/$d3" "n0 b$d1 b$d3"
expect_acl "$BASE/$d3/$d2" "n0 b$d3 b$d2"
map_has 1 "$G3_IP" "$d3" g3
map_has 3 "$G1_IP" "$d1" g1
map_has 3 "$G2_IP" "$d2" g2
echo "g1's and g3's hosts.auto list their new peers $(( $(ms) - m0 )) ms after SIGHUP"
g1 'grep -q rc= /tmp/pol-keep.log' && { g1 'cat /tmp/pol-keep.log'; fail "the stream ended during the reload"; }
i=0
until g1 'grep -q rc= /tmp/pol-keep.log'; do
	i=$((i + 1)); [ $i -lt 120 ] || fail "the 1 GiB stream did not end in 120 s"
	sleep 1
done
out=$(g1 'cat /tmp/pol-keep.log')
echo "stream across the reload: $out"
assert_grep "rc=0" "$out"
assert_grep "^OK conns=1 bytes=1073741824" "$out"
assert_eq "$(g1 yasmin-stat resets)" "$r0" "g1's resets across the reload"
xfer 3 1 5301 32M yasmin

step "reload without g2: the g1/g2 pair goes and g1's open socket to g2 fails"
stream_start 1 5303 /tmp/pol-cut.log
printf 'default none\ngroup a g1 g3\n' > /etc/yasmin/yasmind.conf
t0=$(uptime_of 1)
hup
g1gone=$(wait_gone "$BASE/$d1/$d2" 5)
wait_gone "$BASE/$d2/$d1" 5 >/dev/null
echo "BASE/$d1/$d2 gone $g1gone ms after SIGHUP"
stream_end 1 /tmp/pol-cut.log "EHOSTUNREACH|ECONNRESET" "$t0" SIGHUP
map_lacks 1 "^${G2_IP}[[:space:]]" 5
xenstore-exists "$BASE/$d1/$d3" || fail "the g1/g3 pair went too"
xfer 1 3 5302 32M yasmin

step "a policy with an error is refused and changes nothing"
before=$(pairs | tr '\n' ' ')
printf 'default none\ngroup a g1 g2 g3\nbogus\n' > /etc/yasmin/yasmind.conf
hup
i=0
until grep -q 'yasmind.conf:3: unknown keyword' "$ARTIFACTS/yasmind.log"; do
	i=$((i + 1)); [ $i -lt 50 ] || fail "no 'yasmind.conf:3: unknown keyword' in yasmind's log"
	sleep 0.1
done
sleep 1
grep -E 'unknown keyword|keeping' "$ARTIFACTS/yasmind.log" | tail -n 3
assert_eq "$(pairs | tr '\n' ' ')" "$before" "pairs after a bad reload"
kill -0 "$(cat /run/yasmind.pid)" || fail "yasmind exited on a bad reload"
each_guest 'killall yasmin-xfer 2>/dev/null; true'
