# lib.sh - what the shell benchmarks share; sourced, never run.

# port: a free TCP port on loopback.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# stats: median and p99 of the numbers on stdin (ms), on one line
# without its newline.
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
	    m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.999)];
	    printf "median %.2f ms, p99 %.2f ms (n=%d)", m, p, NR }'
}
# rss PID, hwm PID: resident memory now and at its peak, in KiB.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
