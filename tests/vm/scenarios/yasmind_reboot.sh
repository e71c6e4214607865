# setup: yasmind
# policy: group all g1 g2
# pvh: no. Its subject is yasmind following a new domid; on PVH the new
# domid path runs in yasmind_saverestore (xl restore) and kmod_peer_death
# (xl destroy mid-transfer, then a recreated peer).
# yasmind_reboot: g2 is rebooted the way a toolstack does it (xl destroy,
# xl create: a new domid) while g1 streams to it by IP under the shim.
# Nobody touches anything: g1's open socket is reset within 2 s of the
# destroy, the old domid's rendezvous leaves XenStore, g1's hosts.auto
# swaps the old domid for the new one, and a new shimmed connection to g2's
# IP goes over yasmin to the new domid within 5 s of g2's agent answering.
. /harness/scenarios/yasmind.inc
d1=$G1_DOMID old=$G2_DOMID

step "g1 streams to g2's IP under the shim, over yasmin"
map_has 1 "$G2_IP" "$old" g2
ino0=$(g1 "stat -c %i $MAP")
xfer_server 2 5100
stream_start 1 5100 /tmp/rb-c.log
s=$(g1 yasmin-stat sockets) b=$(g1 yasmin-stat bytes_sent)
echo "g1: $s yasmin socket(s), $b bytes sent so far"
[ "$s" -ge 1 ] && [ "$b" -gt 0 ] || fail "g1's stream is not on yasmin"

step "xl destroy g2: g1's socket is reset, the old domid's rendezvous goes"
release_watch
base_watch
sleep 1
m0=$(ms)
vm_destroy 2
m1=$(ms)
t1=$(uptime_of 1)
# Polled from dom0 until they are gone; when they went is read from
# XenStore's own timeline (gone_at), not from the polling.
while xenstore-exists "$BASE/$old" || xenstore-exists "$BASE/$d1/$old"; do
	[ $(( $(ms) - m1 )) -le 5000 ] || fail "the old domid's rendezvous is still there 5 s after the destroy"
	sleep 0.2
done
rel=$(release_after "$m0")
gone=$(gone_at "$old" "$m0")
release_unwatch
base_unwatch
[ -n "$rel" ] || fail "no @releaseDomain event seen"
[ -n "$gone" ] || fail "XenStore's watch on $BASE saw no removal of domain $old's entries"
echo "xl destroy took $((m1 - m0)) ms; @releaseDomain came $((rel - m1)) ms after it returned"
echo "BASE/$old and BASE/$d1/$old: the last went $((gone - rel)) ms after @releaseDomain"
stream_end 1 /tmp/rb-c.log ECONNRESET "$t1" "xl destroy returned"
[ $((gone - rel)) -le 1000 ] ||
	fail "the old rendezvous took more than 1 s after @releaseDomain to go"
m2=$(ms)
map_lacks 1 "^${G2_IP}[[:space:]]" 5
echo "g1's hosts.auto dropped g2 within $(( $(ms) - m2 )) ms of the check starting"
show_map 1

step "xl create g2: a new domid, and a shimmed connection by IP is back on yasmin"
vm_create 2
ta=$(ms)
new=$G2_DOMID
echo "g2 is back as domain $new (was $old)"
[ "$new" != "$old" ] || fail "g2 kept domid $old"
xfer_server 2 5101
back_on_yasmin 1 "$G2_IP" 5101
tb=$(ms)
back=$((tb - ta))
echo "a verified shimmed transfer to $G2_IP went over yasmin to domain $new $back ms after g2's agent answered"
[ "$back" -le 5000 ] || fail "traffic to g2's IP took $back ms to be back on yasmin"

step "the pair and the maps follow the new domid; no trace of the old one"
expect_pairs "$d1/$new" "$new/$d1"
expect_acl "$BASE/$d1/$new" "n0 b$d1 b$new"
expect_acl "$BASE/$new/$d1" "n0 b$new b$d1"
expect_acl "$BASE/$new" "n0 r$new"
expect_acl "$BASE/$new/map" "n0 r$new"
xenstore-exists "$BASE/$old" && fail "BASE/$old came back"
map_has 1 "$G2_IP" "$new" g2
map_has 2 "$G2_IP" "$new" g2
map_has 2 "$G1_IP" "$d1" g1
g1 "grep -E '[[:space:]]${old}[[:space:]]' $MAP" && fail "g1's map still names domain $old"
ino1=$(g1 "stat -c %i $MAP")
echo "g1's hosts.auto inode: $ino0 before, $ino1 after"
[ "$ino0" != "$ino1" ] || fail "g1's hosts.auto was not replaced"
show_map 1
g1 'cat /var/log/yasmin-mapd.log'
g1 'killall yasmin-xfer 2>/dev/null; true'
g2 'killall yasmin-xfer 2>/dev/null; true'
