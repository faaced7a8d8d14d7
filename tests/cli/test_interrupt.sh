#!/bin/sh
# test_interrupt.sh ENAS PLUGIN_DIR GEN_CIFAR CKPT_DIGEST - Ctrl-C is seen between the samples of a
# controller update and of the epoch-end derivation, not only between them (an update of 100,000 samples
# would take minutes), and the work cut short is abandoned cleanly: after SIGINT inside phase 2 or the
# derivation and --resume, a deterministic run ends with exactly the weights, controller and chosen
# architecture of an uninterrupted one.
set -u
enas=$1 plugins=$2 gen=$3 digest=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_interrupt.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/data" && "$gen" "$tmp/data" 200 >/dev/null || exit 1
backend=ref # the reference ops score a sample in 140 ms here, oneDNN in 20
"$enas" plugins --plugin-dir "$plugins" 2>/dev/null | grep -q "backend onednn" && backend=onednn
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
# 60 images: 30 train the shared weights (two steps), 30 score the controller
search_exec() {
    exec "$enas" --plugin-dir "$plugins" --space micro --backend "$backend" --data "$tmp/data" --train-subset 60 \
        --batch-size 20 --log-frequency 1 --derive-samples 2 --compare-samples 0 --valid-eval-batches -1 --seed 5 --micro.num-layers 1 --micro.out-filters 4 --num-epochs 1 \
        --deterministic --workers 1 "$@"
}
# wait_phase2 DIR PID: until both shared-weight steps of epoch 0 are logged (phase 2 has begun)
wait_phase2() {
    n=0
    while [ "$(grep -c '"step"' "$1/metrics.jsonl" 2>/dev/null)" != 2 ] && [ $n -lt 1800 ] && kill -0 "$2" 2>/dev/null; do
        sleep 0.1
        n=$((n + 1))
    done
}
now() { date +%s; }

# 1. SIGINT inside a controller update of 100,000 samples
search_exec --ctrl-steps 1 --ctrl-steps-aggregate 100000 --output "$tmp/long" >"$tmp/long.log" 2>&1 &
pid=$!
wait_phase2 "$tmp/long" $pid
sleep 1
t0=$(now)
kill -INT $pid
wait $pid
rc=$?
t1=$(now)
[ $rc -eq 130 ] || { fail "SIGINT during a controller update: exit $rc, want 130"; cat "$tmp/long.log" >&2; }
[ $((t1 - t0)) -le 20 ] || fail "SIGINT took $((t1 - t0)) s to stop the run"
[ -f "$tmp/long/checkpoint.bin" ] || fail "no checkpoint after SIGINT"
grep -q '"ctrl_update"' "$tmp/long/metrics.jsonl" && fail "the abandoned controller update was logged"

# 2. an update cut short and resumed gives the uninterrupted run's weights, bit for bit
search_exec --ctrl-steps 3 --ctrl-steps-aggregate 60 --output "$tmp/a" >/dev/null 2>&1 &
wait $! || fail "uninterrupted run failed"
for delay in 0.3 1.0; do
    out="$tmp/b$delay"
    search_exec --ctrl-steps 3 --ctrl-steps-aggregate 60 --output "$out" >"$out.log" 2>&1 &
    pid=$!
    wait_phase2 "$out" $pid
    sleep $delay
    kill -INT $pid 2>/dev/null
    wait $pid
    "$enas" --plugin-dir "$plugins" --resume "$out" >>"$out.log" 2>&1 || { fail "resume after $delay s failed"; cat "$out.log" >&2; }
    da=$("$digest" "$tmp/a/checkpoint.bin") db=$("$digest" "$out/checkpoint.bin")
    [ -n "$da" ] && [ "$da" = "$db" ] || fail "interrupted $delay s into phase 2 and resumed: weights differ ($da vs $db)"
    cmp -s "$tmp/a/best_arch.tf" "$out/best_arch.tf" || fail "interrupted $delay s into phase 2: best architecture differs"
done

# 3. the same inside the derivation at the epoch's end (its scoring updates BN statistics too)
search_exec --ctrl-steps 1 --ctrl-steps-aggregate 4 --derive-samples 150 --compare-samples 0 --valid-eval-batches -1 --output "$tmp/d" >/dev/null 2>&1 &
wait $! || fail "uninterrupted run with 150 derived samples failed"
out="$tmp/e"
search_exec --ctrl-steps 1 --ctrl-steps-aggregate 4 --derive-samples 150 --compare-samples 0 --valid-eval-batches -1 --output "$out" >"$out.log" 2>&1 &
pid=$!
n=0
while ! grep -q '"ctrl_update"' "$out/metrics.jsonl" 2>/dev/null && [ $n -lt 1800 ] && kill -0 $pid 2>/dev/null; do
    sleep 0.05
    n=$((n + 1))
done
sleep 0.5
kill -INT $pid 2>/dev/null
wait $pid
grep -q '"epoch_end"' "$out/metrics.jsonl" && echo "test_interrupt: note: the derivation ended before SIGINT"
"$enas" --plugin-dir "$plugins" --resume "$out" >>"$out.log" 2>&1 || { fail "resume after SIGINT in the derivation failed"; cat "$out.log" >&2; }
da=$("$digest" "$tmp/d/checkpoint.bin") db=$("$digest" "$out/checkpoint.bin")
[ -n "$da" ] && [ "$da" = "$db" ] || fail "interrupted in the derivation and resumed: weights differ ($da vs $db)"
cmp -s "$tmp/d/best_arch.tf" "$out/best_arch.tf" || fail "interrupted in the derivation: best architecture differs"

[ $fails -eq 0 ] || exit 1
echo "test_interrupt: all checks passed"
