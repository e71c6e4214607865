# shim_inetd: an inetd-style server (socat fork + EXEC:) under the shim in
# guest2; each exec'd child has no shim memory of its socket, yet
# getpeername() on its stdin names guest1 by its mapped IP. Over yasmin.
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "socat TCP-LISTEN,fork EXEC:yasmin-peer in guest2"
g2 'yasmin-run socat TCP-LISTEN:7100,fork,reuseaddr EXEC:/opt/yasmin/bin/yasmin-peer,nofork > /tmp/inetd.log 2>&1 &'
wait_listen 2 7100

step "guest1 connects twice; the child reports guest1's mapped IP"
y0=$(g1 yasmin-stat bytes_received)
for i in 1 2; do
	out=$(g1 "YASMIN_DEBUG=1 yasmin-run socat -T 10 - TCP:$G2_IP:7100 < /dev/null 2>&1")
	echo "$out"
	assert_grep "^peer inet $G1_IP [0-9]+$" "$out"
	assert_grep "^local inet $G2_IP 7100$" "$out"
	assert_grep "vsock to domain $G2_DOMID" "$out"
done
y1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to guest1"
[ $((y1 - y0)) -gt 0 ] || fail "the replies did not come over yasmin"
g2 'killall socat; true'
