# setup: yasmind
# policy: group all g1 g2
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
# The wrapper stamps g1's uptime when the client exits, so the delay is
# measured on one clock against stamps taken around the destroy.
g1 "($SHIM yasmin-xfer -f inet -c $G2_IP -p 5100 -n 100G; echo rc=\$?; echo end=\$(cut -d' ' -f1 /proc/uptime)) > /tmp/rb-c.log 2>&1 &"
sleep 3
g1 'grep -q rc= /tmp/rb-c.log' && { g1 'cat /tmp/rb-c.log'; fail "the transfer ended before the destroy"; }
s=$(g1 yasmin-stat sockets) b=$(g1 yasmin-stat bytes_sent)
echo "g1: $s yasmin socket(s), $b bytes sent so far"
[ "$s" -ge 1 ] && [ "$b" -gt 0 ] || fail "g1's stream is not on yasmin"

step "xl destroy g2: g1's socket is reset, the old domid's rendezvous goes"
release_watch
sleep 1
m0=$(ms)
t0=$(g1 "cut -d' ' -f1 /proc/uptime")
vm_destroy 2
m1=$(ms)
t1=$(g1 "cut -d' ' -f1 /proc/uptime")
# XenStore, polled from dom0 from the moment xl destroy returned
gone_dir="" gone_pair=""
while [ -z "$gone_dir" ] || [ -z "$gone_pair" ]; do
	now=$(ms)
	[ -z "$gone_dir" ] && ! xenstore-exists "$BASE/$old" && gone_dir=$((now - m1))
	[ -z "$gone_pair" ] && ! xenstore-exists "$BASE/$d1/$old" && gone_pair=$((now - m1))
	[ $((now - m1)) -le 5000 ] || fail "the old domid's rendezvous is still there 5 s after the destroy"
	sleep 0.05
done
rel=$(release_after "$m0")
release_unwatch
[ -n "$rel" ] || fail "no @releaseDomain event seen"
echo "xl destroy took $((m1 - m0)) ms; @releaseDomain came $((rel - m1)) ms after it returned"
echo "BASE/$old gone $gone_dir ms, BASE/$d1/$old gone $gone_pair ms after xl destroy returned, so $((gone_pair + m1 - rel)) ms after @releaseDomain"
i=0
until g1 'grep -q end= /tmp/rb-c.log'; do
	i=$((i + 1)); [ $i -lt 30 ] || { g1 'cat /tmp/rb-c.log'; fail "g1's client still runs 30 s after the destroy"; }
	sleep 1
done
out=$(g1 'cat /tmp/rb-c.log')
echo "$out"
assert_grep "rc=4" "$out"
assert_grep "ECONNRESET" "$out"
end=$(echo "$out" | sed -n 's/^end=//p')
after=$(awk "BEGIN{printf \"%d\", ($end - $t1) * 1000}")
bound=$(awk "BEGIN{printf \"%d\", ($end - $t0) * 1000}")
echo "g1's socket reset: client exit $after ms after xl destroy returned ($bound ms after it began)"
[ "$after" -le 2000 ] || fail "g1's reset took $after ms after the destroy"
[ $((gone_pair + m1 - rel)) -le 1000 ] && [ $((gone_dir + m1 - rel)) -le 1000 ] ||
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
# Retry a 4 MiB verified transfer to g2's IP until one goes over yasmin:
# before the pair and maps exist the shim falls back to TCP (or the
# connect fails); each try counts g1's yasmin bytes_sent around it.
out=$(g1 "n=0; while :; do n=\$((n + 1)); b0=\$(yasmin-stat bytes_sent); timeout 40 env YASMIN_CONNECT_TIMEOUT_MS=30000 yasmin-run -d yasmin-xfer -f inet -c $G2_IP -p 5101 -n 4M > /tmp/rb-try.log 2>&1; rc=\$?; b1=\$(yasmin-stat bytes_sent); if [ \$rc = 0 ] && [ \$((b1 - b0)) -ge 4194304 ]; then echo tries=\$n; cat /tmp/rb-try.log; exit 0; fi; echo \"try \$n: rc=\$rc yasmin +\$((b1 - b0))\"; [ \$n -lt 100 ] || exit 1; sleep 0.1; done") ||
	{ echo "$out"; fail "no transfer to g2's IP went over yasmin"; }
tb=$(ms)
echo "$out"
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
