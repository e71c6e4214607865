# pvh: no. Its subject is counting against module parameters and refusing
# past them, before anything is granted or mapped: the same code on PV and
# PVH.
# kmod_budgets: the resource caps a user or a peer runs into. max_grants
# bounds what all sockets may grant and max_peer_grants what they may grant
# one peer (connect fails with ENOBUFS and the log says why); max_peer_maps
# and max_maps bound what one peer's and all peers' CONNECTs may make us
# map, and accepted connections may take three quarters of max_evtchns
# (refused, the client sees a reset). Counters return to baseline after.
# Default rings cost 2 + 2 * 128 = 258 pages per connection.
counts() { guest "$1" 'echo $(yasmin-stat grants) $(yasmin-stat maps) $(yasmin-stat evtchns) $(yasmin-stat sockets)'; }
reload() { guest "$1" "rmmod yasmin && insmod /opt/yasmin/yasmin.ko $2"; }
# guest2: port 5700 holds each connection 60 s, port 5701 closes at once
servers() {
	g2 'socat -d -d VSOCK-LISTEN:5700,fork,reuseaddr EXEC:"sleep 60" > /tmp/budget-hold.log 2>&1 &
	    socat -d -d VSOCK-LISTEN:5701,fork,reuseaddr EXEC:true > /tmp/budget-quick.log 2>&1 &'
	wait_log 2 /tmp/budget-hold.log 'listening on'
	wait_log 2 /tmp/budget-quick.log 'listening on'
}
# one connection to 5701, retried while the control channel comes back
# after a reload (a connect gives up after 2 s); then wait until that
# connection's pages are back (guest2 may unmap them late on a slow host),
# so a baseline taken next holds only the control session: one event
# channel and one grant or map.
warm() {
	g1 "i=0; until socat -u VSOCK-CONNECT:$G2_CID:5701 - > /dev/null 2>&1; do i=\$((i + 1)); [ \$i -lt 10 ] || exit 1; sleep 0.5; done"
	for g in 1 2; do
		guest $g 'i=0; until [ "$(yasmin-stat sockets) $(yasmin-stat grants_lingering)" = "0 0" ] &&
			[ $(($(yasmin-stat grants) + $(yasmin-stat maps))) = "$(yasmin-stat evtchns)" ] || [ $i -ge 100 ]; do
			sleep 0.1; i=$((i + 1)); done'
	done
}
# hold N connections from guest1 to 5700, tagged TAG
hold() { i=1; while [ $i -le "$1" ]; do g1 "socat -u VSOCK-CONNECT:$G2_CID:5700 EXEC:'sleep 60' > /tmp/budget-$2$i.log 2>&1 &"; i=$((i + 1)); done; }
# wait up to 10 s until guest N's counter NAME reads VALUE
wait_stat() { i=0; until [ "$(guest "$1" yasmin-stat "$2")" = "$3" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done; }
# refused GUEST CAP LOGLINE: guest1's next connect to guest2 is refused by
# CAP; GUEST (the one whose cap it is) logs LOGLINE. Sets $out.
refused() {
	rc=0
	out=$(g1 "socat -u VSOCK-CONNECT:$G2_CID:5701 - 2>&1") || rc=$?
	echo "connect past $2: rc=$rc $out"
	[ "$rc" != 0 ] || fail "a connection was accepted past $2"
	assert_grep "$3" "$(guest "$1" 'dmesg | tail -n 20')"
}
settle() {
	i=0
	until [ "$(counts 1)" = "$1" ] && [ "$(counts 2)" = "$2" ] || [ $i -ge 30 ]; do sleep 0.1; i=$((i + 1)); done
	assert_eq "$(counts 1)" "$1" "guest1 grants maps evtchns sockets"
	assert_eq "$(counts 2)" "$2" "guest2 grants maps evtchns sockets"
}

step "guest1 with max_grants=1000: three connections fit, the fourth gets ENOBUFS"
servers
# max_peer_grants would default to half of it: all of it may go to guest2.
reload 1 'max_grants=1000 max_peer_grants=1000'
warm
base1=$(counts 1)
base2=$(counts 2)
echo "baseline (grants maps evtchns sockets): guest1 $base1, guest2 $base2"
hold 3 a
wait_stat 1 sockets 3
assert_eq "$(g1 yasmin-stat grants)" $(( ${base1%% *} + 3 * 258 )) "guest1 grants with 3 connections"
refused 1 "max_grants" "would pass max_grants=1000"
assert_grep "No buffer space available" "$out"
assert_eq "$(g1 yasmin-stat refused)" 1 "guest1 refused counter"

step "the clients go: both guests return to baseline"
g1 'killall socat; true'
g2 'pkill -f "sleep 60"; true'
settle "$base1" "$base2"

step "guest1 with max_peer_grants=600: two connections to guest2 fit, the third gets ENOBUFS"
reload 1 max_peer_grants=600
warm
base1=$(counts 1)
hold 2 p
wait_stat 1 sockets 2
assert_eq "$(g1 yasmin-stat grants)" $(( ${base1%% *} + 2 * 258 )) "guest1 grants with 2 connections"
refused 1 "max_peer_grants" "would pass max_peer_grants=600"
assert_grep "No buffer space available" "$out"
g1 'killall socat; true'
g2 'pkill -f "sleep 60"; true'
wait_stat 1 sockets 0
wait_stat 1 grants "${base1%% *}"
assert_eq "$(g1 yasmin-stat grants)" "${base1%% *}" "guest1 grants after the clients went"

step "guest1 back to default budgets: four connections fit"
reload 1 ''
warm
hold 4 b
wait_stat 1 sockets 4
assert_eq "$(g1 yasmin-stat sockets)" 4 "guest1 sockets with default max_grants"
g1 'killall socat; true'
g2 'killall socat; true'

step "guest2 with max_peer_maps=600: guest1's third connection is refused"
reload 2 max_peer_maps=600
servers
warm
base1=$(counts 1)
base2=$(counts 2)
hold 2 c
i=0
until [ "$(g2 yasmin-stat maps)" = $(( $(echo "$base2" | cut -d' ' -f2) + 2 * 258 )) ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
assert_eq "$(g2 yasmin-stat maps)" $(( $(echo "$base2" | cut -d' ' -f2) + 2 * 258 )) "guest2 maps with two connections"
refused 2 "max_peer_maps" "past max_peer_maps=600"
assert_eq "$(g2 yasmin-stat refused)" 1 "guest2 refused counter"

step "guest2 with max_maps=600 (all peers together): guest1's third connection is refused"
g1 'killall socat; true'
g2 'pkill -f "sleep 60"; true'
settle "$base1" "$base2"
g2 'killall socat; true'
reload 2 'max_maps=600 max_peer_maps=100000'
servers
warm
base2=$(counts 2)
hold 2 m
i=0
until [ "$(g2 yasmin-stat maps)" = $(( $(echo "$base2" | cut -d' ' -f2) + 2 * 258 )) ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
refused 2 "max_maps" "past max_maps=600"

step "guest2 with max_evtchns=8: accepted connections stop at 6 (three quarters), the 7th is refused"
g1 'killall socat; true'
g2 'pkill -f "sleep 60"; true'
settle "$base1" "$base2"
g2 'killall socat; true'
# max_peer_conns would default to half of the accepted share (3).
reload 2 'max_evtchns=8 max_peer_conns=8'
servers
warm
base2=$(counts 2)
hold 6 e
wait_stat 2 sockets 6
assert_eq "$(g2 yasmin-stat sockets)" 6 "guest2 sockets with 6 connections held"
refused 2 "three quarters of max_evtchns" "past three quarters of max_evtchns=6"

step "everything goes; both guests return to baseline, nothing lingers"
g1 'killall socat; true'
g2 'pkill -f "sleep 60"; true'
settle "$base1" "$base2"
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering"
g2 'killall socat; true'
reload 2 ''
