# bench/run onecopy: copy against zero-copy (MSG_ZEROCOPY), CPU-seconds per GB
# and throughput side by side, with netfront, AF_UNIX and memcpy; minutes,
# not the half hour of the matrix.
. /opt/extra/lib.sh
bench_begin
r=1
while [ "$r" -le "$REPS" ]; do
	step "repetition $r"
	for s in 65536 262144; do
		bench_bw "$s" 0 1 "$r" yasmin yasmin-zc
		bench_cpugb "$s" "$r" yasmin yasmin-zc netfront unix memcpy
	done
	r=$((r + 1))
done
