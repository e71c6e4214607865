# kmod_bulk: 1 GiB over yasmin from guest1 to guest2, back, and both ways
# at once, every byte verified by yasmin-xfer; 256 MiB over netfront TCP
# for the ratio (a measurement, not a test: bench/ measures it properly);
# the cost in events; and SOCK_SEQPACKET both ways at once on 4
# connections, every message's length and bytes verified.
SIZE=${BULK_SIZE:-1G}
NETFRONT_SIZE=${BULK_NETFRONT_SIZE:-256M}
SEQ_SIZE=${BULK_SEQ_SIZE:-32M}

ev() { # guest N -> "events_sent events_received"
	guest "$1" 'echo $(yasmin-stat events_sent) $(yasmin-stat events_received)'
}

step "servers on guest1 and guest2 (vsock port 5000, TCP port 5001)"
g1 'yasmin-xfer -s -p 5000 > /tmp/xfer-s.log 2>&1 &'
g2 'yasmin-xfer -s -p 5000 > /tmp/xfer-s.log 2>&1 &'
g2 'yasmin-xfer -s -f inet -p 5001 > /tmp/xfer-si.log 2>&1 &'
g2 'yasmin-xfer -s -q -p 5002 > /tmp/xfer-sq.log 2>&1 &'
wait_log 2 /tmp/xfer-sq.log 'listening on port'
wait_log 1 /tmp/xfer-s.log 'listening on port'
wait_log 2 /tmp/xfer-s.log 'listening on port'
wait_log 2 /tmp/xfer-si.log 'listening on port'

# Events each guest sent and received since the snapshots $1 (guest1)
# and $2 (guest2) were taken.
evd() { # before-g1 before-g2
	a=$(ev 1) b=$(ev 2)
	echo "events guest1 +$(( ${a% *} - ${1% *} )) sent +$(( ${a#* } - ${1#* } )) received;" \
	     "guest2 +$(( ${b% *} - ${2% *} )) sent +$(( ${b#* } - ${2#* } )) received"
}

e1=$(ev 1) f1=$(ev 2)
step "$SIZE guest1 -> guest2 over yasmin"
out=$(g1 "yasmin-xfer -c $G2_CID -p 5000 -n $SIZE") || { echo "$out"; fail "guest1 -> guest2 transfer"; }
echo "yasmin g1->g2: $out"
ym=$(echo "$out" | sed -n 's/.*MBps=\([0-9.]*\).*/\1/p')
echo "g1->g2 $(evd "$e1" "$f1")"
e2=$(ev 1) f2=$(ev 2)

step "events stay far below send() calls: $SIZE in 64 KiB writes"
out=$(g1 "yasmin-xfer -c $G2_CID -p 5000 -n $SIZE -w 64K") || { echo "$out"; fail "64 KiB writes"; }
e3=$(ev 1)
echo "64 KiB writes: $out"
echo "64K writes $(evd "$e2" "$f2")"
sends=$(( $(echo "$out" | sed -n 's/.*bytes=\([0-9]*\).*/\1/p') / 65536 ))
sent=$(( ${e3% *} - ${e2% *} ))
echo "send() calls: $sends; guest1 events sent: $sent"
# Notification only on request (want-data/want-space) must not cost an
# event per write, or small writes would pay a hypercall each.
[ "$sent" -lt $((sends / 4)) ] || fail "guest1 sent $sent events for $sends sends"

e4=$(ev 1) f4=$(ev 2)
step "$SIZE guest2 -> guest1 over yasmin"
out=$(g2 "yasmin-xfer -c $G1_CID -p 5000 -n $SIZE") || { echo "$out"; fail "guest2 -> guest1 transfer"; }
echo "yasmin g2->g1: $out"
echo "g2->g1 $(evd "$e4" "$f4")"

e5=$(ev 1) f5=$(ev 2)
step "$SIZE each way at once over yasmin"
out=$(g1 "yasmin-xfer -c $G2_CID -p 5000 -n $SIZE -d") || { echo "$out"; fail "bidirectional transfer"; }
echo "yasmin both: $out"
echo "both ways $(evd "$e5" "$f5")"

step "$NETFRONT_SIZE guest1 -> guest2 over netfront TCP, for comparison"
out=$(g1 "yasmin-xfer -f inet -c $G2_IP -p 5001 -n $NETFRONT_SIZE") || { echo "$out"; fail "netfront transfer"; }
echo "netfront g1->g2: $out"
nm=$(echo "$out" | sed -n 's/.*MBps=\([0-9.]*\).*/\1/p')
echo "ratio yasmin/netfront ($SIZE against $NETFRONT_SIZE): $(awk "BEGIN{printf \"%.2f\", $ym/$nm}")"

step "SOCK_SEQPACKET: $SEQ_SIZE each way at once on 4 connections, messages of 1 byte to 64 KiB"
out=$(g1 "yasmin-xfer -q -c $G2_CID -p 5002 -n $SEQ_SIZE -d -P 4 -w 64K") || { echo "$out"; fail "SOCK_SEQPACKET transfer"; }
echo "yasmin SOCK_SEQPACKET both: $out"
assert_eq "$(g2 'grep -c ^OK /tmp/xfer-sq.log')" 4 "verified SOCK_SEQPACKET connections on guest2"
assert_eq "$(g2 'grep -c ^FAIL /tmp/xfer-sq.log; true')" 0 "SOCK_SEQPACKET failures on guest2"

step "the servers saw every transfer verified"
g2 'cat /tmp/xfer-s.log'
assert_eq "$(g2 'grep -c ^OK /tmp/xfer-s.log')" 3 "verified transfers on guest2"
assert_eq "$(g1 'grep -c ^OK /tmp/xfer-s.log')" 1 "verified transfers on guest1"
assert_eq "$(g2 'grep -c ^FAIL /tmp/xfer-s.log; true')" 0 "failures on guest2"
assert_eq "$(g2 'grep -c ^OK /tmp/xfer-si.log')" 1 "verified TCP transfers on guest2"

step "no socket left behind"
g1 'killall yasmin-xfer 2>/dev/null; sleep 0.5; yasmin-stat'
g2 'killall yasmin-xfer 2>/dev/null; sleep 0.5; yasmin-stat'
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
