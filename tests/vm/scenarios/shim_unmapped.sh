# shim_unmapped: under the shim, a connection to an unmapped address (dom0)
# goes over TCP and works; yasmin carries nothing.
step "map guest1 and guest2 only"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "dom0 serves TCP; guest1's shimmed client reaches it"
yasmin-xfer -s -f inet -p 6100 > /tmp/unmapped-s.log 2>&1 &
srv=$!
i=0; until grep -q 'listening on port' /tmp/unmapped-s.log; do i=$((i + 1)); [ $i -lt 300 ] || fail "dom0's server did not start"; sleep 0.1; done
y0=$(g1 yasmin-stat bytes_sent)
out=$(g1 "YASMIN_DEBUG=1 yasmin-run yasmin-xfer -f inet -c $DOM0_IP -p 6100 -n 32M -d 2>&1")
echo "$out"
kill $srv
assert_grep "^OK conns=1" "$out"
assert_grep "connect fd [0-9]+ to $DOM0_IP port 6100: not mapped, TCP" "$out"
assert_eq "$(g1 yasmin-stat bytes_sent)" "$y0" "bytes yasmin carried"
