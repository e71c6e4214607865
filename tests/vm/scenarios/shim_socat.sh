# shim_socat: unmodified socat, listener in guest2 and client in guest1,
# both under the shim: 64 MiB arrive intact, over yasmin.
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "socat TCP-LISTEN in guest2, socat TCP client in guest1"
g2 'rm -f /tmp/socat.rx; yasmin-run socat -u TCP-LISTEN:6200,reuseaddr OPEN:/tmp/socat.rx,creat > /tmp/socat-s.log 2>&1 &'
wait_listen 2 6200
g1 'dd if=/dev/urandom of=/tmp/socat.tx bs=1M count=64 2>/dev/null'
y0=$(g1 yasmin-stat bytes_sent)
g1 "YASMIN_DEBUG=1 yasmin-run socat -u OPEN:/tmp/socat.tx TCP:$G2_IP:6200"
# socat -u TCP-LISTEN serves one connection and exits once the file is written.
g2 'i=0; while pidof socat >/dev/null; do i=$((i + 1)); [ $i -le 300 ] || exit 1; sleep 0.1; done' ||
	{ g2 'cat /tmp/socat-s.log'; fail "guest2's socat still runs 30 s after the client finished"; }
a=$(g1 'md5sum < /tmp/socat.tx') b=$(g2 'md5sum < /tmp/socat.rx')
echo "sent $a received $b"
assert_eq "$b" "$a" "digest of what guest2 received"
y1=$(g1 yasmin-stat bytes_sent)
[ $((y1 - y0)) -ge 67108864 ] || fail "socat's bytes did not go over yasmin"
