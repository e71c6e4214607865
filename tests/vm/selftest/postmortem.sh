# postmortem: the harness's own test of /harness/postmortem, which the
# runner calls after a failed attempt to keep what a silent guest left
# behind. Run by hand:
#   tests/vm/run --scenario-file tests/vm/selftest/postmortem.sh
# It pauses g2, so its agent stops answering while the domain stays, as a
# hung guest would; the postmortem must name g2 alone, with its paused
# state, and keep its vCPU registers and console. Then g2 is unpaused and
# must answer again.
step "every guest answers: the postmortem says nothing"
out=$(/harness/postmortem selftest-quiet /tmp/pm)
[ -z "$out" ] || fail "postmortem spoke with every guest answering: $out"

step "pause g2; the postmortem names it"
xl pause g2
out=$(/harness/postmortem selftest /tmp/pm)
xl unpause g2
echo "$out"
echo "$out" | grep -q "^postmortem selftest: g2 (domid $G2_DOMID) does not answer (state --p" ||
	fail "no postmortem line for the paused g2"
[ "$(echo "$out" | grep -c '^postmortem ')" = 1 ] || fail "the postmortem named more than g2"
echo "$out" | grep -q '^  g2| ' || fail "no console lines of g2"
f=/tmp/pm/postmortem-selftest-g2.log
[ -f "$f" ] || fail "$f not kept"
grep -q '^--- xenctx vCPU 0' "$f" || fail "no xenctx section in $f"
grep -qE '^rip: |^ *rip|RIP|^cs:eip' "$f" || fail "xenctx printed no instruction pointer: $(grep -A5 'xenctx vCPU 0' "$f" | tr '\n' ' ')"
grep -q '^--- console' "$f" || fail "no console section in $f"
head -n 40 "$f"

step "g2 answers again once unpaused"
g2 true
