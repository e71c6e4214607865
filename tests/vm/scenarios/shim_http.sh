# shim_http: unmodified webfsd (a small HTTP server) in guest2 and GNU wget
# in guest1, both under the shim: a 32 MiB file downloads intact over
# yasmin, and the server logs guest1's mapped address.
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "webfsd serving /tmp/www in guest2"
# webfsd looks up the user it runs as; the minimal guest has no user database.
g2 'grep -q ^root: /etc/passwd 2>/dev/null || echo "root:x:0:0:root:/root:/bin/sh" >> /etc/passwd
grep -q ^root: /etc/group 2>/dev/null || echo "root:x:0:" >> /etc/group'
g2 'mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1M count=32 2>/dev/null'
g2 'yasmin-run webfsd -F -u root -g root -p 8080 -r /tmp/www -L - > /tmp/webfs.log 2>&1 &'
wait_listen 2 8080

step "wget in guest1 downloads it over yasmin"
y0=$(g1 yasmin-stat bytes_received)
g1 "yasmin-run /usr/bin/wget -q -O /tmp/blob http://$G2_IP:8080/blob"
a=$(g2 'md5sum < /tmp/www/blob') b=$(g1 'md5sum < /tmp/blob')
echo "served $a downloaded $b"
assert_eq "$b" "$a" "digest of the download"
y1=$(g1 yasmin-stat bytes_received)
[ $((y1 - y0)) -ge 33554432 ] || fail "the download did not go over yasmin"
log=$(g2 'cat /tmp/webfs.log')
echo "$log"
assert_grep "$G1_IP" "$log"
g2 'killall webfsd; true'
