# pvh: no. Its subject is dom0's yasmin-xs and the XenStore tree it writes,
# which the guests' type does not reach.
# kmod_xs: dom0's yasmin-xs builds the rendezvous tree the module expects:
# every ordered pair, ACLs naming exactly the two endpoints, idempotent
# re-runs that keep what a pair wrote, teardown of one domain, and clear
# errors on bad input. yasmin-stat answers in the guests.
BASE=/local/domain/0/data/yasmin
FAKE=100	# a domid with no domain: only XenStore sees it

step "the harness's setup made every ordered pair of dom0 and the guests"
out=$(yasmin-xs list | sort)
echo "$out"
for a in 0 $G1_DOMID $G2_DOMID; do
	for b in 0 $G1_DOMID $G2_DOMID; do
		[ "$a" = "$b" ] && continue
		echo "$out" | grep -qx "$a $b" || fail "pair '$a $b' missing from yasmin-xs list"
	done
done

step "ACLs: BASE/D readable by D only; BASE/A/B by exactly A and B"
acl=$(xenstore-ls -p $BASE)
echo "$acl"
assert_grep "^$G1_DOMID = \"\"[^(]*\(n0,r$G1_DOMID\)" "$acl"
assert_grep "^ $G2_DOMID = \"\"[^(]*\(n0,b$G1_DOMID,b$G2_DOMID\)" "$acl"
echo "$acl" | grep -E "\(n0,b[0-9]+,b[0-9]+\)" | grep -vE "\(n0,b($G1_DOMID|$G2_DOMID|0),b($G1_DOMID|$G2_DOMID|0)\)" &&
	fail "a pair ACL names a domain outside its pair"

step "re-running setup keeps a pair's contents and repairs its ACL"
yasmin-xs setup 0 $FAKE
xenstore-write $BASE/$FAKE/0/probe kept
xenstore-chmod $BASE/$FAKE/0 n0 r1	# a wrong ACL to be repaired
yasmin-xs setup 0 $FAKE
assert_eq "$(xenstore-read $BASE/$FAKE/0/probe)" kept "pair contents after a second setup"
assert_grep "\(n0,b$FAKE,b0\)" "$(xenstore-ls -p $BASE/$FAKE)"

step "teardown removes the domain and every pair with it, nothing else"
yasmin-xs teardown $FAKE
yasmin-xs list | grep -qw $FAKE && fail "teardown left pairs of $FAKE"
assert_eq "$(yasmin-xs list | sort)" "$out" "pairs after teardown of $FAKE"

step "bad input is refused with exit 2 and a prefixed message"
for args in "setup 1" "setup 1 x" "setup 1 32752" "setup 1 -3" "teardown" "bogus"; do
	rc=0
	msg=$(yasmin-xs $args 2>&1) || rc=$?
	echo "yasmin-xs $args -> $rc: $msg"
	assert_eq "$rc" 2 "exit status of 'yasmin-xs $args'"
	assert_grep "^yasmin-xs: " "$msg"
done
yasmin-xs -h | grep -q "yasmin-xs setup"

step "yasmin-stat in the guests"
g1 yasmin-stat
for c in sockets peers grants evtchns bytes_sent bytes_received events_sent events_received resets; do
	v=$(g1 "yasmin-stat $c")
	case $v in ''|*[!0-9]*) fail "counter $c reads '$v'" ;; esac
done
rc=0; g1 'yasmin-stat nosuch' || rc=$?
assert_eq "$rc" 2 "yasmin-stat of an unknown counter"

step "the guests still talk after all this"
g2 'yasmin-xfer -s -p 5700 -1 > /tmp/xs-s.log 2>&1 &'
wait_log 2 /tmp/xs-s.log 'listening on port'
g1 "yasmin-xfer -c $G2_CID -p 5700 -n 16M"
sleep 0.5
assert_eq "$(g1 yasmin-stat sockets)" 0 "guest1 sockets"
assert_eq "$(g2 yasmin-stat sockets)" 0 "guest2 sockets"
