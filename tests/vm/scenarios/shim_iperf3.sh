# shim_iperf3: unmodified iperf3, server in guest2 and client in guest1,
# both under libyasmin.so, runs both ways (-R too) over yasmin: the module's
# byte counters carry the traffic and the vif's do not. iperf3's own report
# of local and peer addresses shows the mapped IPs and ports, and the two
# ends agree on guest1's port.
step "map guest1 and guest2 in both guests"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "iperf3 server under the shim in guest2"
g2 'YASMIN_DEBUG=1 yasmin-run iperf3 -s -p 5201 > /tmp/iperf3-s.log 2>&1 &'
wait_listen 2 5201

run() { # extra-args -> bytes received by the receiver
	b1=$(g1 'yasmin-stat bytes_sent; yasmin-stat bytes_received; cat /sys/class/net/eth0/statistics/tx_bytes /sys/class/net/eth0/statistics/rx_bytes' | tr '\n' ' ')
	out=$(g1 "YASMIN_DEBUG=1 yasmin-run iperf3 -c $G2_IP -p 5201 -t 3 $1 2>/tmp/iperf3-c.err") ||
		{ echo "$out"; g1 'cat /tmp/iperf3-c.err'; fail "iperf3 client $1 failed"; }
	echo "$out"
	g1 'cat /tmp/iperf3-c.err'
	b2=$(g1 'yasmin-stat bytes_sent; yasmin-stat bytes_received; cat /sys/class/net/eth0/statistics/tx_bytes /sys/class/net/eth0/statistics/rx_bytes' | tr '\n' ' ')
	echo "guest1 yasmin sent/received, vif tx/rx before: $b1"
	echo "guest1 yasmin sent/received, vif tx/rx after:  $b2"
	bytes=$(echo "$out" | awk '/receiver/ { v=$5; u=$6 } END {
		m = (u ~ /^G/) ? 1073741824 : (u ~ /^M/) ? 1048576 : (u ~ /^K/) ? 1024 : 1;
		printf "%.0f", v * m }')
	[ "$bytes" -gt 0 ] || fail "iperf3 $1 reported no bytes"
	assert_grep "local $G1_IP port [0-9]+ connected to $G2_IP port 5201" "$out"
	set -- $b1 $b2
	ysent=$(( $5 - $1 )) yrcvd=$(( $6 - $2 )) vtx=$(( $7 - $3 )) vrx=$(( $8 - $4 ))
	echo "transferred $bytes; yasmin sent $ysent received $yrcvd; vif tx $vtx rx $vrx"
}

step "iperf3 guest1 -> guest2 through the shim"
run ""
# iperf3 prints rounded figures (2.41 GBytes): allow 1 %
[ $((ysent / 99)) -ge $((bytes / 100)) ] || fail "yasmin carried $ysent bytes, iperf3 moved $bytes"
[ "$vtx" -lt $((bytes / 10)) ] || fail "the vif sent $vtx bytes: traffic went over the network"

step "iperf3 -R (guest2 -> guest1) through the shim"
run "-R"
[ $((yrcvd / 99)) -ge $((bytes / 100)) ] || fail "yasmin carried $yrcvd bytes, iperf3 moved $bytes"
[ "$vrx" -lt $((bytes / 10)) ] || fail "the vif received $vrx bytes: traffic went over the network"

step "the server saw guest1 by its mapped address"
log=$(g2 'cat /tmp/iperf3-s.log')
echo "$log" | grep -v '^\[ *[0-9]*\] *[0-9.]*-' | head -20
assert_grep "Accepted connection from $G1_IP, port [0-9]+" "$log"
assert_grep "local $G2_IP port 5201 connected to $G1_IP port [0-9]+" "$log"
assert_grep "yasmin(\[[0-9]+\])?: accept fd [0-9]+: vsock from domain $G1_DOMID" "$log"
# The -R run's data connection: the port guest1's socket has as its own is
# the one guest2 sees as its peer's.
cport=$(echo "$out" | sed -n "s/.* local $G1_IP port \([0-9]*\) connected to $G2_IP port 5201.*/\1/p" | head -1)
[ -n "$cport" ] || fail "iperf3 -R printed no local port for guest1"
echo "guest1's data socket is port $cport"
assert_grep "local $G2_IP port 5201 connected to $G1_IP port $cport( |\$)" "$log"
g2 'killall iperf3; true'
