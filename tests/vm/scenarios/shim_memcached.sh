# shim_memcached: Debian's memcached under the shim in guest2, its client
# (socat, speaking the text protocol) under the shim in guest1: a 1 MiB
# value is stored and read back intact over yasmin, and memcached names
# the connection by guest1's mapped IP.
step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"

step "memcached in guest2"
g2 'yasmin-run memcached -u root -p 11211 -U 0 -m 64 -I 2m > /tmp/mc.log 2>&1 &'
wait_listen 2 11211

step "guest1 stores 1 MiB, reads it back, and asks who it is"
g1 'head -c 786432 /dev/urandom | base64 -w0 > /tmp/mc.val'
y0=$(g1 yasmin-stat bytes_sent) r0=$(g1 yasmin-stat bytes_received)
g1 "n=\$(wc -c < /tmp/mc.val)
{ printf 'set k 0 0 %d\r\n' \$n; cat /tmp/mc.val; printf '\r\nget k\r\nstats conns\r\nquit\r\n'; } |
	yasmin-run socat -t 10 - TCP:$G2_IP:11211 > /tmp/mc.resp"
g1 'head -c 200 /tmp/mc.resp | head -n 2; grep -a "STAT .*addr" /tmp/mc.resp'
assert_eq "$(g1 'head -n 1 /tmp/mc.resp | tr -d "\r"')" STORED "reply to set"
a=$(g1 'md5sum < /tmp/mc.val') b=$(g1 'sed -n 3p /tmp/mc.resp | tr -d "\r\n" | md5sum')
echo "stored $a read back $b"
assert_eq "$b" "$a" "digest of the value read back"
assert_grep "addr tcp:$G1_IP:" "$(g1 'grep -a "STAT .*addr" /tmp/mc.resp')"
y1=$(g1 yasmin-stat bytes_sent) r1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to memcached and $((r1 - r0)) back"
[ $((y1 - y0)) -ge 1048576 ] && [ $((r1 - r0)) -ge 1048576 ] || fail "memcached's bytes did not go over yasmin"
g2 'killall memcached; true'
