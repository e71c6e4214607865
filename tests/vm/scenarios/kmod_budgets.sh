# kmod_budgets: the resource caps a user or a peer runs into. max_grants
# bounds what all sockets may grant (connect fails with ENOBUFS and the log
# says why); max_peer_maps bounds what one peer's CONNECTs may make us map
# (refused, the client sees a reset). Counters return to baseline after.
# Default rings cost 2 + 2 * 128 = 258 pages per connection.
counts() { guest "$1" 'echo $(yasmin-stat grants) $(yasmin-stat maps) $(yasmin-stat evtchns) $(yasmin-stat sockets)'; }
reload() { guest "$1" "rmmod yasmin && insmod /opt/yasmin/yasmin.ko $2"; }

step "guest2 holds every connection open (socat, 60 s each)"
g2 'socat -d -d VSOCK-LISTEN:5700,fork,reuseaddr EXEC:"sleep 60" > /tmp/budget-s.log 2>&1 &'
wait_log 2 /tmp/budget-s.log 'listening on'

step "guest1 with max_grants=1000: three connections fit, the fourth gets ENOBUFS"
reload 1 max_grants=1000
# one short connection first, so the control channel is part of the baseline
g1 "socat -u VSOCK-CONNECT:$G2_CID:5700 EXEC:'sleep 0.2'"
base1=$(counts 1)
for i in 1 2 3; do
	g1 "socat -u VSOCK-CONNECT:$G2_CID:5700 EXEC:'sleep 60' > /tmp/budget-c$i.log 2>&1 &"
done
i=0
until [ "$(g1 yasmin-stat sockets)" = 3 ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
assert_eq "$(g1 yasmin-stat grants)" $(( ${base1%% *} + 3 * 258 )) "guest1 grants with 3 connections"
rc=0
out=$(g1 "socat -u VSOCK-CONNECT:$G2_CID:5700 - < /dev/null 2>&1") || rc=$?
echo "fourth connect: rc=$rc $out"
[ "$rc" != 0 ] || fail "the fourth connection was accepted past max_grants"
assert_grep "No buffer space available" "$out"
assert_grep "would pass max_grants=1000" "$(g1 'dmesg | tail -n 20')"
assert_eq "$(g1 yasmin-stat refused)" 1 "guest1 refused counter"

step "guest1's clients go; its counters return to baseline"
g1 'killall socat; true'
i=0
until [ "$(counts 1)" = "$base1" ] || [ $i -ge 20 ]; do sleep 0.1; i=$((i + 1)); done
assert_eq "$(counts 1)" "$base1" "guest1 grants maps evtchns sockets"
reload 1 ''

step "guest1 back to default budgets: the same four connections fit"
for i in 1 2 3 4; do
	g1 "socat -u VSOCK-CONNECT:$G2_CID:5700 EXEC:'sleep 60' > /tmp/budget-d$i.log 2>&1 &"
done
i=0
until [ "$(g1 yasmin-stat sockets)" = 4 ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
assert_eq "$(g1 yasmin-stat sockets)" 4 "guest1 sockets with default max_grants"
g1 'killall socat; true'
g2 'killall socat; true'

step "guest2 with max_peer_maps=600: guest1's third connection is refused"
reload 2 max_peer_maps=600
g2 'socat -d -d VSOCK-LISTEN:5700,fork,reuseaddr EXEC:"sleep 60" > /tmp/budget-s2.log 2>&1 &'
wait_log 2 /tmp/budget-s2.log 'listening on'
base2=$(counts 2)
for i in 1 2; do
	g1 "socat -u VSOCK-CONNECT:$G2_CID:5700 EXEC:'sleep 60' > /tmp/budget-m$i.log 2>&1 &"
done
i=0
until [ "$(g2 yasmin-stat maps)" = $(( 1 + 2 * 258 )) ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
assert_eq "$(g2 yasmin-stat maps)" $(( 1 + 2 * 258 )) "guest2 maps: control page and two channels"
rc=0
out=$(g1 "socat -u VSOCK-CONNECT:$G2_CID:5700 - < /dev/null 2>&1") || rc=$?
echo "third connect: rc=$rc $out"
[ "$rc" != 0 ] || fail "the third connection was accepted past max_peer_maps"
assert_grep "past max_peer_maps=600" "$(g2 'dmesg | tail -n 20')"
assert_eq "$(g2 yasmin-stat maps)" $(( 1 + 2 * 258 )) "guest2 maps after the refusal"

step "everything goes; both guests return to baseline"
g1 'killall socat; true'
g2 'killall socat; true'
i=0
until [ "$(g1 yasmin-stat sockets) $(g2 yasmin-stat sockets) $(g2 yasmin-stat maps)" = "0 0 1" ] || [ $i -ge 30 ]; do sleep 0.1; i=$((i + 1)); done
assert_eq "$(g1 yasmin-stat sockets) $(g2 yasmin-stat sockets)" "0 0" "sockets"
assert_eq "$(g2 yasmin-stat maps)" 1 "guest2 maps only the control page"
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering"
reload 2 ''
