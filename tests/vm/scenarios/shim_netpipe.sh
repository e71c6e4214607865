# shim_netpipe: unmodified NPtcp (receiver in guest2, transmitter in guest1)
# completes its whole message-size sweep over yasmin. Its ping-pong is
# where a reader busy-polls the reply away before the event it asked for
# arrives: such events must still count as answers, not as spurious (two
# spurious in a row make the event core delay the channel, up to 1 s).
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "NPtcp sweep through the shim"
g2 'cd /tmp && yasmin-run NPtcp > /tmp/np-r.log 2>&1 &'
wait_listen 2 5002
before=$(g1 yasmin-stat bytes_sent)
ev() { guest "$1" 'echo $(yasmin-stat events_received) $(yasmin-stat events_spurious)'; }
e1=$(ev 1) e2=$(ev 2)
g1 -t 900 "cd /tmp && yasmin-run NPtcp -h $G2_IP -o /tmp/np.out > /tmp/np-t.log 2>&1" ||
	{ g1 'tail -5 /tmp/np-t.log'; fail "NPtcp transmitter failed"; }
after=$(g1 yasmin-stat bytes_sent)
f1=$(ev 1) f2=$(ev 2)
g1 'tail -3 /tmp/np-t.log; wc -l < /tmp/np.out; tail -2 /tmp/np.out'
points=$(g1 'wc -l < /tmp/np.out')
last=$(g1 "tail -1 /tmp/np.out | awk '{print \$1}'")
echo "NetPIPE: $points points, largest message $last bytes, yasmin carried $((after - before)) bytes"
[ "$points" -ge 100 ] || fail "only $points NetPIPE points"
[ "$last" -ge 8000000 ] || fail "the sweep stopped at $last bytes"
[ $((after - before)) -gt 100000000 ] || fail "yasmin carried only $((after - before)) bytes"
for g in 1 2; do
	eval "b=\$e$g a=\$f$g"
	got=$(( ${a% *} - ${b% *} )) spur=$(( ${a#* } - ${b#* } ))
	echo "guest$g: $got events received, $spur of them spurious"
	[ "$got" -gt 0 ] || fail "guest$g received no event in a ping-pong sweep"
	[ $((spur * 20)) -le "$got" ] || fail "guest$g: $spur of $got events judged spurious (more than 5%)"
done
