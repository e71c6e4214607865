# kmod_close_unread: the issue-9 reproduction. guest2 serves 4 MiB to every
# connection (unmodified socat); a client in guest1 reads 64 KiB and closes
# with the rest unread, 60 times. Every close turns into a reset; within 2 s
# of the last one both guests are back at their baseline grants, maps and
# event channels, and nothing lingers. Before the fix guest1 kept ~80 grants
# per connection for good (517 -> 5,419 after 60).
step "guest2 serves 4 MiB of zeros per connection"
g2 'socat -d -d VSOCK-LISTEN:5600,fork,reuseaddr SYSTEM:"head -c 4194304 /dev/zero" > /tmp/unread-s.log 2>&1 &'
wait_log 2 /tmp/unread-s.log 'listening on'
# one connection first, so the control channel is part of the baseline
g1 "socat -u VSOCK-CONNECT:$G2_CID:5600 - | head -c 1 > /dev/null"
# grants maps evtchns of guest N, one line
counts() { guest "$1" 'echo $(yasmin-stat grants) $(yasmin-stat maps) $(yasmin-stat evtchns)'; }
base_g1=$(counts 1)
base_g2=$(counts 2)
echo "baseline (grants maps evtchns): guest1 $base_g1, guest2 $base_g2"

step "60 connections read 64 KiB each and close with the rest unread"
g1 "i=0; while [ \$i -lt 60 ]; do socat -u VSOCK-CONNECT:$G2_CID:5600 - 2>/dev/null | head -c 65536 | wc -c >> /tmp/unread-c.log; i=\$((i+1)); done"
assert_eq "$(g1 'sort -u /tmp/unread-c.log')" 65536 "every client read its 64 KiB"
assert_eq "$(g1 'wc -l < /tmp/unread-c.log')" 60 "60 clients ran"
echo "peak: guest1 grants=$(g1 yasmin-stat grants) lingering=$(g1 yasmin-stat grants_lingering)"

step "back at baseline within 2 s on both guests"
t=0
while :; do
	now1=$(counts 1)
	now2=$(counts 2)
	[ "$now1" = "$base_g1" ] && [ "$now2" = "$base_g2" ] && break
	[ $t -ge 20 ] && break
	sleep 0.1
	t=$((t + 1))
done
echo "after ${t}00 ms: guest1 $now1, guest2 $now2"
assert_eq "$now1" "$base_g1" "guest1 grants maps evtchns"
assert_eq "$now2" "$base_g2" "guest2 grants maps evtchns"
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering"
assert_eq "$(g1 yasmin-stat grants_abandoned)" 0 "guest1 pages abandoned"
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
g2 'killall socat; sleep 0.5'
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
