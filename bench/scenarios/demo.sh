# make demo: the benchmark in miniature.
. /opt/extra/lib.sh
bench_begin
r=1
while [ "$r" -le "$REPS" ]; do
	step "repetition $r"
	bench_lat 1 "$r" yasmin netfront unix unix-2cpu
	for s in 65536 1048576; do
		bench_bw "$s" 0 1 "$r" yasmin netfront unix unix-2cpu
		bench_memcpy "$s" "$r" memcpy memcpy-2cpu
	done
	# one copy per byte: MSG_ZEROCOPY against copying, in CPU per GB
	bench_cpugb 262144 "$r" yasmin yasmin-zc netfront unix unix-2cpu memcpy memcpy-2cpu
	bench_conn "$r" yasmin netfront
	bench_iperf3 "$r" 5
	r=$((r + 1))
done
step "NetPIPE through the shim and over TCP"
bench_netpipe 1048576
