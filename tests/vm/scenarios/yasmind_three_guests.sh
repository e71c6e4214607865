# guests: 3
# setup: yasmind
# policy: default none
# policy: group web g1 g2
# policy: group db g2 g3
# yasmind_three_guests: g2 may talk to g1 and to g3, g1 and g3 not to each
# other. The pairs and maps are exactly that; concurrent g1 -> g2 and
# g3 -> g2 streams go over yasmin while g1 -> g3 by IP stays TCP. When g2
# is destroyed every entry of it goes within 1 s and both peers' sockets
# to it are reset; when it comes back under a new domid all returns.
. /harness/scenarios/yasmind.inc
d1=$G1_DOMID d2=$G2_DOMID d3=$G3_DOMID

step "pairs g1<->g2 and g2<->g3 only; maps g1 {g1,g2}, g2 {all}, g3 {g2,g3}"
expect_pairs "$d1/$d2" "$d2/$d1" "$d2/$d3" "$d3/$d2"
expect_acl "$BASE/$d2/$d3" "n0 b$d2 b$d3"
expect_acl "$BASE/$d3/$d2" "n0 b$d3 b$d2"
assert_eq "$(map_keys "$d1")" "$d1 $d2" "g1's map"
assert_eq "$(map_keys "$d2")" "$d1 $d2 $d3" "g2's map"
assert_eq "$(map_keys "$d3")" "$d2 $d3" "g3's map"
map_has 1 "$G2_IP" "$d2" g2
map_has 2 "$G1_IP" "$d1" g1
map_has 2 "$G3_IP" "$d3" g3
map_has 3 "$G2_IP" "$d2" g2
g1 "grep -Eq '^${G3_IP}[[:space:]]' $MAP" && fail "g1's hosts.auto lists g3"
g3 "grep -Eq '^${G1_IP}[[:space:]]' $MAP" && fail "g3's hosts.auto lists g1"
for n in 1 2 3; do show_map $n; done

step "concurrent g1 -> g2 and g3 -> g2 go over yasmin; g1 -> g3 stays TCP"
xfer_server 2 5600
xfer_server 3 5601
c1=$(counters 1) c3=$(counters 3)
g1 "($SHIM yasmin-xfer -f inet -c $G2_IP -p 5600 -n 256M -R 64M; echo rc=\$?) > /tmp/tg-c.log 2>&1 &"
g3 "($SHIM yasmin-xfer -f inet -c $G2_IP -p 5600 -n 256M -R 64M; echo rc=\$?) > /tmp/tg-c.log 2>&1 &"
sleep 1
s2=$(g2 yasmin-stat sockets)
echo "g2 holds $s2 yasmin sockets with both streams running"
for n in 1 3; do
	i=0
	until guest $n 'grep -q rc= /tmp/tg-c.log'; do
		i=$((i + 1)); [ $i -lt 120 ] || fail "g$n's stream did not end in 120 s"
		sleep 1
	done
	out=$(guest $n 'cat /tmp/tg-c.log')
	echo "g$n -> g2: $out"
	assert_grep "rc=0" "$out"
	assert_grep "^OK conns=1 bytes=268435456" "$out"
done
for n in 1 3; do
	eval "c0=\$c$n"
	# shellcheck disable=SC2086
	set -- $c0 $(counters $n)
	echo "g$n: yasmin bytes_sent +$(( $5 - $1 )), vif tx +$(( $7 - $3 ))"
	[ $(( $5 - $1 )) -ge 268435456 ] || fail "g$n's stream did not go over yasmin"
	[ $(( $7 - $3 )) -lt 26843545 ] || fail "g$n's vif carried the stream"
done
xfer 1 3 5601 32M tcp

step "destroy g2: its entries go within 1 s, both peers' sockets are reset"
stream_start 1 5600 /tmp/tg-d.log
stream_start 3 5600 /tmp/tg-d.log

release_watch
base_watch
sleep 1
mb=$(ms)
vm_destroy 2
m0=$(ms)
t1b=$(uptime_of 1) t3b=$(uptime_of 3)
while [ -n "$(pairs | grep -E "(^|/)$d2\$|^$d2/")" ] || xenstore-exists "$BASE/$d2"; do
	[ $(( $(ms) - m0 )) -le 5000 ] || fail "g2's entries still there 5 s after the destroy: $(pairs | tr '\n' ' ')"
	sleep 0.2
done
rel=$(release_after "$mb")
gone=$(gone_at "$d2" "$mb")
release_unwatch
base_unwatch
echo "XenStore under $BASE after the destroy began (ms, node):"
awk -v t="$mb" '$1 > t' /tmp/base.log | head -n 30 | sed 's/^/  /'
[ -n "$rel" ] || fail "no @releaseDomain event seen"
[ -n "$gone" ] || fail "XenStore's watch on $BASE saw no removal of domain $d2's entries"
echo "xl destroy took $((m0 - mb)) ms, @releaseDomain came $((rel - m0)) ms after it returned"
echo "the last entry of domain $d2 went $((gone - rel)) ms after @releaseDomain; pairs now: $(pairs | tr '\n' ' ')"
[ $((gone - rel)) -le 1000 ] || fail "g2's entries took $((gone - rel)) ms after @releaseDomain to go"
map_lacks 1 "^${G2_IP}[[:space:]]" 5
map_lacks 3 "^${G2_IP}[[:space:]]" 5
echo "g1's and g3's hosts.auto dropped g2 within $(( $(ms) - m0 )) ms"
stream_end 1 /tmp/tg-d.log ECONNRESET "$t1b" "xl destroy returned"
stream_end 3 /tmp/tg-d.log ECONNRESET "$t3b" "xl destroy returned"

step "create g2 again: pairs, maps and yasmin traffic come back for its new domid"
vm_create 2
new=$G2_DOMID
echo "g2 is back as domain $new (was $d2)"
for p in "$d1/$new" "$new/$d1" "$new/$d3" "$d3/$new"; do
	wait_there "$BASE/$p" 10 >/dev/null
done
expect_pairs "$d1/$new" "$new/$d1" "$new/$d3" "$d3/$new"
map_has 1 "$G2_IP" "$new" g2
map_has 3 "$G2_IP" "$new" g2
map_has 2 "$G1_IP" "$d1" g1
map_has 2 "$G3_IP" "$d3" g3
xfer_server 2 5602
xfer 1 2 5602 64M yasmin
xfer 3 2 5602 64M yasmin
xfer 1 3 5601 16M tcp
each_guest 'killall yasmin-xfer 2>/dev/null; true'
