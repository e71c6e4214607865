# shim_node: Debian's Node.js under the shim in guest2. A cluster HTTP
# server (the primary and 2 workers, round-robin: the primary accepts and
# passes each connection to a worker over SCM_RIGHTS) serves guest1's curl a
# 16 MiB download and 200 requests on 200 connections, all over yasmin,
# both workers serving and each naming the client by guest1's mapped IP.
# Then one process serves, closes its server (the port is free: no TCP
# listener, and guest1's connect is refused, not left hanging), listens
# again on the same port and serves again over yasmin.
# pkgs: nodejs
P=8090	# the cluster
Q=8091	# the single process that closes and listens again

step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"
g2 'command -v node' >/dev/null || fail "node missing from guest2: run with --pkg nodejs"
echo "guest2 runs node $(g2 'node --version') ($(g2 'readlink -f $(command -v node)'))"

# up: seconds since boot with hundredths, for timings.
UP='cut -d" " -f1 /proc/uptime'

step "the servers' scripts in guest2"
g2 'mkdir -p /tmp/node && cd /tmp/node && dd if=/dev/urandom of=blob bs=1M count=16 2>/dev/null &&
dd if=/dev/urandom of=one bs=1M count=4 2>/dev/null && md5sum < blob > blob.md5 && md5sum < one > one.md5'
g2 'cat > /tmp/node/srv.js' <<'EOF'
// A cluster HTTP server: the primary forks 2 workers and, with the default
// round-robin policy, accepts every connection itself and hands it to a
// worker. /blob streams the 16 MiB file; any other path answers who served
// it and whom.
const cluster = require('cluster'), http = require('http'), fs = require('fs');
const port = Number(process.argv[2]);
if (cluster.isPrimary) {
	const policy = cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none';
	let up = 0;
	cluster.on('listening', () => {
		if (++up === 2)
			console.log(`listening on port ${port} pid ${process.pid} workers 2 policy ${policy}`);
	});
	cluster.on('exit', (w, code, sig) => console.log(`worker ${w.id} exited code ${code} signal ${sig}`));
	cluster.fork();
	cluster.fork();
} else {
	const id = cluster.worker.id;
	http.createServer((req, res) => {
		const who = `worker=${id} pid=${process.pid} remote=${req.socket.remoteAddress}`;
		if (req.url === '/blob') {
			res.setHeader('X-Served-By', who);
			res.setHeader('Content-Length', fs.statSync('/tmp/node/blob').size);
			fs.createReadStream('/tmp/node/blob').pipe(res);
			res.on('finish', () => console.log(`blob sent by ${who}`));
		} else {
			res.end(`${who} port=${req.socket.remotePort}\n`);
		}
	}).listen(port);
}
EOF
g2 'cat > /tmp/node/one.js' <<'EOF'
// One process, one server: it listens; SIGUSR1 closes the server (and
// every idle connection); SIGUSR2 listens again on the same port. Each
// request gets the 4 MiB file.
const http = require('http'), fs = require('fs');
const port = Number(process.argv[2]);
let round = 0;
const server = http.createServer((req, res) => {
	const body = fs.readFileSync('/tmp/node/one');
	res.setHeader('X-Remote', String(req.socket.remoteAddress));
	res.end(body, () => console.log(`round ${round} served ${body.length} to ${req.socket.remoteAddress}`));
});
server.on('error', (e) => { console.log(`server error ${e.code} ${e.message}`); process.exit(1); });
function up() {
	server.listen(port, () => console.log(`round ${++round} listening on port ${port} pid ${process.pid}`));
}
process.on('SIGUSR1', () => {
	server.close(() => console.log(`round ${round} closed`));
	server.closeIdleConnections();
});
process.on('SIGUSR2', up);
// Signal handlers do not keep node alive while no server is open.
setInterval(() => {}, 3600 * 1000);
up();
EOF

step "a cluster of 2 workers in guest2"
g2 "cd /tmp/node; yasmin-run node srv.js $P > srv.log 2>&1 & echo \$! > srv.pid"
wait_log 2 /tmp/node/srv.log 'listening on port' 180
wait_listen 2 $P
g2 'cat /tmp/node/srv.log; ps | grep "[n]ode " | grep -v "sh -c"'
assert_grep "policy rr" "$(g2 'cat /tmp/node/srv.log')"
assert_eq "$(g2 'pidof node | wc -w')" 3 "node processes (the primary and 2 workers)"

# The first connection between two guests also opens yasmin's control
# channel between them. Under TCG (PVH above all) that can outlast the
# shim's first-contact wait for a non-blocking connect such as curl's
# (YASMIN_NONBLOCK_WAIT_MS, 1 s), or the vsock connect times out while the
# channel opens; either way that one connection goes over TCP, as the shim
# documents. So guest1 asks until a request goes over yasmin (at most 5
# tries, the first waiting up to 20 s); those measured after it run with
# the defaults.
step "first contact: guest1 asks until a request goes over yasmin"
i=0
while :; do
	i=$((i + 1))
	t0=$(g1 "$UP")
	out=$(g1 "YASMIN_NONBLOCK_WAIT_MS=20000 YASMIN_DEBUG=1 yasmin-run curl -sS -m 60 http://$G2_IP:$P/first 2>&1") ||
		fail "try $i: curl failed: $out"
	t1=$(g1 "$UP")
	echo "try $i in $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s:"
	echo "$out" | grep -v ': map ' | sed 's/^/  /'
	assert_grep "^worker=[12] pid=[0-9]+ remote=(::ffff:)?$G1_IP port=[0-9]+\$" "$out"
	echo "$out" | grep -Eq "connect fd [0-9]+ to $G2_IP port $P: vsock to domain $G2_DOMID" && break
	[ $i -lt 5 ] || fail "no request went over yasmin in 5 tries"
	sleep 1
done

step "guest1 downloads 16 MiB from the cluster over yasmin"
s0=$(g1 yasmin-stat bytes_sent) r0=$(g1 yasmin-stat bytes_received)
t0=$(g1 "$UP")
g1 "YASMIN_DEBUG=1 yasmin-run curl -sS -m 300 -D /tmp/blob.hdr -o /tmp/blob http://$G2_IP:$P/blob 2> /tmp/blob.err" || {
	g1 'cat /tmp/blob.err; ls -l /tmp/blob; yasmin-stat'
	g2 'cat /tmp/node/srv.log; yasmin-stat'
	fail "curl did not get the whole file"
}
t1=$(g1 "$UP")
r1=$(g1 yasmin-stat bytes_received) s1=$(g1 yasmin-stat bytes_sent)
a=$(g2 'cat /tmp/node/blob.md5') b=$(g1 'md5sum < /tmp/blob')
echo "served $a downloaded $b ($(g1 'wc -c < /tmp/blob') bytes in $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s)"
assert_eq "$b" "$a" "digest of the download"
g1 'grep handshake /tmp/blob.err' || true
assert_grep "connect fd [0-9]+ to $G2_IP port $P: vsock to domain $G2_DOMID" "$(g1 'cat /tmp/blob.err')"
hdr=$(g1 'tr -d "\r" < /tmp/blob.hdr | grep -i "^X-Served-By"')
echo "$hdr"
assert_grep "worker=[12] pid=[0-9]+ remote=(::ffff:)?$G1_IP\$" "$hdr"
echo "yasmin carried $((r1 - r0)) bytes to guest1 and $((s1 - s0)) from it"
[ $((r1 - r0)) -ge 16777216 ] || fail "the download did not go over yasmin"

step "200 requests on 200 connections, served by both workers"
s0=$(g1 yasmin-stat bytes_sent) r0=$(g1 yasmin-stat bytes_received)
t0=$(g1 "$UP")
g1 "yasmin-run curl -sS -m 600 -H 'Connection: close' -w '%{num_connects}\n' -o '/tmp/who#1' 'http://$G2_IP:$P/who?[1-200]' > /tmp/who.conns" ||
	fail "curl's 200 requests failed"
t1=$(g1 "$UP")
r1=$(g1 yasmin-stat bytes_received) s1=$(g1 yasmin-stat bytes_sent)
echo "200 requests in $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s"
assert_eq "$(g1 'awk "{ n += \$1 } END { print n }" /tmp/who.conns')" 200 "connections curl opened"
who=$(g1 'i=1; while [ $i -le 200 ]; do cat /tmp/who$i; i=$((i + 1)); done')
body=$(g1 'i=1; while [ $i -le 200 ]; do cat /tmp/who$i; i=$((i + 1)); done | wc -c')
assert_eq "$(echo "$who" | wc -l)" 200 "responses"
bad=$(echo "$who" | grep -Ev "^worker=[12] pid=[0-9]+ remote=(::ffff:)?$G1_IP port=[0-9]+\$" || true)
[ -z "$bad" ] || fail "responses not from a worker naming guest1 ($G1_IP): $(echo "$bad" | head -n 3)"
echo "remote addresses: $(echo "$who" | sed 's/.* remote=\([^ ]*\) .*/\1/' | sort | uniq -c | tr -s ' \n' ' ')"
n1=$(echo "$who" | grep -c '^worker=1 ' || true) n2=$(echo "$who" | grep -c '^worker=2 ' || true)
echo "worker 1 served $n1, worker 2 served $n2"
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "one worker served nothing: worker 1 $n1, worker 2 $n2"
assert_eq "$(echo "$who" | sed 's/.* pid=\([0-9]*\) .*/\1/' | sort -u | wc -l)" 2 "worker pids"
echo "yasmin carried $((r1 - r0)) bytes to guest1 ($body of them bodies) and $((s1 - s0)) from it"
[ $((r1 - r0)) -ge "$body" ] && [ $((s1 - s0)) -ge $((200 * 60)) ] || fail "the requests did not go over yasmin"

step "the cluster stops"
g2 'kill $(cat /tmp/node/srv.pid); i=0; while pidof node > /dev/null; do i=$((i + 1)); [ $i -le 100 ] || exit 1; sleep 0.1; done' ||
	{ g2 'ps | grep "[n]ode"'; fail "node processes left after the primary was killed"; }
g2 'cat /tmp/node/srv.log'

step "one process: listens, serves over yasmin"
g2 "cd /tmp/node; yasmin-run -d node one.js $Q > one.log 2>&1 & echo \$! > one.pid"
wait_log 2 /tmp/node/one.log 'round 1 listening on port' 120
wait_listen 2 $Q
pid1=$(g2 'sed -n "s/^round 1 listening on port [0-9]* pid //p" /tmp/node/one.log')
want=$(g2 'cat /tmp/node/one.md5')
# fetch_one N: guest1 gets the file over yasmin; prints the digest.
fetch_one() {
	_r0=$(g1 yasmin-stat bytes_received)
	g1 "YASMIN_DEBUG=1 yasmin-run curl -sS -m 120 -H 'Connection: close' -D /tmp/one.hdr -o /tmp/one http://$G2_IP:$Q/ 2> /tmp/one.err" || {
		g1 'cat /tmp/one.err'
		g2 'cat /tmp/node/one.log'
		fail "round $1: curl did not get the file"
	}
	_r1=$(g1 yasmin-stat bytes_received)
	_got=$(g1 'md5sum < /tmp/one')
	echo "round $1: served $want downloaded $_got; yasmin carried $((_r1 - _r0)) bytes to guest1"
	assert_eq "$_got" "$want" "round $1: digest of the download"
	[ $((_r1 - _r0)) -ge 4194304 ] || fail "round $1: the download did not go over yasmin"
	assert_grep "connect fd [0-9]+ to $G2_IP port $Q: vsock to domain $G2_DOMID" "$(g1 'cat /tmp/one.err')"
	assert_grep "^X-Remote: (::ffff:)?$G1_IP\$" "$(g1 'tr -d "\r" < /tmp/one.hdr')"
}
fetch_one 1
wait_log 2 /tmp/node/one.log 'round 1 served 4194304'

step "server.close() frees the port"
g2 'kill -USR1 $(cat /tmp/node/one.pid)'
wait_log 2 /tmp/node/one.log 'round 1 closed'
hex=$(printf '%04X' $Q)
i=0
while g2 "grep -Eq ':$hex [0-9A-F]+:[0-9A-F]+ 0A' /proc/net/tcp /proc/net/tcp6"; do
	i=$((i + 1))
	[ $i -le 30 ] || fail "a TCP listener on port $Q is left after server.close()"
	sleep 0.1
done
echo "no TCP listener on port $Q in guest2"
# The shim closes its vsock listener when it sees the TCP one go: libuv
# closes with a raw system call, which the shim's helper notices within a
# second (one.js runs with the shim's log on: yasmin-run -d).
wait_log 2 /tmp/node/one.log "listener on port $Q was closed: vsock listener too" 10
t0=$(g1 "$UP")
rc=0
g1 "YASMIN_DEBUG=1 yasmin-run curl -sS -m 20 -o /dev/null http://$G2_IP:$Q/ 2> /tmp/refused.err" || rc=$?
t1=$(g1 "$UP")
err=$(g1 'cat /tmp/refused.err')
echo "$err" | grep -v '^yasmin: map' | tail -n 4
echo "curl exited $rc in $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s"
[ "$rc" != 0 ] || fail "a connect to the closed port succeeded"
[ "$rc" = 7 ] || fail "curl exit $rc on the closed port, not 7 (connection refused)"
assert_grep "vsock connect to domain $G2_DOMID port $Q failed" "$err"
assert_eq "$(g2 'pidof node')" "$pid1" "the node process after close()"

step "the same process listens again on the same port and serves over yasmin"
g2 'kill -USR2 $(cat /tmp/node/one.pid)'
wait_log 2 /tmp/node/one.log 'round 2 listening on port'
wait_listen 2 $Q
assert_grep "^round 2 listening on port $Q pid $pid1\$" "$(g2 'cat /tmp/node/one.log')"
fetch_one 2
wait_log 2 /tmp/node/one.log 'round 2 served 4194304'
g2 'cat /tmp/node/one.log'
g2 '! grep -q "server error" /tmp/node/one.log' || fail "node reported a server error"

step "the single process stops"
g2 'kill $(cat /tmp/node/one.pid); i=0; while pidof node > /dev/null; do i=$((i + 1)); [ $i -le 100 ] || exit 1; sleep 0.1; done' ||
	fail "node is left after kill"
g2 'rm -rf /tmp/node'
g1 'rm -f /tmp/blob /tmp/blob.hdr /tmp/blob.err /tmp/who* /tmp/one /tmp/one.hdr /tmp/one.err /tmp/refused.err'
