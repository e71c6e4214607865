# kmod_conns: 64 connections transfer in parallel, each verifying its data.
step "guest2 serves; guest1 opens 64 connections of 16 MiB each"
g2 'yasmin-xfer -s -p 5100 > /tmp/conns-s.log 2>&1 &'
sleep 1
out=$(g1 "yasmin-xfer -c $G2_CID -p 5100 -n 16M -P 64 -d") || { echo "$out"; g2 'tail /tmp/conns-s.log'; fail "64 parallel connections"; }
echo "$out"
sleep 1
assert_eq "$(g2 'grep -c "^OK" /tmp/conns-s.log')" 64 "connections verified by guest2"

step "no socket or grant left behind"
g2 'killall yasmin-xfer 2>/dev/null; sleep 0.5'
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
# guest2 (the higher domid) maps guest1's control page, and nothing else.
assert_eq "$(g2 yasmin-stat maps)" 1 "pages guest2 still maps"
g1 yasmin-stat
