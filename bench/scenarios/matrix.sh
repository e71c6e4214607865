# The full benchmark matrix (make bench). See bench/lib.sh for the CSV.
. /opt/extra/lib.sh
PATHS="yasmin netfront unix unix-2cpu"
bench_begin
r=1
while [ "$r" -le "$REPS" ]; do
	step "repetition $r: latency and throughput against message size"
	for s in 1 16 256 4096 65536 262144 1048576 4194304; do
		bench_lat "$s" "$r" $PATHS
		bench_bw "$s" 0 1 "$r" $PATHS
		bench_memcpy "$s" "$r" memcpy memcpy-2cpu
	done
	step "repetition $r: ring size sweep at 1 MiB messages"
	for g in 65536 262144 524288 1048576 2097152; do
		bench_bw 1048576 "$g" 1 "$r" yasmin
	done
	step "repetition $r: concurrent streams"
	for n in 1 2 4; do
		bench_bw 1048576 0 "$n" "$r" yasmin netfront
	done
	step "repetition $r: CPU-seconds per GB, copy and zero-copy (MSG_ZEROCOPY)"
	for s in 65536 262144; do
		bench_cpugb "$s" "$r" yasmin yasmin-zc netfront unix unix-2cpu memcpy memcpy-2cpu
		bench_bw "$s" 0 1 "$r" yasmin-zc
		bench_vsock_perf "$s" "$r"
	done
	bench_gntcopy "$r"
	step "repetition $r: where the CPUs go while yasmin streams"
	for n in 1 2 4; do
		bench_cpu "$n" "$r"
	done
	step "repetition $r: connection setup rate"
	bench_conn "$r" yasmin netfront
	step "repetition $r: iperf3 through the shim and over TCP"
	bench_iperf3 "$r" 10
	r=$((r + 1))
done
step "NetPIPE through the shim and over TCP"
bench_netpipe 4194304
