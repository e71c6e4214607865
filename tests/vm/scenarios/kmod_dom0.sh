# kmod_dom0: dom0 runs yasmin.ko too (CID 2); a connection between dom0 and
# guest1 works in both directions, and dom0 unloads the module afterwards.
step "load vsock and yasmin.ko in dom0"
if ! grep -q '^vsock ' /proc/modules; then
	# busybox modprobe needs modules.dep; fall back to the file itself
	modprobe vsock 2>/dev/null ||
		insmod "$(find /lib/modules/"$(uname -r)" -name 'vsock.ko*' | head -n 1)"
fi
grep -q '^yasmin ' /proc/modules || insmod /opt/yasmin/yasmin.ko
dmesg | grep 'yasmin: loaded' | tail -1
assert_eq "$(yasmin-stat sockets)" 0 "dom0 sockets"

step "dom0 <-> guest1, dom0 connects: 256 MiB each way at once, verified"
g1 'yasmin-xfer -s -p 5200 > /tmp/dom0-s.log 2>&1 &'
wait_log 1 /tmp/dom0-s.log 'listening on port'
dom0 -t 300 "yasmin-xfer -c $G1_CID -p 5200 -n 256M -d"
assert_eq "$(g1 'grep -c ^OK /tmp/dom0-s.log')" 1 "connections guest1 verified"

step "guest1 <-> dom0, guest1 connects: 256 MiB each way at once, verified"
yasmin-xfer -s -p 5201 > /tmp/dom0-s.log 2>&1 &
srv=$!
i=0; until grep -q 'listening on port' /tmp/dom0-s.log; do i=$((i + 1)); [ $i -lt 300 ] || fail "dom0's server did not start"; sleep 0.1; done
g1 "yasmin-xfer -c $DOM0_CID -p 5201 -n 256M -d"
sleep 1
kill $srv
grep -q '^OK' /tmp/dom0-s.log || { cat /tmp/dom0-s.log; fail "dom0's server verified nothing"; }

step "no socket left behind; dom0 unloads"
g1 'killall yasmin-xfer 2>/dev/null; sleep 0.5; true'
sleep 1
assert_eq "$(yasmin-stat sockets)" 0 "dom0 sockets"
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
rmmod yasmin
