# shim_nginx: Debian's nginx under the shim in guest2 with worker_processes 2
# (EPOLLEXCLUSIVE, listen() again, daemon fork): curl in guest1 downloads
# 32 MiB intact and makes 1,000 keep-alive requests on one connection, all
# over yasmin; then the binary upgrade (USR2, QUIT the old master) keeps
# serving over yasmin from the inherited vsock listener. nginx.conf has no
# "env" lines: nginx gives the new binary an empty environment, and the
# shim carries itself (LD_PRELOAD, YASMIN_*) into its own re-exec. Needs --pkg nginx
# --pkg curl.
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"
command -v curl >/dev/null 2>&1 || g1 'command -v curl' >/dev/null || fail "curl missing: run with --pkg curl"

step "nginx, 2 workers, in guest2"
g2 'grep -q ^root: /etc/passwd 2>/dev/null || echo "root:x:0:0:root:/root:/bin/sh" >> /etc/passwd
grep -q ^root: /etc/group 2>/dev/null || echo "root:x:0:" >> /etc/group
grep -q ^nogroup: /etc/group || echo "nogroup:x:65534:" >> /etc/group
mkdir -p /tmp/ngx/www /var/lib/nginx /var/log/nginx /run
seq 1 400 > /tmp/ngx/www/small
dd if=/dev/urandom of=/tmp/ngx/www/blob bs=1M count=32 2>/dev/null
cat > /tmp/ngx/nginx.conf <<EOC
worker_processes 2;
user root;
pid /tmp/ngx/nginx.pid;
error_log /tmp/ngx/error.log info;
events { worker_connections 256; }
http {
	log_format conn "\$remote_addr \$connection \$status \$bytes_sent";
	access_log /tmp/ngx/access.log conn;
	keepalive_requests 5000;
	sendfile on;
	server { listen 8081; root /tmp/ngx/www; }
}
EOC
YASMIN_DEBUG=1 yasmin-run /usr/sbin/nginx -c /tmp/ngx/nginx.conf'
wait_listen 2 8081
sleep 1
g2 'ps' | grep 'nginx: worker' || true
n=$(g2 'ps | grep -c "[n]ginx: worker"')
assert_eq "$n" 2 "nginx worker processes"
log=$(g2 'cat /tmp/ngx/error.log')
echo "$log" | grep -v 'accept fd' | tail -n 20
echo "$log" | grep -E 'failed|emerg|alert|crit' && fail "nginx reported a failure at start-up"

step "curl in guest1 downloads 32 MiB over yasmin"
y0=$(g1 yasmin-stat bytes_received)
g1 "YASMIN_DEBUG=1 yasmin-run curl -sS -o /tmp/blob http://$G2_IP:8081/blob" || {
	g2 'grep -v "accept fd" /tmp/ngx/error.log | tail -n 20; yasmin-stat'
	g1 'ls -l /tmp/blob; yasmin-stat'
	fail "curl did not get the whole file"
}
a=$(g2 'md5sum < /tmp/ngx/www/blob') b=$(g1 'md5sum < /tmp/blob')
echo "served $a downloaded $b"
assert_eq "$b" "$a" "digest of the download"
y1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to guest1"
[ $((y1 - y0)) -ge 33554432 ] || fail "the download did not go over yasmin"
assert_grep "^$G1_IP " "$(g2 'tail -n 1 /tmp/ngx/access.log')"

step "1,000 keep-alive requests on one connection"
y0=$(g1 yasmin-stat bytes_received)
g2 ': > /tmp/ngx/access.log'
want=$(g2 'i=0; while [ $i -lt 1000 ]; do cat /tmp/ngx/www/small; i=$((i + 1)); done | md5sum')
got=$(g1 "yasmin-run curl -sS 'http://$G2_IP:8081/small?[1-1000]' | md5sum")
echo "expected $want got $got"
assert_eq "$got" "$want" "digest of 1,000 responses"
y1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to guest1"
[ $((y1 - y0)) -ge $((1000 * 1492)) ] || fail "the requests did not go over yasmin"
acc=$(g2 'cat /tmp/ngx/access.log')
assert_eq "$(echo "$acc" | grep -c "^$G1_IP .* 200 ")" 1000 "requests logged from guest1's mapped IP"
assert_eq "$(echo "$acc" | awk '{print $2}' | sort -u | wc -l)" 1 "connections used"

step "binary upgrade: USR2, then QUIT the old master"
g2 'kill -USR2 $(cat /tmp/ngx/nginx.pid)
i=0; until [ -f /tmp/ngx/nginx.pid.oldbin ] && [ -s /tmp/ngx/nginx.pid ]; do i=$((i + 1)); [ $i -le 100 ] || exit 1; sleep 0.1; done
sleep 1
kill -QUIT $(cat /tmp/ngx/nginx.pid.oldbin)
i=0; while [ -f /tmp/ngx/nginx.pid.oldbin ]; do i=$((i + 1)); [ $i -le 300 ] || exit 1; sleep 0.1; done' ||
	fail "the upgrade did not complete"
g2 'ps' | grep nginx || true
assert_grep 'inherited listener on port 8081' "$(g2 'cat /tmp/ngx/error.log')"
y0=$(g1 yasmin-stat bytes_received)
g1 "yasmin-run curl -sS -o /tmp/blob2 http://$G2_IP:8081/blob"
assert_eq "$(g1 'md5sum < /tmp/blob2')" "$a" "digest after the upgrade"
y1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to guest1 after the upgrade"
[ $((y1 - y0)) -ge 33554432 ] || fail "after the upgrade the download did not go over yasmin"
g2 'kill -QUIT $(cat /tmp/ngx/nginx.pid); sleep 1; true'
