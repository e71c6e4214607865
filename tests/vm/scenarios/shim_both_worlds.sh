# shim_both_worlds: one shimmed server in guest2 accepts, at the same time,
# a yasmin client from guest1 and a plain TCP client from dom0 (unmapped).
# Both transfers are verified byte for byte by yasmin-xfer, which is an
# ordinary AF_INET program here.
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "shimmed TCP server in guest2"
g2 'YASMIN_DEBUG=1 yasmin-run yasmin-xfer -s -f inet -p 6000 > /tmp/both-s.log 2>&1 &'
wait_listen 2 6000
y0=$(g2 yasmin-stat bytes_received)

step "guest1 (shimmed, yasmin) and dom0 (TCP) transfer at once"
g1 "YASMIN_DEBUG=1 yasmin-run yasmin-xfer -f inet -c $G2_IP -p 6000 -n 256M -d > /tmp/both-c.log 2>&1; echo rc=\$? >> /tmp/both-c.log &"
yasmin-xfer -f inet -c "$G2_IP" -p 6000 -n 64M -d > /tmp/both-dom0.log 2>&1 || { cat /tmp/both-dom0.log; fail "dom0's TCP transfer"; }
cat /tmp/both-dom0.log
i=0
until g1 'grep -q rc= /tmp/both-c.log'; do
	i=$((i + 1)); [ $i -lt 120 ] || fail "guest1's transfer did not finish"; sleep 1
done
out=$(g1 'cat /tmp/both-c.log')
echo "$out"
assert_grep "rc=0" "$out"
assert_grep "vsock to domain $G2_DOMID" "$out"
y1=$(g2 yasmin-stat bytes_received)
echo "guest2 received over yasmin: $((y1 - y0)) bytes"
[ $((y1 - y0)) -ge 268435456 ] || fail "guest1's bytes did not go over yasmin"

step "the server accepted one of each, both verified"
log=$(g2 'cat /tmp/both-s.log')
echo "$log"
assert_grep "accept fd [0-9]+: vsock from domain $G1_DOMID \($G1_IP port" "$log"
assert_grep "accept fd [0-9]+: TCP as fd" "$log"
assert_eq "$(echo "$log" | grep -c '^OK conn=')" 2 "verified connections"
g2 'killall yasmin-xfer; true'
