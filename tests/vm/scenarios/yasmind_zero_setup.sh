# setup: yasmind
# policy: default none
# policy: group all g1 g2
# pvh: no. Its subject is yasmind and yasmin-mapd writing the rendezvous
# and maps in XenStore, which the guests' type does not reach.
# yasmind_zero_setup: dom0 runs yasmind before any guest exists and the
# guests run yasmin-mapd; nobody writes a map or runs yasmin-xs. The pair's
# rendezvous and both maps appear with the right ACLs, each guest's
# hosts.auto lists both VMs, a guest cannot read the other's map, and
# yasmin-xfer, iperf3 and wget under the shim go g1 -> g2 over yasmin.
. /harness/scenarios/yasmind.inc
d1=$G1_DOMID d2=$G2_DOMID

step "nothing was set up by hand"
each_guest "[ ! -e /etc/yasmin/hosts ]" || fail "a guest has /etc/yasmin/hosts"
assert_grep 'yasmind: running' "$(cat "$ARTIFACTS/yasmind.log")"

step "yasmind made the pair's rendezvous and the maps, with their ACLs"
expect_pairs "$d1/$d2" "$d2/$d1"
expect_acl "$BASE" "n0"
expect_acl "$BASE/$d1" "n0 r$d1"
expect_acl "$BASE/$d2" "n0 r$d2"
expect_acl "$BASE/$d1/$d2" "n0 b$d1 b$d2"
expect_acl "$BASE/$d2/$d1" "n0 b$d2 b$d1"
expect_acl "$BASE/$d1/map" "n0 r$d1"
expect_acl "$BASE/$d2/map" "n0 r$d2"
for d in $d1 $d2; do
	for k in $d1 $d2; do
		echo "$BASE/$d/map/$k = $(xenstore-read "$BASE/$d/map/$k")"
	done
done
assert_eq "$(xenstore-read "$BASE/$d1/map/$d2")" "g2 $G2_IP" "g1's map entry for g2"
assert_eq "$(xenstore-read "$BASE/$d2/map/$d1")" "g1 $G1_IP" "g2's map entry for g1"
# Every running domain has its directory and a map of at least itself;
# dom0 ("Domain-0") and any other unlisted guest get no peer under
# "default none" (the pairs above are exactly g1's and g2's).
for d in $(xenstore-list "$BASE" | grep -vxE "$d1|$d2"); do
	echo "unlisted domain $d: map $(map_keys "$d")"
	assert_eq "$(map_keys "$d")" "$d" "the map of unlisted domain $d"
done

step "each guest's hosts.auto lists both VMs, its own marked"
for n in 1 2; do
	show_map $n
	map_has $n "$G1_IP" "$d1" g1
	map_has $n "$G2_IP" "$d2" g2
	eval "ip=\$G${n}_IP"
	guest $n "grep -E '^${ip}[[:space:]].*# this VM' $MAP" >/dev/null || fail "g$n's own line is not marked"
	guest $n "grep -c '# this VM' $MAP" | grep -qx 1 || fail "g$n marks more than one line"
	guest $n 'cat /var/log/yasmin-mapd.log'
done

step "a guest reads its own map and not the other's"
g2 "xenstore-read $BASE/$d2/map/$d1"
rc=0
out=$(g2 "xenstore-read $BASE/$d1/map/$d1 2>&1") || rc=$?
echo "g2 reading g1's map: rc=$rc $out"
[ "$rc" != 0 ] || fail "g2 read g1's map: $out"
# the key is there (dom0 reads it): the refusal is the ACL's
xenstore-read "$BASE/$d1/map/$d1" >/dev/null || fail "$BASE/$d1/map/$d1 is missing"
rc=0
out=$(g2 "xenstore-list $BASE/$d1 2>&1") || rc=$?
echo "g2 listing g1's directory: rc=$rc $out"
[ "$rc" != 0 ] || fail "g2 listed g1's directory: $out"

step "yasmin-xfer under the shim, g1 -> g2 by IP, over yasmin"
xfer_server 2 5000
xfer 1 2 5000 256M yasmin
g2 'killall yasmin-xfer 2>/dev/null; true'
# For comparison only: the same transfer by CID, without the shim.
g2 'yasmin-xfer -s -p 5001 > /tmp/xfer-native.log 2>&1 &'
wait_log 2 /tmp/xfer-native.log 'listening on port'
echo "native vsock, same size: $(g1 "yasmin-xfer -c $G2_CID -p 5001 -n 256M")"
g2 'killall yasmin-xfer 2>/dev/null; true'

step "iperf3 under the shim, g1 -> g2, over yasmin"
g2 "$SHIM iperf3 -s -p 5201 > /tmp/iperf3-s.log 2>&1 &"
wait_listen 2 5201
c0=$(counters 1)
out=$(g1 "$SHIM iperf3 -c $G2_IP -p 5201 -t 3 2>&1") || { echo "$out"; fail "iperf3 failed"; }
c1=$(counters 1)
echo "$out" | tail -n 4
# shellcheck disable=SC2086
set -- $c0 $c1
ys=$(( $5 - $1 )) vt=$(( $7 - $3 ))
bytes=$(echo "$out" | awk '/receiver/ { v=$5; u=$6 } END {
	m = (u ~ /^G/) ? 1073741824 : (u ~ /^M/) ? 1048576 : (u ~ /^K/) ? 1024 : 1;
	printf "%.0f", v * m }')
echo "iperf3 moved $bytes bytes; g1 yasmin bytes_sent +$ys, vif tx +$vt"
[ "$bytes" -gt 0 ] || fail "iperf3 reported no bytes"
[ $((ys / 99)) -ge $((bytes / 100)) ] || fail "yasmin carried $ys bytes, iperf3 moved $bytes"
[ "$vt" -lt $((bytes / 10)) ] || fail "the vif sent $vt bytes: iperf3 went over the network"
g2 'killall iperf3; true'

step "wget under the shim downloads a file from webfsd in g2, over yasmin"
# curl is not in the guest image; GNU wget is the unmodified HTTP client.
g2 'grep -q ^root: /etc/passwd 2>/dev/null || echo "root:x:0:0:root:/root:/bin/sh" >> /etc/passwd
grep -q ^root: /etc/group 2>/dev/null || echo "root:x:0:" >> /etc/group'
g2 'mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1M count=32 2>/dev/null'
g2 "$SHIM webfsd -F -u root -g root -p 8080 -r /tmp/www -L - > /tmp/webfs.log 2>&1 &"
wait_listen 2 8080
c0=$(counters 1)
g1 "$SHIM /usr/bin/wget -q -O /tmp/blob http://$G2_IP:8080/blob"
c1=$(counters 1)
a=$(g2 'md5sum < /tmp/www/blob') b=$(g1 'md5sum < /tmp/blob')
echo "served $a downloaded $b"
assert_eq "$b" "$a" "md5 of the download"
# shellcheck disable=SC2086
set -- $c0 $c1
yr=$(( $6 - $2 )) vr=$(( $8 - $4 ))
echo "g1 yasmin bytes_received +$yr, vif rx +$vr"
[ "$yr" -ge 33554432 ] || fail "the download did not go over yasmin ($yr bytes)"
[ "$vr" -lt 3355443 ] || fail "the vif received $vr bytes during the download"
g2 'killall webfsd; true'
