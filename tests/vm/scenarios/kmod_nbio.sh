# pvh: no. Its subject is when the socket layer wakes a poller or an
# epoll waiter after EAGAIN, which the guest's type does not reach (PVH's
# event delivery carries every vm-pvh scenario's wakeups).
# kmod_nbio: non-blocking sockets driven the way event loops drive them
# (edge- and level-triggered epoll, poll, sendfile, splice, short writes,
# nginx-style loops that stop at a short read or write,
# keep-alive), guest1 -> guest2 and guest2 -> guest1, both ways at once,
# every byte verified by yasmin-nbio. A wakeup the transport forgets after
# EAGAIN stops an edge-triggered loop for good (nginx with sendfile stopped
# after ~1 MB); yasmin-nbio fails such a stall in 20 s and says whether the
# socket was in fact ready. Every mode runs even after a failure, so one
# run reports them all.
SIZE=${NBIO_SIZE:-64M}
EXCHANGES=${NBIO_EXCHANGES:-500}
MODES=${NBIO_MODES:-"et lt poll sendfile splice partial keepalive short ka-short"}
# Ends of one connection in different modes: each mode sends to and
# receives from a peer that waits and copies another way.
MIXED=${NBIO_MIXED:-"partial/splice sendfile/poll lt/et"}

step "yasmin-nbio servers on guest1 and guest2"
g1 'yasmin-nbio -s -p 5600 > /tmp/nbio-s.log 2>&1 &'
g2 'yasmin-nbio -s -p 5600 > /tmp/nbio-s.log 2>&1 &'
wait_log 1 /tmp/nbio-s.log 'listening on port'
wait_log 2 /tmp/nbio-s.log 'listening on port'

bad=
table=
run() { # FROM TO CLIENT_MODE SERVER_MODE
	eval "cid=\$G$2_CID"
	step "$3/$4: guest$1 -> guest$2, $SIZE each way"
	rc=0
	s1=$(g1 'cat /sys/module/yasmin/counters/sockets') s2=$(g2 'cat /sys/module/yasmin/counters/sockets')
	f0=$(guest "$2" 'grep -c ^FAIL /tmp/nbio-s.log; true')
	out=$(guest "$1" "yasmin-nbio -c $cid -p 5600 -m $3 -M $4 -n $SIZE -d -k $EXCHANGES -t 150") || rc=$?
	echo "$3/$4 g$1->g$2: $out"
	mbps=$(echo "$out" | sed -n 's/^OK .*MBps=\([0-9.]*\).*/\1/p')
	rtt=$(echo "$out" | sed -n 's/^OK .*rtt_us=\([0-9]*\).*/ rtt_us=\1/p')
	if [ -n "$mbps" ]; then r="$mbps MB/s$rtt"; else r="FAIL exit $rc"; fi
	table="$table
$(printf '%-20s g%s->g%s  %s' "$3/$4" "$1" "$2" "$r")"
	if [ "$rc" != 0 ]; then
		reason=$(echo "$out" | tail -n 1)
		bad="$bad
  $3/$4 g$1->g$2 exit $rc: ${reason#FAIL }"
		guest "$2" "grep ^FAIL /tmp/nbio-s.log | tail -n +$((f0 + 1)) | sed 's/^/server: /'" || true
	fi
	# Both ends have closed when the client returns; a socket still
	# counted 3 s later is one no process holds.
	for n in 1 2; do
		eval "b=\$s$n"
		guest $n "i=0; until [ \$(cat /sys/module/yasmin/counters/sockets) -le $b ]; do i=\$((i + 1)); [ \$i -le 30 ] || exit 1; sleep 0.1; done" ||
			bad="$bad
  $3/$4 g$1->g$2: guest$n holds $(guest $n 'cat /sys/module/yasmin/counters/sockets') sockets 3 s after the run, $b before it"
	done
	return 0
}

for m in $MODES; do
	run 1 2 "$m" "$m"
	run 2 1 "$m" "$m"
done
for mm in $MIXED; do
	run 1 2 "${mm%/*}" "${mm#*/}"
done

step "results"
echo "mode (client/server)  direction  rate, $SIZE each way at once$table"

step "servers saw no failure; no socket left behind"
g1 'killall yasmin-nbio 2>/dev/null; sleep 0.5; true'
g2 'killall yasmin-nbio 2>/dev/null; sleep 0.5; true'
for n in 1 2; do
	f=$(guest $n 'grep -c ^FAIL /tmp/nbio-s.log; true')
	[ "$f" = 0 ] || bad="$bad
  guest$n's server: $f failed connections: $(guest $n 'grep ^FAIL /tmp/nbio-s.log | head -n 3')"
	s=$(guest $n yasmin-stat sockets)
	[ "$s" = 0 ] || bad="$bad
  guest$n: $s sockets left"
done
[ -z "$bad" ] || fail "non-blocking transfers failed:$bad"
