# shim_badmap: a map with garbage lines is reported line by line on stderr
# and the program still works, over yasmin for the lines that are valid.
step "a map with garbage"
each_guest "mkdir -p /etc/yasmin && printf '# test map\nthis is not an address 1\n$G1_IP $G1_DOMID g1\n10.9.9.9 99999\n$G2_IP $G2_DOMID g2 extra words\n\0\0garbage\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"
g2 'yasmin-run yasmin-xfer -s -f inet -p 6300 > /tmp/badmap-s.log 2>&1 &'
wait_listen 2 6300

step "the shimmed client warns with file and line, and works over yasmin"
y0=$(g1 yasmin-stat bytes_sent)
out=$(g1 "yasmin-run yasmin-xfer -f inet -c $G2_IP -p 6300 -n 16M 2>&1")
echo "$out"
assert_grep "^OK conns=1" "$out"
assert_grep "/etc/yasmin/hosts:2: not an IPv4 or IPv6 address" "$out"
assert_grep "/etc/yasmin/hosts:4: domid must be a number" "$out"
assert_grep "/etc/yasmin/hosts:5: trailing garbage" "$out"
assert_grep "/etc/yasmin/hosts:6: " "$out"
y1=$(g1 yasmin-stat bytes_sent)
[ $((y1 - y0)) -ge 16777216 ] || fail "the transfer did not use yasmin"

step "a missing map leaves everything on TCP"
g1 'rm /etc/yasmin/hosts'
out=$(g1 "YASMIN_DEBUG=1 yasmin-run yasmin-xfer -f inet -c $G2_IP -p 6300 -n 4M 2>&1")
echo "$out"
assert_grep "^OK conns=1" "$out"
assert_eq "$(g1 yasmin-stat bytes_sent)" "$y1" "bytes yasmin carried without a map"
g2 'killall yasmin-xfer; true'
