# kmod_dom0: dom0 runs yasmin.ko too (CID 2); a connection between dom0 and
# guest1 works in both directions.
step "load yasmin.ko in dom0"
grep -q '^vsock ' /proc/modules || modprobe vsock
grep -q '^yasmin ' /proc/modules || insmod /opt/yasmin/yasmin.ko
dmesg | grep 'yasmin: loaded' | tail -1
assert_eq "$(yasmin-stat sockets)" 0 "dom0 sockets"

step "dom0 -> guest1, 256 MiB verified"
g1 'yasmin-xfer -s -p 5200 > /tmp/dom0-s.log 2>&1 &'
sleep 1
dom0 -t 300 "yasmin-xfer -c $G1_CID -p 5200 -n 256M -d"

step "guest1 -> dom0, 256 MiB verified"
yasmin-xfer -s -p 5201 > /tmp/dom0-s.log 2>&1 &
srv=$!
sleep 1
g1 "yasmin-xfer -c $DOM0_CID -p 5201 -n 256M -d"
sleep 1
kill $srv
grep -q '^OK' /tmp/dom0-s.log || { cat /tmp/dom0-s.log; fail "dom0's server verified nothing"; }

step "unload from dom0"
g1 'killall yasmin-xfer 2>/dev/null; true'
sleep 1
assert_eq "$(yasmin-stat sockets)" 0 "dom0 sockets"
rmmod yasmin
