# setup: yasmind
# policy: group all g1 g2
# pvh: no. Its subject is yasmind restarting in dom0, which the guests' type
# does not reach; on PVH yasmind_saverestore takes the new-domid path.
# yasmind_restart: yasmind is stopped and started again while g1 streams
# 512 MiB to g2 by IP under the shim, paced to 32 MiB/s so that it outlasts
# the restart: the stream completes verified, no socket is reset, the pair
# directories keep every key the modules wrote and no map is rewritten.
# Then, with yasmind down, g2 is destroyed and created again (new domid):
# the next yasmind removes the dead domid's entries, pairs the new one and
# rewrites the handle it keeps for it.
. /harness/scenarios/yasmind.inc
d1=$G1_DOMID d2=$G2_DOMID
snapshot() { # the pair directories' keys and the maps, as dom0 sees them
	xenstore-ls "$BASE/$d1/$d2"
	xenstore-ls "$BASE/$d2/$d1"
	xenstore-ls "$BASE/$d1/map"
	xenstore-ls "$BASE/$d2/map"
	pairs
}
inodes() { echo "$(g1 "stat -c %i $MAP") $(g2 "stat -c %i $MAP")"; }

step "g1 streams 512 MiB to g2's IP under the shim, paced to last 16 s"
xfer_server 2 5500
# A connection first, so the pair's keys exist before the snapshot.
xfer 1 2 5500 16M yasmin
snap0=$(snapshot)
ino0=$(inodes)
r1=$(g1 yasmin-stat resets) r2=$(g2 yasmin-stat resets)
echo "$snap0"
g1 "($SHIM yasmin-xfer -f inet -c $G2_IP -p 5500 -n 512M -R 32M; echo rc=\$?) > /tmp/rs-c.log 2>&1 &"
sleep 2
g1 'grep -q rc= /tmp/rs-c.log' && { g1 'cat /tmp/rs-c.log'; fail "the stream ended before yasmind was stopped"; }
b0=$(g1 yasmin-stat bytes_sent)

step "stop yasmind mid-stream, start it again"
yasmind_stop
echo "yasmind stopped; g1 has sent $b0 bytes over yasmin"
sleep 2
g1 'grep -q rc= /tmp/rs-c.log' && { g1 'cat /tmp/rs-c.log'; fail "the stream ended while yasmind was down"; }
yasmind_start
sleep 2
b1=$(g1 yasmin-stat bytes_sent)
echo "yasmind running again; g1 has sent $b1 bytes over yasmin"
g1 'grep -q rc= /tmp/rs-c.log' && echo "(the stream ended within 2 s of the restart)"
[ "$b1" -gt "$b0" ] || fail "the stream did not move while yasmind restarted"

step "the stream completes verified; nothing was reset, removed or rewritten"
i=0
until g1 'grep -q rc= /tmp/rs-c.log'; do
	i=$((i + 1)); [ $i -lt 180 ] || fail "the stream did not end in 180 s"
	sleep 1
done
out=$(g1 'cat /tmp/rs-c.log')
echo "$out"
assert_grep "rc=0" "$out"
assert_grep "^OK conns=1 bytes=536870912" "$out"
assert_eq "$(g1 yasmin-stat resets) $(g2 yasmin-stat resets)" "$r1 $r2" "resets in g1 and g2"
snap1=$(snapshot)
[ "$snap1" = "$snap0" ] || { echo "after:"; echo "$snap1"; fail "the rendezvous changed across the restart"; }
ino1=$(inodes)
echo "map inodes (g1 g2): $ino0 before, $ino1 after"
assert_eq "$ino1" "$ino0" "hosts.auto inodes"
grep -E 'removed|gone|belongs' "$ARTIFACTS/yasmind.log" && fail "the restarted yasmind removed something"

step "with yasmind down, g2 is destroyed and created again"
g2 'killall yasmin-xfer 2>/dev/null; true'
yasmind_stop
vm_destroy 2
xenstore-exists "$BASE/$d2" || fail "BASE/$d2 went without yasmind"
xenstore-read "/local/domain/0/data/yasmind/$d2" >/dev/null || fail "no handle kept for domain $d2"
vm_create 2
new=$G2_DOMID
echo "g2 is back as domain $new (was $d2); BASE/$d2 still there: $(xenstore-exists "$BASE/$d2" && echo yes || echo no)"
[ "$new" != "$d2" ] || fail "g2 kept domid $d2"

step "the next yasmind removes the dead domid and pairs the new one"
m0=$(ms)
yasmind_start
wait_gone "$BASE/$d2" 5 >/dev/null
wait_there "$BASE/$d1/$new" 5 >/dev/null
wait_there "$BASE/$new/$d1" 5 >/dev/null
echo "pairs $(pairs | tr '\n' ' ')$(( $(ms) - m0 )) ms after yasmind started"
expect_pairs "$d1/$new" "$new/$d1"
xenstore-exists "/local/domain/0/data/yasmind/$d2" && fail "the dead domid's handle is still kept"
h=$(xenstore-read "/local/domain/0/data/yasmind/$new") || fail "no handle written for domain $new"
echo "handle kept for domain $new: $h"
map_has 1 "$G2_IP" "$new" g2
map_has 2 "$G2_IP" "$new" g2
echo "g1's hosts.auto names domain $new $(( $(ms) - m0 )) ms after yasmind started"
xfer_server 2 5501
xfer 1 2 5501 64M yasmin
tail -n 8 "$ARTIFACTS/yasmind.log"
g2 'killall yasmin-xfer 2>/dev/null; true'
