# shim_redis: Debian's Redis under the shim. A master in guest2 and a
# replica in guest1 (its link to the master, a full resync and the stream
# of writes after it all go over yasmin), redis-cli and redis-benchmark in
# guest1 (epoll servers and clients, non-blocking connects, pipelining,
# 50 connections at once). Checked by the data, not by the tools' word:
# an 8 MiB value read back by digest, redis-benchmark's INCRs and LPUSHes
# counted exactly (nothing lost, nothing applied twice), the replica's
# whole dataset equal to the master's (DEBUG DIGEST), and both servers
# naming guest1 by its mapped IP. The master drops the replica's link and
# the replica comes back with a partial resync. Then the master stops,
# the replica notices, and nothing listens.
# pkgs: redis-server redis-tools
P=6379
RP=6380
OPTS="--save '' --appendonly no --protected-mode no --enable-debug-command yes --daemonize yes"

step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"
g2 'command -v redis-server' >/dev/null || fail "redis-server missing from guest2: run with --pkg redis-server"
g1 'command -v redis-benchmark' >/dev/null || fail "redis-benchmark missing from guest1: run with --pkg redis-tools"
echo "guest2 runs $(g2 'redis-server --version')"

step "the master in guest2, a daemon under the shim"
g2 "rm -rf /tmp/rm && mkdir -p /tmp/rm && cd /tmp/rm &&
yasmin-run redis-server --port $P --bind 0.0.0.0 --dir /tmp/rm --logfile /tmp/rm/log $OPTS"
wait_listen 2 $P
cli() { echo "yasmin-run redis-cli -h $G2_IP -p $P"; }

step "guest1 stores an 8 MiB value and reads it back"
g1 'head -c 8388608 /dev/urandom | base64 -w0 > /tmp/big && md5sum < /tmp/big > /tmp/big.md5'
y0=$(g1 yasmin-stat bytes_sent) r0=$(g1 yasmin-stat bytes_received)
assert_eq "$(g1 "$(cli) -x SET big < /tmp/big")" OK "reply to SET"
got=$(g1 "$(cli) GET big | tr -d '\n' | md5sum")
assert_eq "$got" "$(g1 'cat /tmp/big.md5')" "digest of the value read back"
y1=$(g1 yasmin-stat bytes_sent) r1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to the master and $((r1 - r0)) back"
[ $((y1 - y0)) -ge 8388608 ] && [ $((r1 - r0)) -ge 8388608 ] || fail "the value did not go over yasmin"
# CLIENT LIST names the connection it answers on: getpeername() and
# getsockname() of the accepted socket, through the shim.
out=$(g1 "$(cli) CLIENT LIST")
echo "$out"
assert_grep "addr=$G1_IP:[0-9]+ laddr=$G2_IP:$P " "$out"

step "redis-benchmark: 50 clients, then pipelined; every INCR and LPUSH counted"
out=$(g1 "yasmin-run redis-benchmark -h $G2_IP -p $P -c 50 -n 10000 -t set,get,incr,lpush -q 2>&1 | tr '\r' '\n' | grep 'requests per second'") ||
	fail "redis-benchmark failed: $(g2 'tail -n 5 /tmp/rm/log')"
echo "$out"
assert_eq "$(echo "$out" | grep -cE '^(SET|GET|INCR|LPUSH): [0-9.]+ requests per second')" 4 "benchmarks that finished"
out=$(g1 "yasmin-run redis-benchmark -h $G2_IP -p $P -c 8 -n 20000 -P 16 -t incr -q 2>&1 | tr '\r' '\n' | grep 'requests per second'") ||
	fail "pipelined redis-benchmark failed"
echo "$out"
# Without -r every request names the same key: the count is exact.
assert_eq "$(g1 "$(cli) GET counter:__rand_int__")" 30000 "INCRs applied (10000 + 20000 pipelined)"
assert_eq "$(g1 "$(cli) LLEN mylist")" 10000 "LPUSHes applied"

step "a replica in guest1 under the shim: full resync over yasmin"
g1 "rm -rf /tmp/rr && mkdir -p /tmp/rr && cd /tmp/rr &&
yasmin-run redis-server --port $RP --bind 127.0.0.1 --dir /tmp/rr --logfile /tmp/rr/log --replicaof $G2_IP $P $OPTS"
g1 "i=0; until redis-cli -p $RP INFO replication 2>/dev/null | grep -q '^master_link_status:up'; do
	i=\$((i + 1)); [ \$i -le 300 ] || exit 1; sleep 0.1; done" ||
	fail "the replica did not sync: $(g1 'tail -n 8 /tmp/rr/log')"
g1 'grep -E "MASTER <-> REPLICA sync|Connecting to MASTER" /tmp/rr/log'
master=$(g1 "$(cli) DEBUG DIGEST") replica=$(g1 "redis-cli -p $RP DEBUG DIGEST")
echo "dataset digest: master $master, replica $replica"
[ -n "$master" ] && [ "$master" != 0000000000000000000000000000000000000000 ] || fail "the master's digest is empty"
assert_eq "$replica" "$master" "the replica's dataset digest"
assert_eq "$(g1 "redis-cli -p $RP GET big | tr -d '\n' | md5sum")" "$(g1 'cat /tmp/big.md5')" "digest of the value on the replica"
# The master names its replica by the address it connected from.
out=$(g1 "$(cli) INFO replication | tr -d '\r'")
echo "$out" | grep -E '^(connected_slaves|slave0):'
assert_grep "^slave0:ip=$G1_IP,port=$RP,state=online" "$out"

step "writes after the sync stream to the replica; WAIT counts its ack"
assert_eq "$(g1 "$(cli) SET after sync")" OK "reply to SET"
assert_eq "$(g1 "$(cli) INCRBY counter:__rand_int__ 5")" 30005 "INCRBY on the master"
assert_eq "$(g1 "$(cli) WAIT 1 5000")" 1 "replicas that acknowledged (WAIT)"
assert_eq "$(g1 "redis-cli -p $RP GET after")" sync "the write on the replica"
assert_eq "$(g1 "redis-cli -p $RP GET counter:__rand_int__")" 30005 "the counter on the replica"
assert_eq "$(g1 "redis-cli -p $RP DEBUG DIGEST")" "$(g1 "$(cli) DEBUG DIGEST")" "the replica's dataset digest after the stream"
# Redis logs what went wrong with a connection or the link (accept,
# socket options, sync, timeouts) in words like these; up to here there
# must be none in either log. (Its start-up advice to enable memory
# overcommit is about the guest's sysctl, which other scenarios share.)
g2 "grep -iE 'error|unable|fail|refused|timeout|lost' /tmp/rm/log | grep -v overcommit | head -n 5" | grep . &&
	fail "the master logged a problem"
g1 "grep -iE 'error|unable|fail|refused|timeout|lost' /tmp/rr/log | grep -v overcommit | head -n 5" | grep . &&
	fail "the replica logged a problem"

step "the master drops its replica's link: the replica reconnects, resyncs partially"
# The master closes its side of the accepted socket; the replica reads
# EOF, connects again through the shim and asks to continue from its
# offset (PSYNC), which the master's backlog allows.
assert_eq "$(g1 "$(cli) CLIENT KILL TYPE replica")" 1 "replica links the master closed"
g1 "i=0; until grep -q 'Successful partial resynchronization with master' /tmp/rr/log; do
	i=\$((i + 1)); [ \$i -le 300 ] || exit 1; sleep 0.1; done" ||
	fail "the replica did not resync partially: $(g1 'tail -n 8 /tmp/rr/log')"
g2 "grep 'Partial resynchronization request from $G1_IP:$RP accepted' /tmp/rm/log" ||
	fail "the master did not log the partial resync from $G1_IP: $(g2 'tail -n 5 /tmp/rm/log')"
g2 "grep -c 'Full resync requested' /tmp/rm/log" | grep -qx 1 || fail "the master ran a second full resync"
assert_eq "$(g1 "$(cli) INCR counter:__rand_int__")" 30006 "INCR on the master"
assert_eq "$(g1 "$(cli) WAIT 1 5000")" 1 "replicas that acknowledged after the reconnect"
assert_eq "$(g1 "redis-cli -p $RP DEBUG DIGEST")" "$(g1 "$(cli) DEBUG DIGEST")" "the replica's dataset digest after the reconnect"

step "the master stops: the replica sees its link go, nothing listens"
g1 "$(cli) SHUTDOWN NOSAVE" >/dev/null 2>&1 || true
g2 "i=0; while pidof redis-server >/dev/null; do i=\$((i + 1)); [ \$i -le 100 ] || exit 1; sleep 0.1; done" ||
	fail "the master did not stop"
g2 "grep -Eq ':$(printf '%04X' $P) [0-9A-F]+:[0-9A-F]+ 0A' /proc/net/tcp /proc/net/tcp6" && fail "port $P still listens"
g1 "i=0; until redis-cli -p $RP INFO replication | grep -q '^master_link_status:down'; do
	i=\$((i + 1)); [ \$i -le 100 ] || exit 1; sleep 0.1; done" || fail "the replica did not notice the master stop"
g1 "grep -E 'Connection with master lost|MASTER <-> REPLICA sync' /tmp/rr/log | tail -n 2"
g1 "$(cli) PING" 2>/dev/null | grep -q PONG && fail "redis-cli still reaches the stopped master"
g1 "redis-cli -p $RP SHUTDOWN NOSAVE" >/dev/null 2>&1 || true
g1 "i=0; while pidof redis-server >/dev/null; do i=\$((i + 1)); [ \$i -le 100 ] || exit 1; sleep 0.1; done" ||
	fail "the replica did not stop"
# The guests' /tmp is memory, and the next scenario needs it.
g1 'rm -rf /tmp/rr /tmp/big /tmp/big.md5'
g2 'rm -rf /tmp/rm'
true
