# shellcheck shell=sh
# Benchmark helpers, sourced by bench/scenarios/*.sh inside dom0 (the
# harness copies this file to /opt/extra/lib.sh). Every point is measured
# for each path in turn within one repetition, so that the paths are
# compared side by side under the same emulator load.
#
# raw.csv columns: path,metric,size,ring,streams,rep,value
#   path    yasmin | yasmin-zc | netfront | unix | unix-2cpu | memcpy |
#           memcpy-2cpu | shim-iperf3 | tcp-iperf3 | ...
#           (unix and memcpy run in guest1, one vCPU; the -2cpu ones in
#           guest3, two vCPUs, when the run has one: bench/run boots it)
#   metric  lat_us | bw_MBps | conn_per_s
# A measurement that fails is recorded as NA, never dropped silently.

: "${REPS:=3}" "${SECS:=2}"
RAW=$ARTIFACTS/raw.csv
VPORT=6000
IPORT=6001
USOCK=/tmp/yasmin-bench.sock

bench_begin() {
	echo "path,metric,size,ring,streams,rep,value" > "$RAW"
	step "start the measuring servers"
	g2 "yasmin-bench serve vsock 0 $VPORT > /tmp/serve-vsock.log 2>&1 &"
	g2 "yasmin-bench serve inet 0 $IPORT > /tmp/serve-inet.log 2>&1 &"
	g1 "yasmin-bench serve unix $USOCK 0 > /tmp/serve-unix.log 2>&1 &"
	if has_2cpu; then
		guest 3 "yasmin-bench serve unix $USOCK 0 > /tmp/serve-unix.log 2>&1 &"
		echo "guest3 has $(guest 3 'grep -c ^processor /proc/cpuinfo') vCPUs"
	fi
	step "write the shim's map file in every guest"
	each_guest "mkdir -p /etc/yasmin && printf '%s %s g1\n%s %s g2\n' \
		$G1_IP $G1_DOMID $G2_IP $G2_DOMID > /etc/yasmin/hosts"
	sleep 1
}

# record PATH METRIC SIZE RING STREAMS REP OUTPUT: the "key=value" line of
# OUTPUT becomes one row.
record() {
	v=$(echo "$7" | sed -n 's/^[a-zA-Z_]*=\([0-9.]*\)$/\1/p' | tail -n 1)
	echo "$1,$2,$3,$4,$5,$6,${v:-NA}" >> "$RAW"
	echo "  $1 $2 size=$3 ring=$4 streams=$5 rep=$6: ${v:-NA}"
}

# has_2cpu: the run has guest3, the one with two vCPUs.
has_2cpu() { [ "${NGUESTS:-2}" -ge 3 ]; }

# client PATH ARGS...: run yasmin-bench's client over PATH, in g1 (g3 for
# unix-2cpu; nothing, so NA, when there is no g3).
client() {
	_p=$1 _g=1
	shift
	case $_p in
	yasmin) _a="vsock $G2_CID $VPORT" ;;
	yasmin-zc) _a="vsock $G2_CID $VPORT" ;;
	netfront) _a="inet $G2_IP $IPORT" ;;
	unix) _a="unix $USOCK 0" ;;
	unix-2cpu) _a="unix $USOCK 0" _g=3; has_2cpu || return 0 ;;
	esac
	_m=$1
	shift
	# the same client, sending with MSG_ZEROCOPY
	[ "$_p" = yasmin-zc ] && [ "$_m" = bw ] && _m=bwzc
	guest "$_g" -t $((SECS * 4 + 60)) "yasmin-bench $_m $_a $*" 2>&1 || true
}

bench_lat() { # SIZE REP PATHS...
	_s=$1 _r=$2
	shift 2
	for p in "$@"; do
		record "$p" lat_us "$_s" 0 1 "$_r" "$(client "$p" lat "$_s" "$SECS")"
	done
}

bench_bw() { # SIZE RING STREAMS REP PATHS...
	_s=$1 _g=$2 _n=$3 _r=$4
	shift 4
	for p in "$@"; do
		record "$p" bw_MBps "$_s" "$_g" "$_n" "$_r" \
			"$(client "$p" bw "$_s" "$SECS" "$_g" "$_n")"
	done
}

# memcpy_run PATH SIZE SECS: yasmin-bench memcpy in PATH's guest.
memcpy_run() {
	case $1 in
	memcpy-2cpu) has_2cpu && guest 3 "yasmin-bench memcpy $2 $3" 2>&1 ;;
	*) g1 "yasmin-bench memcpy $2 $3" 2>&1 ;;
	esac
}

bench_memcpy() { # SIZE REP [PATH...] (memcpy, memcpy-2cpu; default memcpy)
	_s=$1 _r=$2
	shift 2
	for p in ${*:-memcpy}; do
		record "$p" bw_MBps "$_s" 0 1 "$_r" "$(memcpy_run "$p" "$_s" "$SECS" || true)"
	done
}

bench_conn() { # REP PATHS...
	_r=$1
	shift
	for p in "$@"; do
		record "$p" conn_per_s 1 0 1 "$_r" "$(client "$p" conn "$SECS")"
	done
}

# bench_cpu STREAMS REP: a profile of where the host's CPUs go while yasmin
# streams 1 MiB messages g1 -> g2 over STREAMS connections: each domain's
# CPU time (xl list) over the run's wall time, as percent of one physical
# CPU (rows cpu-<domain>,cpu_pct), plus the host's physical CPU count once
# (row host,pcpus). It tells whether more streams have any CPU left to use.
bench_cpu() {
	grep -q '^host,pcpus' "$RAW" ||
		echo "host,pcpus,0,0,1,1,$(xl info | awk '/^nr_cpus/ { print $3 }')" >> "$RAW"
	_w0=$(cut -d' ' -f1 /proc/uptime)
	xl list | awk 'NR > 1 { print $1, $NF }' > /tmp/cpu0
	client yasmin bw 1048576 $((SECS * 2)) 0 "$1" > /dev/null
	xl list | awk 'NR > 1 { print $1, $NF }' > /tmp/cpu1
	_w1=$(cut -d' ' -f1 /proc/uptime)
	awk -v w="$_w0" -v w1="$_w1" 'NR == FNR { t[$1] = $2; next }
		($1 in t) { printf "%s %.1f\n", $1, ($2 - t[$1]) * 100 / (w1 - w) }' /tmp/cpu0 /tmp/cpu1 |
	while read -r d pct; do
		echo "cpu-$d,cpu_pct,1048576,0,$1,$2,$pct" >> "$RAW"
		echo "  cpu $d streams=$1 rep=$2: $pct% of one CPU"
	done
}

# cpu_now: every domain's CPU seconds so far (xl list), summed.
cpu_now() {
	xl list | awk 'NR > 1 { t += $NF } END { printf "%.1f\n", t }'
}

# cpu_per_gb C0 C1 BYTES: CPU-seconds per GB from two cpu_now readings and
# the bytes moved between them; empty when nothing moved.
cpu_per_gb() {
	awk -v c0="$1" -v c1="$2" -v b="${3:-0}" \
		'BEGIN { if (b > 0) printf "%.3f", (c1 - c0) / (b / 1e9) }'
}

# bench_cpugb SIZE REP PATHS...: CPU-seconds per GB moved, all domains
# together (Xen's accounting, xl list), while PATH moves SIZE-byte messages
# for SECS * 2 seconds (memcpy, memcpy-2cpu: copies SIZE bytes in g1, g3). Rows
# PATH,cpu_s_per_GB; the run's own throughput is recorded as
# PATH,cpu_run_MBps beside it.
bench_cpugb() {
	_s=$1 _r=$2
	shift 2
	for p in "$@"; do
		_c0=$(cpu_now)
		if [ "${p%-2cpu}" = memcpy ]; then
			_o=$(memcpy_run "$p" "$_s" $((SECS * 2)) || true)
		else
			_o=$(client "$p" bw "$_s" $((SECS * 2)))
		fi
		_c1=$(cpu_now)
		_v=$(cpu_per_gb "$_c0" "$_c1" "$(echo "$_o" | sed -n 's/^bytes=\([0-9]*\)$/\1/p')")
		record "$p" cpu_s_per_GB "$_s" 0 1 "$_r" "cpu_s_per_GB=${_v:-NA}"
		record "$p" cpu_run_MBps "$_s" 0 1 "$_r" "$_o"
		echo "$_o" | grep '^zerocopied=' | sed "s/^/  $p: /"
	done
}

# bench_gntcopy REP: the floor under zero-copy's receive path. guest2
# shares 64 pages (the zero-copy window, 256 KiB) with guest1, and guest1
# copies them with GNTTABOP_copy, 16 per call as yasmin.ko does, into its
# own buffer for SECS * 2 seconds (yasmin-gntcopy verifies the bytes): no
# ring, event, pinning on the sender or completion. Rows gntcopy,
# cpu_s_per_GB and cpu_run_MBps at size 262144, as bench_cpugb's.
bench_gntcopy() {
	g2 "yasmin-gntcopy -s $G1_DOMID -n 64 > /tmp/gntcopy-s.log 2>&1 &"
	wait_log_soft 2 /tmp/gntcopy-s.log '^refs ' || true
	_refs=$(g2 'sed -n "s/^refs //p" /tmp/gntcopy-s.log')
	_c0=$(cpu_now)
	_o=$(g1 -t 120 "yasmin-gntcopy -c $G2_DOMID -t $((SECS * 2)) $_refs" 2>&1 || true)
	_c1=$(cpu_now)
	g2 'killall yasmin-gntcopy 2>/dev/null; true'
	_v=$(cpu_per_gb "$_c0" "$_c1" "$(echo "$_o" | sed -n 's/^bytes=\([0-9]*\) .*/\1/p')")
	record gntcopy cpu_s_per_GB 262144 0 1 "$1" "cpu_s_per_GB=${_v:-NA}"
	record gntcopy cpu_run_MBps 262144 0 1 "$1" "$(echo "$_o" | sed -n 's/.* \(MBps=[0-9.]*\)$/\1/p')"
}

# bench_vsock_perf SIZE REP: Linux 6.12's own vsock_perf (tools/testing/
# vsock), a measuring tool that is not the project's: guest2 receives,
# guest1 sends 1 GiB in SIZE-byte writes, copied (path vsock_perf) and with
# --zerocopy (vsock_perf-zc); the receiver's rate, in MB/s.
bench_vsock_perf() {
	for p in vsock_perf vsock_perf-zc; do
		_z=
		[ "$p" = vsock_perf-zc ] && _z=--zerocopy
		g2 "rm -f /tmp/vperf-r.log; vsock_perf-6.12 --port 6002 --buf-size $1 > /tmp/vperf-r.log 2>&1 &"
		# its last line before listen(); a moment more for listen itself
		wait_log_soft 2 /tmp/vperf-r.log '^SO_RCVLOWAT' && sleep 0.5
		guest 1 -t 300 "vsock_perf-6.12 --sender $G2_CID --port 6002 --bytes 1G --buf-size $1 $_z > /tmp/vperf-s.log 2>&1" ||
			g1 'tail -n 3 /tmp/vperf-s.log'
		wait_log_soft 2 /tmp/vperf-r.log '^rx performance' || true
		_v=$(g2 "sed -n 's/^rx performance: \([0-9.]*\) Gbits.*/\1/p' /tmp/vperf-r.log")
		g2 'killall vsock_perf-6.12 2>/dev/null; true'
		record "$p" bw_MBps "$1" 0 1 "$2" \
			"bw=$(awk -v g="$_v" 'BEGIN { if (g != "") printf "%.1f", g * 1000 / 8 }')"
	done
}

# shim_ready: the shim rows count only when the shim is there to preload; a
# missing library would silently measure plain TCP under the yasmin label.
shim_ready() {
	g1 'test -f /opt/yasmin/lib/libyasmin.so' && g2 'test -f /opt/yasmin/lib/libyasmin.so'
}

# bench_iperf3 REP SECONDS: iperf3 g1 -> g2, under the shim and over plain
# TCP, each as one row in MB/s (receiver side).
bench_iperf3() {
	for p in shim-iperf3 tcp-iperf3; do
		pre=
		if [ "$p" = shim-iperf3 ]; then
			shim_ready || { record "$p" bw_MBps iperf3 0 1 "$1" "no shim"; continue; }
			pre="LD_PRELOAD=/opt/yasmin/lib/libyasmin.so"
		fi
		g2 "$pre iperf3 -s -1 -p 5301 > /tmp/iperf3-s.log 2>&1 &"
		sleep 1
		y0=$(g1 'yasmin-stat bytes_sent 2>/dev/null || echo 0')
		out=$(guest 1 -t $(($2 + 60)) "$pre iperf3 -c $G2_IP -p 5301 -t $2 -J" 2>&1) || true
		y1=$(g1 'yasmin-stat bytes_sent 2>/dev/null || echo 0')
		bps=$(echo "$out" | tr -d ' \t\n' |
			sed -n 's/.*"sum_received":{[^}]*"bits_per_second":\([0-9.e+]*\).*/\1/p')
		bytes=$(echo "$out" | tr -d ' \t\n' |
			sed -n 's/.*"sum_received":{[^}]*"bytes":\([0-9]*\).*/\1/p')
		mbs=$(echo "$bps" | awk '{ if ($1 != "") printf "%.2f", $1 / 8e6 }')
		# The shim row counts only if yasmin really carried the bytes.
		if [ "$p" = shim-iperf3 ] && [ $((y1 - y0)) -lt "${bytes:-1}" ]; then
			echo "  $p: yasmin carried $((y1 - y0)) of ${bytes:-?} bytes"
			mbs=
		fi
		record "$p" bw_MBps iperf3 0 1 "$1" "bw_MBps=${mbs:-NA}"
	done
}

# bench_netpipe MAXSIZE: NPtcp's sweep up to MAXSIZE, under the shim and over
# plain TCP; every NPtcp line (bytes, Mbps, seconds) becomes a row in MB/s and
# a half round trip in microseconds.
bench_netpipe() {
	for p in shim-NPtcp tcp-NPtcp; do
		pre=
		if [ "$p" = shim-NPtcp ]; then
			shim_ready || { echo "  $p: no shim, skipped"; continue; }
			pre="LD_PRELOAD=/opt/yasmin/lib/libyasmin.so"
		fi
		g2 "$pre NPtcp -p 0 -u $1 > /tmp/np-r.log 2>&1 &"
		sleep 1
		guest 1 -t 1200 "$pre NPtcp -h $G2_IP -p 0 -u $1 -o /tmp/np.out > /tmp/np-t.log 2>&1" || true
		g1 'cat /tmp/np.out 2>/dev/null' | while read -r bytes mbps secs _; do
			[ -n "$secs" ] || continue
			echo "$p,bw_MBps,$bytes,0,1,1,$(echo "$mbps" | awk '{printf "%.3f", $1 / 8}')" >> "$RAW"
			echo "$p,lat_us,$bytes,0,1,1,$(echo "$secs" | awk '{printf "%.3f", $1 * 1e6}')" >> "$RAW"
		done
		grep -c "^$p,bw" "$RAW" | sed "s/^/  $p points: /"
	done
}
