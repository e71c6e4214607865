# fault_retry: the harness's own test of what it does about an emulator
# fault (a guest triple fault under QEMU's emulated nested SVM). Run by
# hand: tests/vm/run --scenario-file tests/vm/selftest/fault_retry.sh
# The first attempt stands a fault in (tests/vm/lib/runner counts the
# lines of /tmp/yh.fake-faults as faults) and then sleeps: the runner must
# stop it within seconds, not at its timeout, and make a second attempt,
# which passes. The verdict is PASS with "(attempt 2: ...)" after it.
if [ ! -f /tmp/yh.fault-once ]; then
	touch /tmp/yh.fault-once
	step "first attempt: a fault appears, then the attempt waits to be stopped"
	echo selftest >> /tmp/yh.fake-faults
	sleep 120
	fail "the runner did not stop the attempt within 120 s of a fault"
fi
rm -f /tmp/yh.fake-faults /tmp/yh.fault-once
step "second attempt"
echo "second attempt runs"
