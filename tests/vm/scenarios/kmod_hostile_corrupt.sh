# guests: 3
# kmod_hostile_corrupt: guest2 (yasmin-hostile, no yasmin.ko) writes
# impossible ring indices, a consumer index that moves back, and garbage
# notify words into data channels with guest1, on both sides of a
# connection, impossible message records and record indices into
# SOCK_SEQPACKET ones, and lying MSG_ZEROCOPY segments into stream ones,
# then breaks the control ring's indices. Guest1 must reset each broken
# connection (and end a broken control session) without an oops, keep
# serving guest3, and end with its counters at the baseline.
. /harness/scenarios/hostile.inc
hostile_setup

step "acceptor side: guest1 connects to guest2 8 times; guest2 accepts and breaks each channel's indices"
hostile_run -t 150 -n 8 -r acceptor corrupt-indices
wait_log 2 /tmp/hostile.log 'joined control channel' 30
# -d: guest1 sends and receives at once, so it looks at both indices.
guest 1 -t 200 "yasmin-xfer -c $G2_CID -p 7300 -n 4M -d -P 8 -T 20 -S 20 -t 150 > /tmp/victim-c.log 2>&1; echo rc=\$? >> /tmp/victim-c.log; cat /tmp/victim-c.log" || true
hostile_wait 180
acc=$(g2 'cat /tmp/hostile.log')
hostile_kill
# cons-moves-back keeps prod - cons <= size in every snapshot; only the
# rule that cons never moves back catches it.
back=$(echo "$acc" | sed -n 's/^hostile: conn \([0-9]*\) (id [0-9]*): cons-moves-back$/\1/p')
[ -n "$back" ] || fail "guest2 never ran cons-moves-back: $(echo "$acc" | grep 'conn ' | tr '\n' ' ')"
assert_grep "^hostile: conn $back: reset by the victim" "$acc"
assert_grep 'send ring index moved back' "$(g1 'dmesg | tail -n 60')"

step "accept-lie: guest2 accepts guest1's 4 connects claiming rings larger than offered; guest1 resets each"
hostile_run -t 60 -n 4 -r accept-lie corrupt-indices
wait_log 2 /tmp/hostile.log 'joined control channel' 30
guest 1 -t 90 "yasmin-xfer -c $G2_CID -p 7300 -n 1M -P 4 -T 10 -S 10 -t 60 > /tmp/victim-lie.log 2>&1; echo rc=\$? >> /tmp/victim-lie.log; cat /tmp/victim-lie.log" || true
hostile_wait 90
lie=$(g2 'cat /tmp/hostile.log')
vlie=$(g1 'cat /tmp/victim-lie.log')
hostile_kill
echo "$lie" | grep 'conn '
assert_grep 'variant=accept-lie conns=4 reset_by_victim=4' "$lie"
# Every connect failed with the protocol error, none was used.
assert_grep 'EPROTO' "$vlie"
assert_grep 'rc=3' "$vlie"
assert_grep 'ACCEPT with rings larger than offered' "$(g1 'dmesg | tail -n 40')"

step "SOCK_SEQPACKET: guest1 connects to guest2 8 times; guest2 accepts and breaks each channel's message records or record indices"
hostile_run -t 90 -n 8 -r seq-acceptor corrupt-indices
wait_log 2 /tmp/hostile.log 'joined control channel' 30
# -d: guest1 reads messages (records, msg_prod) and sends them (msg_cons).
guest 1 -t 150 "yasmin-xfer -q -c $G2_CID -p 7300 -n 4M -d -P 8 -B 64K -w 16K -T 20 -S 20 -t 90 > /tmp/victim-seq.log 2>&1; echo rc=\$? >> /tmp/victim-seq.log; cat /tmp/victim-seq.log" || true
hostile_wait 120
seq=$(g2 'cat /tmp/hostile.log')
vseq=$(g1 'cat /tmp/victim-seq.log')
hostile_kill
echo "$seq" | grep 'conn '
if echo "$seq" | grep -q 'not a SOCK_SEQPACKET connect'; then
	fail "yasmin-xfer -q connected with a SOCK_STREAM CONNECT"
fi
# Every connection failed on the reset, none with bad data handed to the
# application (exit 1) nor hung (-S): rc=4, "reset or early end".
echo "$vseq" | tail -n 2
assert_grep '^rc=4$' "$vseq"
if echo "$vseq" | grep -q 'stalled\|exit=1 '; then
	fail "a SOCK_SEQPACKET victim connection stalled or took bad data"
fi
# msg-cons-moves-back keeps every snapshot valid; only the rule that
# msg_cons never moves back catches it.
back=$(echo "$seq" | sed -n 's/^hostile: conn \([0-9]*\) (id [0-9]*): msg-cons-moves-back$/\1/p')
[ -n "$back" ] || fail "guest2 never ran msg-cons-moves-back: $(echo "$seq" | grep 'conn ' | tr '\n' ' ')"
assert_grep "^hostile: conn $back: reset by the victim" "$seq"
assert_grep 'send record index moved back' "$(g1 'dmesg | tail -n 60')"

step "MSG_ZEROCOPY: guest1 connects to guest2 6 times; guest2 sends each a zero-copy segment that breaks a rule or names a page it never granted"
hostile_run -t 90 -n 6 -r zc-acceptor corrupt-indices
wait_log 2 /tmp/hostile.log 'joined control channel' 30
guest 1 -t 150 "yasmin-xfer -c $G2_CID -p 7300 -n 4M -d -P 6 -T 20 -S 20 -t 90 > /tmp/victim-zc.log 2>&1; echo rc=\$? >> /tmp/victim-zc.log; cat /tmp/victim-zc.log" || true
hostile_wait 120
zcs=$(g2 'cat /tmp/hostile.log')
vzc=$(g1 'cat /tmp/victim-zc.log')
hostile_kill
echo "$zcs" | grep 'conn '
echo "$vzc" | tail -n 2
assert_grep '^rc=4$' "$vzc"
if echo "$vzc" | grep -q 'stalled\|exit=1 '; then
	fail "a victim connection stalled or took bad data from a lying zero-copy sender"
fi
assert_grep 'zero-copy segment' "$(g1 'dmesg | tail -n 60')"

step "connector side: guest2 connects to guest1's listener 7 times and breaks its own channel's indices"
hostile_run -p $VICTIM_PORT -t 150 -n 7 -o 2 -r connector corrupt-indices
hostile_wait 180
con=$(g2 'cat /tmp/hostile.log')
hostile_kill

step "control ring: guest2 breaks the control ring's indices, 5 patterns, rejoining after each"
hostile_run -t 150 -n 5 -r ctrl corrupt-indices
hostile_wait 200
ctl=$(g2 'cat /tmp/hostile.log')
peak=$(victim_peak)
echo "victim peak: $peak"
honest_check
hostile_kill

step "the victim's resources stayed bounded and came back"
# guest1's own connects grant 2 + 2 * 128 pages each (ring_kb 512), eight
# at once (2,064); the honest peer's and the attacker's channels are mapped.
victim_bounds "$peak" 2200 1200 24 16384
victim_back 10
hostile_finish

step "every broken data channel was reset by the victim"
# Acceptor side: the victim sends and receives, so all seven index
# patterns are seen (the eighth only writes want words, which is legal).
n=$(echo "$acc" | sed -n 's/.*variant=acceptor conns=8 reset_by_victim=\([0-9]*\).*/\1/p')
echo "acceptor side: $n of 8 reset by the victim"
[ "${n:-0}" -ge 7 ] || fail "acceptor side: only ${n:-0} of 7 broken channels were reset by the victim"
# Connector side: the victim's server waits for a header, so it reads and
# must catch the three broken producer indices at least.
n=$(echo "$con" | sed -n 's/.*variant=connector conns=7 reset_by_victim=\([0-9]*\).*/\1/p')
echo "connector side: $n of 7 reset by the victim"
[ "${n:-0}" -ge 3 ] || fail "connector side: only ${n:-0} of 3 broken producer indices were caught"
# SOCK_SEQPACKET: every pattern breaks a rule the victim checks, on the
# side it reads (records, msg_prod) or the side it sends (msg_cons).
n=$(echo "$seq" | sed -n 's/.*variant=seq-acceptor conns=8 reset_by_victim=\([0-9]*\).*/\1/p')
echo "SOCK_SEQPACKET: $n of 8 reset by the victim"
[ "${n:-0}" = 8 ] || fail "SOCK_SEQPACKET: only ${n:-0} of 8 broken channels were reset by the victim"
# MSG_ZEROCOPY: each segment breaks a rule the victim checks before it
# copies, or names a page Xen will not copy from.
n=$(echo "$zcs" | sed -n 's/.*variant=zc-acceptor conns=6 reset_by_victim=\([0-9]*\).*/\1/p')
echo "MSG_ZEROCOPY: $n of 6 reset by the victim"
[ "${n:-0}" = 6 ] || fail "MSG_ZEROCOPY: only ${n:-0} of 6 lying senders were reset by the victim"
step "every broken control ring ended the session within 15 s"
# A broken prod at once; a broken cons (a ring that never drains) within
# the victim's stall timeout, 10 s in kmod/ctrl.c.
echo "$ctl" | grep 'round'
assert_grep 'variant=ctrl rounds=5 sessions_ended=5' "$ctl"
