#!/bin/sh
# bench/run_retrain.sh - the retrain step: this engine's fixed network (what `enas retrain` trains) against
# (1) a search step of the same architecture at the same widths (the supergraph running it) and (2) PyTorch
# 1.13 training the same fixed network, rebuilt from the ONNX graph `enas export` writes (bench/torch_onnx.py:
# the same ops, weights and order; NCHW and channels_last). Batch 128, 2 threads, the same batch every step
# (no input pipeline), forward + cross-entropy + backward + clip 5 + Nesterov SGD; aux head, drop path and
# dropout off (the exported graph has none of them). Side by side in rounds; medians over every timed step.
# Environment: BUILD (build-bench) WARMUP (2) STEPS (5) ROUNDS (2) PYTHON (/usr/bin/python3) OUT
# ($BUILD/retrain-results) ENAS_DATA (CIFAR-10 for the batch; else noise). Prints a table; raw JSON lines in
# $OUT/results.jsonl.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
WARMUP=${WARMUP:-2}
STEPS=${STEPS:-5}
ROUNDS=${ROUNDS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-$BUILD/retrain-results}
"$PYTHON" -c 'import torch, onnx' 2>/dev/null || { echo "run_retrain.sh: $PYTHON needs python3-torch and python3-onnx" >&2; exit 1; }
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target enas bench_search gen_cifar >/dev/null
BIN=$BUILD/bench/bench_search PLUGINS=$BUILD/plugins ENAS=$BUILD/enas
mkdir -p "$OUT"
RES=$OUT/results.jsonl
: >"$RES"
export OMP_NUM_THREADS=2 ENAS_PLUGIN_PATH=
data=${ENAS_DATA:-}
if [ -z "$data" ]; then
    data=$OUT/data
    mkdir -p "$data" && "$BUILD/tests/gen_cifar" "$data" 256 >/dev/null
fi
off_micro="micro.use-aux-heads=false micro.drop-path-keep-prob=1 micro.keep-prob=1"
"$BIN" gen "$PLUGINS" macro 1 1 >"$OUT/macro.archs"
echo "0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1" >"$OUT/micro.archs"
# case: name space search-widths (options) extra fixed-only options
cases="micro_6x20|micro|micro.num-layers=6 micro.out-filters=20 micro.num-nodes=5|$off_micro
micro_3x16|micro|micro.num-layers=3 micro.out-filters=16 micro.num-nodes=5|$off_micro
macro_12x36|macro|macro.num-layers=12 macro.out-filters=36|macro.keep-prob=1 macro.final-double-filters=false"
echo "$cases" | while IFS='|' read -r name space widths extra; do
    # a model of the fixed network (one step on a few images), exported for PyTorch
    opts=""
    for kv in $widths $extra; do opts="$opts --${kv%%=*} ${kv#*=}"; done
    rm -rf "$OUT/$name.run"
    # shellcheck disable=SC2086
    "$ENAS" retrain --plugin-dir "$PLUGINS" --space "$space" --arch "$(cat "$OUT/$space.archs")" $opts \
        --data "$data" --train-subset 128 --test-subset 16 --batch-size 64 --num-epochs 1 --max-steps 1 \
        --eval-every 0 --output "$OUT/$name.run" >"$OUT/$name.log" 2>&1
    "$ENAS" export "$OUT/$name.run" --plugin-dir "$PLUGINS" --to onnx "$OUT/$name.onnx" >>"$OUT/$name.log" 2>&1
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        echo "run_retrain.sh: $name round $r/$ROUNDS" >&2
        for fixed in 1 0; do
            o="$widths"
            [ $fixed = 1 ] && o="$widths $extra"
            "$BIN" train "$PLUGINS" "$space" "$OUT/$space.archs" --warmup "$WARMUP" --steps "$STEPS" --ctrl-reps 0 \
                --fixed $fixed --options "$o" 2>>"$OUT/stderr.log" | sed "s/^{/{\"label\": \"$name\", /" >>"$RES"
        done
        for cl in "" --channels-last; do
            # shellcheck disable=SC2086
            "$PYTHON" "$ROOT/bench/torch_onnx.py" --onnx "$OUT/$name.onnx" --warmup "$WARMUP" --steps "$STEPS" \
                --label "$name" $cl 2>>"$OUT/stderr.log" >>"$RES"
        done
        r=$((r + 1))
    done
done
"$PYTHON" - "$RES" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(v):
    v = sorted(v)
    return v[len(v) // 2]
print("| network | forward M multiply-adds per image, retrain / search | enas retrain step img/s | enas search step img/s | "
      "retrain / search: img/s, multiply-adds/s | torch NCHW img/s | torch channels_last img/s | enas retrain / best torch | "
      "peak RSS MB enas / torch NCHW / CL | RSS enas / best torch |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name in dict.fromkeys(r["label"] for r in rows):
    by = {}
    for r in rows:
        if r["label"] == name:
            by.setdefault(r["program"], []).append(r)
    ips = {p: 128 / med([s for r in v for s in r["step_s"]]) for p, v in by.items()}
    rss = {p: max(r["peak_rss_mb"] for r in v) for p, v in by.items()}
    mf, ms = by["enas-onednn-fixed"][0]["madds"] / 1e6, by["enas-onednn"][0]["madds"] / 1e6
    fx, se = ips["enas-onednn-fixed"], ips["enas-onednn"]
    tn, tc = ips["torch-nchw"], ips["torch-channels_last"]
    bt = max(tn, tc)
    brss = min(rss["torch-nchw"], rss["torch-channels_last"])
    print(f"| {name} | {mf:.1f} / {ms:.1f} | {fx:.1f} | {se:.1f} | {fx / se:.2f}x, {fx * mf / (se * ms):.2f}x | {tn:.1f} | "
          f"{tc:.1f} | {fx / bt:.2f}x | {rss['enas-onednn-fixed']:.0f} / {rss['torch-nchw']:.0f} / "
          f"{rss['torch-channels_last']:.0f} | {rss['enas-onednn-fixed'] / brss:.2f} |")
EOF
