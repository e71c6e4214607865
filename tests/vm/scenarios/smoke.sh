# smoke: the emulated host works. Every guest is up, yasmin.ko loads and
# unloads in each, and guest1 reaches guest2 over netfront (ping, iperf3).

step "every guest answers and knows its name"
i=1
while [ "$i" -le "$NGUESTS" ]; do
	assert_eq "$(guest "$i" hostname)" "g$i" "hostname of guest $i"
	i=$((i + 1))
done

step "vsock and xen-netfront are loaded in every guest"
each_guest 'grep -q "^vsock " /proc/modules && grep -q "^xen_netfront " /proc/modules'

step "yasmin.ko was loaded at boot in every guest"
each_guest 'grep -q "^yasmin " /proc/modules'

step "yasmin.ko unloads and loads again in every guest"
each_guest 'rmmod yasmin && ! grep -q "^yasmin " /proc/modules &&
	insmod /opt/yasmin/yasmin.ko && grep -q "^yasmin " /proc/modules'

step "every guest pings the next one over netfront"
i=1
while [ "$i" -le "$NGUESTS" ]; do
	j=$((i % NGUESTS + 1))
	eval "dst=\$G${j}_IP"
	guest "$i" "ping -c 2 -W 5 $dst"
	i=$((i + 1))
done

step "dom0 pings guest1"
dom0 "ping -c 2 -W 5 $G1_IP"

step "iperf3 TCP for 5 s from guest1 to guest2 moves bytes"
g2 'iperf3 -s -1 -D >/tmp/iperf3-s.log 2>&1'
wait_listen 2 5201
out=$(g1 "iperf3 -c $G2_IP -t 5 -J") || { echo "$out"; fail "iperf3 client failed"; }
bytes=$(echo "$out" | tr -d ' \t\n' |
	sed -n 's/.*"sum_received":{[^}]*"bytes":\([0-9]*\).*/\1/p')
echo "iperf3 receiver bytes: ${bytes:-none}"
[ -n "$bytes" ] && [ "$bytes" -gt 0 ] || echo "$out"
[ -n "$bytes" ] && [ "$bytes" -gt 0 ] || fail "iperf3 reported no bytes received"
