#!/bin/sh
# bench/run.sh - ENAS search throughput: this engine (onednn backend) against PyTorch running the same child
# networks (bench/torch_enas.py, NCHW and channels_last), side by side, batch 128, 2 threads.
# See bench/README.md. Settings come from the environment:
#   BUILD (build-bench)  WARMUP (1)  STEPS (4)  ROUNDS (1)  (a quiet machine: WARMUP=3 STEPS=10 ROUNDS=2)  N_ARCHS (20)  SEED (1)  SPACES ("macro micro")
#   CTRL_REPS (3)  PYTHON (/usr/bin/python3, Debian's python3-torch)  OUT ($BUILD/bench-results)
#   ENAS_DATA: CIFAR-10 for both programs when set (else the same-distribution noise)
# Each round runs, per space, enas, torch NCHW, torch channels_last one after the other, so that a busy
# neighbour hits all three alike; medians are over every timed step of every round.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
WARMUP=${WARMUP:-1}
STEPS=${STEPS:-4}
ROUNDS=${ROUNDS:-1}
N_ARCHS=${N_ARCHS:-20}
SEED=${SEED:-1}
SPACES=${SPACES:-"macro micro"}
CTRL_REPS=${CTRL_REPS:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-$BUILD/bench-results}
BIN=$BUILD/bench/bench_search
PLUGINS=$BUILD/plugins

if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
    echo "run.sh: $PYTHON cannot import torch: apt-get install python3-torch" >&2
    exit 1
fi
if [ ! -x "$BIN" ] || [ ! -f "$PLUGINS/space_micro.so" ] || [ ! -f "$PLUGINS/onednn.so" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
# always brought up to date (a no-op when nothing changed)
cmake --build "$BUILD" -j2 --target bench_search >/dev/null

mkdir -p "$OUT"
RES=$OUT/results.jsonl
: >"$RES"
export OMP_NUM_THREADS=2
export ENAS_PLUGIN_PATH=
start=$(date +%s)
for space in $SPACES; do
    "$BIN" gen "$PLUGINS" "$space" "$N_ARCHS" "$SEED" >"$OUT/$space.archs"
done
echo "run.sh: $N_ARCHS architectures per space in $OUT/*.archs; $ROUNDS rounds of $WARMUP warm-up + $STEPS timed steps" >&2

r=1
while [ "$r" -le "$ROUNDS" ]; do
    first=$(( (r - 1) * (WARMUP + STEPS) ))
    ctrl=0
    [ "$r" -eq 1 ] && ctrl=$CTRL_REPS
    for space in $SPACES; do
        A=$OUT/$space.archs
        echo "run.sh: round $r/$ROUNDS $space: enas" >&2
        "$BIN" train "$PLUGINS" "$space" "$A" --backend onednn --warmup "$WARMUP" --steps "$STEPS" \
            --batch 128 --ctrl-reps "$ctrl" --first-arch "$first" 2>>"$OUT/stderr.log" >>"$RES"
        echo "run.sh: round $r/$ROUNDS $space: torch NCHW" >&2
        "$PYTHON" "$ROOT/bench/torch_enas.py" --space "$space" --archs "$A" --warmup "$WARMUP" --steps "$STEPS" \
            --batch 128 --threads 2 --ctrl-reps "$ctrl" --first-arch "$first" 2>>"$OUT/stderr.log" >>"$RES"
        echo "run.sh: round $r/$ROUNDS $space: torch channels_last" >&2
        "$PYTHON" "$ROOT/bench/torch_enas.py" --space "$space" --archs "$A" --warmup "$WARMUP" --steps "$STEPS" \
            --batch 128 --threads 2 --ctrl-reps 0 --first-arch "$first" --channels-last \
            2>>"$OUT/stderr.log" >>"$RES"
    done
    r=$((r + 1))
done
end=$(date +%s)

"$PYTHON" - "$RES" "$((end - start))" <<'EOF'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
progs = ("enas-onednn", "torch-nchw", "torch-channels_last")
def agg(space, prog):
    rs = [r for r in rows if r["space"] == space and r["program"] == prog]
    if not rs:
        return None
    steps = [t for r in rs for t in r["step_s"]]
    cpus = [t for r in rs for t in r.get("cpu_s", [])]
    ctrl = [r["ctrl_update_ms"] for r in rs if r.get("ctrl_update_ms") is not None]
    b = rs[0]["batch"]
    return {"ips": b / statistics.median(steps), "cpu_ips": b / statistics.median(cpus) if cpus else None,
            "rss": max(r["peak_rss_mb"] for r in rs), "ctrl": ctrl[0] if ctrl else None, "n": len(steps),
            "data": rs[0]["data"]}
def f(v, fmt="%.1f"):
    return "n/a" if v is None else fmt % v
spaces = sorted({r["space"] for r in rows}, key=lambda s: ("macro", "micro").index(s) if s in ("macro", "micro") else 9)
print()
print("batch 128, 2 threads, %s data; 1-min load average at the end %s (2 cores); %s s in all; %d timed steps each" %
      (rows[0]["data"], open("/proc/loadavg").read().split()[0], sys.argv[2], len(rows[0]["step_s"]) * sum(1 for r in rows if r["program"] == rows[0]["program"] and r["space"] == rows[0]["space"])))
print()
print("| space | images/s enas | torch NCHW | torch channels_last | enas / best torch | peak RSS MB enas / NCHW / CL | enas / best-torch RSS | controller update ms enas / torch |")
print("|---|---|---|---|---|---|---|---|")
for s in spaces:
    a = {p: agg(s, p) for p in progs}
    e, n, c = a["enas-onednn"], a["torch-nchw"], a["torch-channels_last"]
    best = max((x for x in (n, c) if x), key=lambda x: x["ips"], default=None)
    low = min((x["rss"] for x in (n, c) if x), default=None)
    print("| %s | %s | %s | %s | %s | %s / %s / %s | %s | %s / %s |" % (
        s, f(e and e["ips"]), f(n and n["ips"]), f(c and c["ips"]),
        f(e and best and e["ips"] / best["ips"], "%.2fx"),
        f(e and e["rss"], "%.0f"), f(n and n["rss"], "%.0f"), f(c and c["rss"], "%.0f"),
        f(e and low and e["rss"] / low, "%.2f"),
        f(e and e["ctrl"]), f(n and n["ctrl"])))
print()
print("Paired: median over the timed steps (same architecture, same round) of torch step time / enas step time:")
print()
print("| space | torch NCHW / enas | torch channels_last / enas | enas tape peak MB | enas forward / backward / SGD s |")
print("|---|---|---|---|---|")
for s in spaces:
    def pair(prog):
        q = []
        for e in (r for r in rows if r["space"] == s and r["program"] == "enas-onednn"):
            for t in (r for r in rows if r["space"] == s and r["program"] == prog):
                if t.get("first_arch", 0) == e.get("first_arch", 0):
                    q += [b / a for a, b in zip(e["step_s"], t["step_s"])]
                    break
        return statistics.median(q) if q else None
    e = [r for r in rows if r["space"] == s and r["program"] == "enas-onednn"]
    ph = e[0]["phase_median_s"] if e else None
    print("| %s | %s | %s | %s | %s |" % (s, f(pair("torch-nchw"), "%.2fx"), f(pair("torch-channels_last"), "%.2fx"),
          f(e and e[0]["tape_peak_mb"], "%.0f"),
          ph and "%.2f / %.2f / %.3f" % (ph["forward"], ph["backward"], ph["sgd"]) or "n/a"))
print()
print("Per CPU-second (images per process CPU second, all threads; less sensitive to a busy machine):")
print()
print("| space | enas | torch NCHW | torch channels_last | enas / best torch |")
print("|---|---|---|---|---|")
for s in spaces:
    a = {p: agg(s, p) for p in progs}
    e, n, c = a["enas-onednn"], a["torch-nchw"], a["torch-channels_last"]
    vals = [x["cpu_ips"] for x in (n, c) if x and x["cpu_ips"]]
    print("| %s | %s | %s | %s | %s |" % (s, f(e and e["cpu_ips"]), f(n and n["cpu_ips"]), f(c and c["cpu_ips"]),
                                     f(e and vals and e["cpu_ips"] / max(vals), "%.2fx")))
EOF
