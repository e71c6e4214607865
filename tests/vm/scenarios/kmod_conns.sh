# kmod_conns: 64 connections transfer in parallel, each verifying its data.
# Then a server slow to close: guest2 keeps each connection open for a
# minute after guest1 closed it (CLOSE_WAIT), and guest1 still opens 24 more
# one after another. guest2 lets go of each channel once guest1 has shut it
# and every byte is read, so none of guest1's pages linger: before that,
# the 14th connection found max_peer_lingering reached (3584 pages, 258 per
# connection) and failed with ENOBUFS.
step "guest2 serves; guest1 opens 64 connections of 16 MiB each"
g2 'yasmin-xfer -s -p 5100 > /tmp/conns-s.log 2>&1 &'
sleep 1
out=$(g1 "yasmin-xfer -c $G2_CID -p 5100 -n 16M -P 64 -d") || { echo "$out"; g2 'tail /tmp/conns-s.log'; fail "64 parallel connections: $(echo "$out" | tail -n 1)"; }
echo "$out"
sleep 1
assert_eq "$(g2 'grep -c "^OK" /tmp/conns-s.log')" 64 "connections verified by guest2"

step "guest2 holds each closed connection a minute; guest1 opens 24, one after another"
g2 'yasmin-xfer -s -p 5101 -H 60 > /tmp/hold-s.log 2>&1 &'
wait_log 2 /tmp/hold-s.log 'listening on port'
out=$(g1 -t 300 "for i in \$(seq 24); do yasmin-xfer -c $G2_CID -p 5101 -n 1M || { echo \"connection \$i failed\"; exit 1; }; done") ||
	{ echo "$out"; fail "connections to a server that is slow to close"; }
assert_eq "$(g2 'grep -c "^OK" /tmp/hold-s.log')" 24 "connections verified by guest2"
held=$(g2 yasmin-stat sockets)
echo "guest2 holds $held sockets"
[ "$held" -ge 24 ] || fail "guest2 holds $held sockets, not the 24 it keeps open"
assert_eq "$(g2 yasmin-stat maps)" 1 "pages guest2 maps while it holds 24 closed connections"
assert_eq "$(g1 yasmin-stat grants_lingering)" 0 "guest1's pages still mapped after it let go"

step "no socket or grant left behind"
g2 'killall yasmin-xfer 2>/dev/null; sleep 0.5'
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
# guest2 (the higher domid) maps guest1's control page, and nothing else.
assert_eq "$(g2 yasmin-stat maps)" 1 "pages guest2 still maps"
g1 yasmin-stat
