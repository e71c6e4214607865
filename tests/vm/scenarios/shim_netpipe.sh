# shim_netpipe: unmodified NPtcp (receiver in guest2, transmitter in guest1)
# completes its whole message-size sweep over yasmin.
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "NPtcp sweep through the shim"
g2 'cd /tmp && yasmin-run NPtcp > /tmp/np-r.log 2>&1 &'
wait_listen 2 5002
before=$(g1 yasmin-stat bytes_sent)
g1 -t 900 "cd /tmp && yasmin-run NPtcp -h $G2_IP -o /tmp/np.out > /tmp/np-t.log 2>&1" ||
	{ g1 'tail -5 /tmp/np-t.log'; fail "NPtcp transmitter failed"; }
after=$(g1 yasmin-stat bytes_sent)
g1 'tail -3 /tmp/np-t.log; wc -l < /tmp/np.out; tail -2 /tmp/np.out'
points=$(g1 'wc -l < /tmp/np.out')
last=$(g1 "tail -1 /tmp/np.out | awk '{print \$1}'")
echo "NetPIPE: $points points, largest message $last bytes, yasmin carried $((after - before)) bytes"
[ "$points" -ge 100 ] || fail "only $points NetPIPE points"
[ "$last" -ge 8000000 ] || fail "the sweep stopped at $last bytes"
[ $((after - before)) -gt 100000000 ] || fail "yasmin carried only $((after - before)) bytes"
