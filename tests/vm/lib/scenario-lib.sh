# shellcheck shell=sh
# The scenario API, sourced into every scenario (busybox ash, in dom0).
# tests/vm/README.md documents it; keep the two in step.

YH_PORT=7000
: "${STEP_TIMEOUT:=600}"

# When the scenario started (dom0 uptime, whole seconds): each step says
# how far in it begins, so a log shows where a scenario's time goes.
read -r YH_T0 _ < /proc/uptime
YH_T0=${YH_T0%.*}

# step TEXT: name what the scenario does next; a failure names it.
step() {
	echo "$*" > /tmp/yh.step
	read -r _yh_up _ < /proc/uptime
	echo "--- step: $* [at $((${_yh_up%.*} - YH_T0)) s]"
}

# fail TEXT: fail the scenario now.
fail() {
	echo "$*" > /tmp/yh.why
	echo "FAIL: $*" >&2
	exit 1
}

yh_ran() {
	# Remember the last command that failed, for the verdict line.
	[ "$2" = 0 ] || echo "$1 exited $2" > /tmp/yh.why
	return "$2"
}

# guest N [-t SECS] CMD...: run CMD (joined, through sh -c) in guest N and
# return its exit status; 124 means it was killed at the timeout.
guest() {
	_n=$1
	shift
	_t=$STEP_TIMEOUT
	if [ "$1" = -t ]; then
		_t=$2
		shift 2
	fi
	eval "_ip=\${G${_n}_IP:-}"
	[ -n "$_ip" ] || fail "no guest $_n (NGUESTS=$NGUESTS)"
	_rc=0
	yasmin-agent exec "$_ip" "$YH_PORT" "$_t" "$*" || _rc=$?
	yh_ran "g$_n '$*'" "$_rc"
}

# dom0 [-t SECS] CMD...: the same, in dom0.
dom0() {
	_t=$STEP_TIMEOUT
	if [ "$1" = -t ]; then
		_t=$2
		shift 2
	fi
	_rc=0
	timeout "$_t" sh -c "$*" || _rc=$?
	yh_ran "dom0 '$*'" "$_rc"
}

# g1 ... gN: shorthands for guest N.
_i=1
while [ "$_i" -le "${NGUESTS:-0}" ]; do
	eval "g$_i() { guest $_i \"\$@\"; }"
	_i=$((_i + 1))
done

# each_guest CMD...: run CMD in every live guest, failing on the first error.
each_guest() {
	_j=1
	while [ "$_j" -le "$NGUESTS" ]; do
		if xl domid "g$_j" >/dev/null 2>&1; then
			guest "$_j" "$@" || return $?
		fi
		_j=$((_j + 1))
	done
}

# vm_destroy N / vm_create N: kill guest N, or (re)create it and wait until
# its agent answers. vm_create also refreshes G<N>_DOMID and G<N>_CID, and
# runs yasmin-xs setup for the new domain when yasmin-xs exists.
vm_destroy() {
	timeout 60 xl destroy "g$1"
}

vm_create() {
	/harness/vmctl create "$1" || fail "guest g$1 did not come up"
	. /tmp/yh.env
}

# yasmind_start / yasmind_stop: start dom0's yasmind again (policy
# /etc/yasmin/yasmind.conf, log appended to the scenario's artefact
# yasmind.log; returns once it says it runs) or stop it (SIGTERM, waits).
# For scenarios with "# setup: yasmind", which the runner starts it for.
yasmind_start() {
	/harness/vmctl yasmind-start || fail "yasmind did not start"
}

yasmind_stop() {
	/harness/vmctl yasmind-stop
}

# wait_log N FILE PATTERN [SECS]: wait (default 30 s) until FILE in guest N
# matches PATTERN (grep -E); a server that prints when it is ready is waited
# for this way rather than with a fixed sleep that a loaded host outruns.
wait_log() {
	wait_log_soft "$@" ||
		fail "guest $1: /$3/ did not appear in $2 within ${4:-30} s"
}

# wait_log_soft N FILE PATTERN [SECS]: the same, but only returns non-zero
# at the timeout, for a caller that records the miss and goes on (bench/).
wait_log_soft() {
	_w=$(( ${4:-30} * 10 ))
	guest "$1" "i=0; until grep -Eq -- '$3' $2 2>/dev/null; do i=\$((i + 1)); [ \$i -le $_w ] || exit 1; sleep 0.1; done"
}

# wait_listen N PORT [SECS]: wait until something listens on TCP PORT (v4 or
# v6) in guest N. Under the shim, listen() opens the TCP and the vsock
# listener together, so this covers both.
wait_listen() {
	_w=$(( ${3:-30} * 10 ))
	_hex=$(printf '%04X' "$2")
	guest "$1" "i=0; until grep -Eq ':$_hex [0-9A-F]+:[0-9A-F]+ 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null; do i=\$((i + 1)); [ \$i -le $_w ] || exit 1; sleep 0.1; done" ||
		fail "guest $1: nothing listens on TCP port $2 within ${3:-30} s"
}

# assert_eq A B TEXT: fail with TEXT unless A = B.
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# assert_grep PATTERN TEXT...: fail unless PATTERN (grep -E) matches TEXT.
assert_grep() {
	_p=$1
	shift
	echo "$*" | grep -Eq -- "$_p" || fail "expected /$_p/ in: $*"
}
