# kmod_zerocopy: MSG_ZEROCOPY from guest1. On a vsock core that has it
# (6.7 and later: Debian's 6.12), guest1 moves 1 GiB to guest2 with
# MSG_ZEROCOPY, SOCK_STREAM, and 64 MiB as SOCK_SEQPACKET messages of 1 byte
# to 64 KiB (those with no whole page in them are copied); every
# byte is verified by guest2, every send completes, and yasmin-xfer -z
# overwrites each buffer the moment its completion arrives, so a completion
# that came before guest2 had copied the bytes shows as bad data. A sender
# that closes with sends in flight leaves guest2 every byte. Then
# guest2 is destroyed in the middle of a zero-copy stream: every send in
# flight still completes, and guest1's grants, sockets and maps return to
# their baseline (nothing pinned stays behind). Guest2 may run 6.1: the
# receiving half needs nothing from the core. On a 6.1 guest1 the core
# refuses SO_ZEROCOPY (EOPNOTSUPP), and the scenario checks just that.
counters() { # guest N -> "sockets=.. grants=.. maps=.. evtchns=.. "
	guest "$1" 'for c in sockets grants maps evtchns grants_lingering; do printf "%s=%s " $c $(yasmin-stat $c); done'
}

k1=$(g1 'uname -r' | cut -d. -f1,2)
k2=$(g2 'uname -r' | cut -d. -f1,2)
echo "guest1 runs Linux $k1, guest2 Linux $k2"

if [ "$k1" = 6.1 ]; then
	step "6.1: the vsock core has no MSG_ZEROCOPY for transports; SO_ZEROCOPY is refused"
	g2 'yasmin-xfer -s -p 5600 > /tmp/zc-s.log 2>&1 &'
	wait_log 2 /tmp/zc-s.log 'listening on port'
	rc=0
	out=$(g1 "yasmin-xfer -c $G2_CID -p 5600 -n 1M -z 2>&1") || rc=$?
	echo "$out"
	[ "$rc" != 0 ] || fail "yasmin-xfer -z succeeded on a 6.1 guest"
	assert_grep "EOPNOTSUPP" "$out"
	g2 'killall yasmin-xfer; true'
	exit 0
fi

step "baseline counters, once the pair's control channel is up"
g2 'yasmin-xfer -s -p 5599 -1 > /tmp/zc-w.log 2>&1 &'
wait_log 2 /tmp/zc-w.log 'listening on port'
g1 "yasmin-xfer -c $G2_CID -p 5599 -n 1M"
sleep 0.5
base1=$(counters 1)
base2=$(counters 2)
zc0=$(g1 yasmin-stat zc_bytes_sent)
echo "guest1: $base1; guest2: $base2"

step "1 GiB from guest1 with MSG_ZEROCOPY, 128 KiB sends, buffers overwritten at completion"
g2 'yasmin-xfer -s -p 5600 > /tmp/zc-s.log 2>&1 &'
wait_log 2 /tmp/zc-s.log 'listening on port'
out=$(g1 -t 600 "yasmin-xfer -c $G2_CID -p 5600 -n 1G -w 128K -z") ||
	{ echo "$out"; g2 'tail -n 5 /tmp/zc-s.log'; fail "1 GiB zero-copy transfer"; }
echo "$out"
assert_grep "^OK conns=1 bytes=1073741824" "$out"
assert_grep "zerocopy sends=8192 completed=8192 zerocopied=8192 copied=0" "$out"
zc1=$(g1 yasmin-stat zc_bytes_sent)
assert_eq "$((zc1 - zc0))" 1073741824 "bytes guest1 sent zero-copy"
assert_eq "$(g2 'grep -c "^OK conn=" /tmp/zc-s.log')" 1 "connections guest2 verified"

step "64 MiB of SOCK_SEQPACKET messages of 1 byte to 64 KiB with MSG_ZEROCOPY"
g2 'yasmin-xfer -s -q -p 5601 > /tmp/zc-q.log 2>&1 &'
wait_log 2 /tmp/zc-q.log 'listening on port'
out=$(g1 -t 600 "yasmin-xfer -c $G2_CID -p 5601 -n 64M -w 64K -q -z") ||
	{ echo "$out"; g2 'tail -n 5 /tmp/zc-q.log'; fail "SEQPACKET zero-copy transfer"; }
echo "$out"
assert_grep "^OK conns=1 bytes=67108864" "$out"
# A message with no whole page of its buffer in it is copied (a page is
# granted whole, so only whole pages go zero-copy): the short ones. Their
# completions come at once, before those of zero-copy messages sent
# earlier; yasmin-xfer checks every id comes exactly once.
line=$(echo "$out" | grep '^zerocopy sends=')
sends=$(echo "$line" | sed -n 's/^zerocopy sends=\([0-9]*\) .*/\1/p')
zcd=$(echo "$line" | sed -n 's/.* zerocopied=\([0-9]*\) .*/\1/p')
cpd=$(echo "$line" | sed -n 's/.* copied=\([0-9]*\).*/\1/p')
assert_grep "zerocopy sends=$sends completed=$sends " "$line"
assert_eq "$((zcd + cpd))" "$sends" "SEQPACKET sends completed, zero-copied or copied"
[ "$zcd" -ge $((sends / 2)) ] || fail "only $zcd of $sends SEQPACKET messages went zero-copy"

step "guest1 closes with zero-copy sends in flight: guest2 still reads every byte"
# guest2's server is stopped, so nothing is read before the close: the
# bytes in flight (192 KiB, within the window) must reach it anyway.
g2 'yasmin-xfer -s -p 5604 > /tmp/zc-c.log 2>&1 & echo $! > /tmp/zc-c.pid'
wait_log 2 /tmp/zc-c.log 'listening on port'
g2 'kill -STOP $(cat /tmp/zc-c.pid)'
mv0=$(g1 yasmin-stat zc_bytes_moved)
out=$(g1 "yasmin-xfer -c $G2_CID -p 5604 -n 192K -w 128K -Z") ||
	{ g2 'kill -CONT $(cat /tmp/zc-c.pid)'; echo "$out"; fail "zero-copy sender that closes at once"; }
echo "$out"
mv1=$(g1 yasmin-stat zc_bytes_moved)
g2 'kill -CONT $(cat /tmp/zc-c.pid)'
wait_log 2 /tmp/zc-c.log '^(OK|FAIL) conn=' 30
srv=$(g2 'cat /tmp/zc-c.log')
echo "$srv"
# every byte received and verified; its verdict then finds the client gone
echo "$srv" | grep -Eq '^(OK conn=1 rx=196608 tx=0$|FAIL conn=1 rx=196608 tx=0 trailer: )' ||
	fail "guest2 did not verify all 192 KiB after guest1 closed"
echo "guest1 moved $((mv1 - mv0)) bytes of unread zero-copy sends into the ring at close"
[ $((mv1 - mv0)) -gt 0 ] || fail "no send was in flight at the close: nothing tested"
g2 'kill $(cat /tmp/zc-c.pid) 2>/dev/null; true'

step "every page back: counters at baseline on both guests"
g2 'killall yasmin-xfer; true'
i=0
while [ "$(counters 1)" != "$base1" ] || [ "$(counters 2)" != "$base2" ]; do
	i=$((i + 1))
	[ $i -le 30 ] || break
	sleep 0.2
done
assert_eq "$(counters 1)" "$base1" "guest1 counters"
assert_eq "$(counters 2)" "$base2" "guest2 counters"

step "guest2 dies in the middle of a zero-copy stream: every send completes, nothing stays pinned"
g2 'yasmin-xfer -s -p 5602 > /tmp/zc-d.log 2>&1 &'
wait_log 2 /tmp/zc-d.log 'listening on port'
g1 "(yasmin-xfer -c $G2_CID -p 5602 -n 100G -w 128K -z; echo rc=\$?) > /tmp/zc-d.log 2>&1 &"
sleep 3
g1 'grep -q rc= /tmp/zc-d.log' && { g1 'cat /tmp/zc-d.log'; fail "the transfer ended before the destroy"; }
assert_eq "$(g1 yasmin-stat sockets)" 1 "guest1 has the streaming socket"
vm_destroy 2
i=0
until g1 'grep -q rc= /tmp/zc-d.log'; do
	i=$((i + 1)); [ $i -lt 30 ] || { g1 'cat /tmp/zc-d.log'; fail "guest1's sender still runs 30 s after the destroy"; }
	sleep 1
done
out=$(g1 'cat /tmp/zc-d.log')
echo "$out"
assert_grep "rc=4" "$out"
sends=$(echo "$out" | sed -n 's/^zerocopy sends=\([0-9]*\) .*/\1/p')
[ -n "$sends" ] && [ "$sends" -gt 0 ] || fail "no zero-copy send before the destroy"
assert_grep "zerocopy sends=$sends completed=$sends " "$out"
sleep 1
now=$(counters 1)
echo "guest1 after: $now (baseline $base1)"
# The dead peer's control channel went with it: nothing may exceed the
# baseline, and nothing lingers.
for c in sockets grants maps evtchns grants_lingering; do
	b=$(echo "$base1" | sed -n "s/.*\<$c=\([0-9]*\).*/\1/p")
	n=$(echo "$now" | sed -n "s/.*\<$c=\([0-9]*\).*/\1/p")
	[ "$n" -le "$b" ] || fail "guest1 $c: $n after, $b at baseline"
done
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1 pages lingering"

step "recreate guest2; guest1 reaches it again, zero-copy"
vm_create 2
g2 'yasmin-xfer -s -p 5603 > /tmp/zc-s2.log 2>&1 &'
wait_log 2 /tmp/zc-s2.log 'listening on port'
out=$(g1 "yasmin-xfer -c $G2_CID -p 5603 -n 16M -w 128K -z")
echo "$out"
assert_grep "zerocopy sends=128 completed=128 zerocopied=128 copied=0" "$out"
g2 'killall yasmin-xfer 2>/dev/null; sleep 0.5; true'
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
