# shim_sshd: Debian's OpenSSH server under the shim in guest2, as a
# daemon (its own fork and setsid), with privilege separation (the
# pre-auth child chroots into /run/sshd and drops to user sshd) and its
# re-exec per connection (the accepted socket crosses execv as stdin and
# stdout). Debian's ssh, scp (SFTP) and sftp in guest1, under the shim:
# a command, a 16 MiB download and upload each way verified by digest,
# and four sessions at once, all over yasmin, with sshd logging guest1 by
# its mapped IP. Then sshd stops and nothing listens or lingers.
# pkgs: openssh-server openssh-sftp-server openssh-client
P=2222
KEY='-F /dev/null -i /tmp/ssh/id -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'

step "map guest1 and guest2"
each_guest "mkdir -p /etc/yasmin && printf '$G1_IP $G1_DOMID g1\n$G2_IP $G2_DOMID g2\n' > /etc/yasmin/hosts"
g2 'command -v /usr/sbin/sshd' >/dev/null || fail "sshd missing from guest2: run with --pkg openssh-server"
g1 'command -v ssh' >/dev/null || fail "ssh missing from guest1: run with --pkg openssh-client"
echo "guest2 runs $(g2 '/usr/sbin/sshd -V 2>&1 | head -n 1')"

step "users, keys and sshd_config"
each_guest 'grep -q ^root: /etc/passwd 2>/dev/null || echo "root:x:0:0:root:/root:/bin/sh" >> /etc/passwd
grep -q ^root: /etc/group 2>/dev/null || echo "root:x:0:" >> /etc/group
grep -q ^nogroup: /etc/group || echo "nogroup:x:65534:" >> /etc/group
grep -q ^sshd: /etc/passwd || echo "sshd:x:101:65534::/run/sshd:/usr/sbin/nologin" >> /etc/passwd
mkdir -p /root /tmp/ssh /run/sshd && chmod 700 /root && chmod 755 /run/sshd'
g1 'rm -f /tmp/ssh/id /tmp/ssh/id.pub && ssh-keygen -q -t ed25519 -N "" -f /tmp/ssh/id && cat /tmp/ssh/id.pub' > /tmp/sshd-id.pub ||
	fail "ssh-keygen failed in guest1"
g2 "mkdir -p /root/.ssh && chmod 700 /root/.ssh && echo '$(cat /tmp/sshd-id.pub)' > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys
rm -f /tmp/ssh/host && ssh-keygen -q -t ed25519 -N '' -f /tmp/ssh/host
cat > /tmp/ssh/sshd_config <<EOC
Port $P
HostKey /tmp/ssh/host
PidFile /tmp/ssh/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
MaxStartups 20
MaxSessions 20
Subsystem sftp /usr/lib/openssh/sftp-server
EOC
dd if=/dev/urandom of=/tmp/ssh/blob bs=1M count=16 2>/dev/null && md5sum < /tmp/ssh/blob > /tmp/ssh/blob.md5"
g1 'dd if=/dev/urandom of=/tmp/ssh/up bs=1M count=16 2>/dev/null && md5sum < /tmp/ssh/up > /tmp/ssh/up.md5'

step "sshd in guest2, a daemon under the shim"
# -E: sshd's log (LogLevel VERBOSE names each key and peer) to a file.
g2 "/usr/sbin/sshd -t -f /tmp/ssh/sshd_config" || fail "sshd rejects its configuration"
g2 "YASMIN_DEBUG=1 yasmin-run /usr/sbin/sshd -f /tmp/ssh/sshd_config -o LogLevel=VERBOSE -E /tmp/ssh/sshd.log"
wait_listen 2 $P
g2 'ps' | grep '[s]shd' || fail "no sshd running in guest2"

step "a command over ssh: sshd names guest1 by its mapped IP"
y0=$(g1 yasmin-stat bytes_received)
out=$(g1 "yasmin-run ssh $KEY -p $P root@$G2_IP 'echo \$SSH_CONNECTION; uname -n'") ||
	fail "ssh failed: $(g2 'tail -n 20 /tmp/ssh/sshd.log')"
echo "$out"
# SSH_CONNECTION is what sshd's re-exec'd child read off its stdin with
# getpeername() and getsockname(): the client's and its own IP and port.
assert_grep "^$G1_IP [0-9]+ $G2_IP $P\$" "$out"
log=$(g2 'cat /tmp/ssh/sshd.log')
assert_grep "Accepted publickey for root from $G1_IP port [0-9]+" "$log"
y1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to guest1"
[ $((y1 - y0)) -gt 1000 ] || fail "the ssh session did not go over yasmin"

step "16 MiB each way through ssh, verified by digest"
y0=$(g1 yasmin-stat bytes_received)
got=$(g1 "yasmin-run ssh $KEY -p $P root@$G2_IP 'cat /tmp/ssh/blob' | md5sum")
assert_eq "$got" "$(g2 'cat /tmp/ssh/blob.md5')" "digest of the download"
got=$(g1 "yasmin-run ssh $KEY -p $P root@$G2_IP 'md5sum' < /tmp/ssh/up")
assert_eq "$got" "$(g1 'cat /tmp/ssh/up.md5')" "digest of the upload, computed in guest2"
y1=$(g1 yasmin-stat bytes_received)
echo "yasmin carried $((y1 - y0)) bytes to guest1"
[ $((y1 - y0)) -ge 16777216 ] || fail "the download did not go over yasmin"

step "scp both ways and an sftp batch (the SFTP subsystem)"
g1 "rm -f /tmp/ssh/blob.scp && yasmin-run scp $KEY -P $P root@$G2_IP:/tmp/ssh/blob /tmp/ssh/blob.scp" ||
	fail "scp download failed"
assert_eq "$(g1 'md5sum < /tmp/ssh/blob.scp')" "$(g2 'cat /tmp/ssh/blob.md5')" "digest of the scp download"
g1 "yasmin-run scp $KEY -P $P /tmp/ssh/up root@$G2_IP:/tmp/ssh/up.scp" || fail "scp upload failed"
assert_eq "$(g2 'md5sum < /tmp/ssh/up.scp')" "$(g1 'cat /tmp/ssh/up.md5')" "digest of the scp upload"
out=$(g1 "printf 'ls -l /tmp/ssh/up.scp\nrename /tmp/ssh/up.scp /tmp/ssh/up.sftp\n' | yasmin-run sftp $KEY -P $P -b - root@$G2_IP 2>&1") ||
	fail "sftp batch failed: $out"
echo "$out"
assert_grep '16777216' "$out"
g2 'test -f /tmp/ssh/up.sftp && ! test -e /tmp/ssh/up.scp' || fail "the sftp rename did not happen"

step "four sessions at once, each verified"
out=$(g1 "for i in 1 2 3 4; do
	(yasmin-run ssh $KEY -p $P root@$G2_IP 'cat /tmp/ssh/blob' | md5sum > /tmp/ssh/par.\$i) &
done
wait; cat /tmp/ssh/par.1 /tmp/ssh/par.2 /tmp/ssh/par.3 /tmp/ssh/par.4")
echo "$out"
want=$(g2 'cat /tmp/ssh/blob.md5')
assert_eq "$(echo "$out" | grep -c "^$want\$")" 4 "sessions with the right digest"
n=$(g2 "grep -c 'Accepted publickey for root from $G1_IP ' /tmp/ssh/sshd.log")
echo "sshd accepted $n sessions from guest1's mapped IP"
[ "$n" -ge 10 ] || fail "sshd logged $n accepted sessions from $G1_IP, expected 10"
# sshd saw no peer but guest1's mapped IP, and logged no error: the
# options it sets on its socket (IP_TOS, TCP_NODELAY, SO_KEEPALIVE) and
# the names it asks of it all worked.
g2 "grep -E 'Connection from |Accepted publickey ' /tmp/ssh/sshd.log | grep -v 'from $G1_IP port ' | head -n 5" | grep . &&
	fail "sshd logged a peer other than guest1's mapped IP"
g2 "grep -E 'error|fatal' /tmp/ssh/sshd.log | head -n 5" | grep . && fail "sshd logged errors"

step "sshd stops; nothing listens, no session lingers"
# sshd removes its pid file as it exits; the guest's init may leave the
# daemon a zombie for a while, which holds no socket.
g2 'pid=$(cat /tmp/ssh/sshd.pid); kill $pid; i=0
while [ -e /tmp/ssh/sshd.pid ] || grep -q "^State:.*[RSD]" /proc/$pid/status 2>/dev/null; do
	i=$((i + 1)); [ $i -le 100 ] || exit 1; sleep 0.1
done' || fail "sshd did not stop: $(g2 'cat /tmp/ssh/sshd.pid; ps | grep [s]shd; tail -n 5 /tmp/ssh/sshd.log')"
g2 "grep -Eq ':$(printf '%04X' $P) [0-9A-F]+:[0-9A-F]+ 0A' /proc/net/tcp /proc/net/tcp6" && fail "port $P still listens"
g1 "yasmin-run ssh $KEY -o ConnectTimeout=10 -p $P root@$G2_IP true" && fail "ssh still connects after sshd stopped"
g2 "grep -E 'error|fatal' /tmp/ssh/sshd.log | head -n 5" | grep . && fail "sshd logged errors while stopping"
# The guests' /tmp is memory, and the next scenario needs it.
each_guest 'rm -rf /tmp/ssh'
true
