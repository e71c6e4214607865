# bench/run onecopy: copy against zero-copy (MSG_ZEROCOPY), CPU-seconds per GB
# and throughput side by side, with netfront, AF_UNIX and memcpy (in a
# guest of one vCPU and of two); minutes,
# not the half hour of the matrix.
. /opt/extra/lib.sh
bench_begin
r=1
while [ "$r" -le "$REPS" ]; do
	step "repetition $r"
	for s in 65536 262144; do
		bench_bw "$s" 0 1 "$r" yasmin yasmin-zc unix unix-2cpu
		bench_memcpy "$s" "$r" memcpy memcpy-2cpu
		bench_cpugb "$s" "$r" yasmin yasmin-zc netfront unix unix-2cpu memcpy memcpy-2cpu
		bench_vsock_perf "$s" "$r"
	done
	bench_gntcopy "$r"
	r=$((r + 1))
done
