#!/bin/sh
# test_search.sh ENAS PLUGIN_DIR GEN_CIFAR CKPT_DIGEST BACKEND SPACE - a short search end to end on
# generated data (and on real CIFAR-10 when $ENAS_DATA holds it): every output of the run folder;
# SIGINT writes a checkpoint and says how to resume; SIGKILL then --resume reaches, in deterministic
# mode, exactly the weights of an uninterrupted run; a corrupt checkpoint is refused.
set -u
enas=$1 plugins=$2 gen=$3 digest=$4 backend=$5 space=$6
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_search.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

listing=$("$enas" plugins --plugin-dir "$plugins" 2>/dev/null)
for need in "backend $backend" "space $space"; do
    if ! printf '%s\n' "$listing" | grep -q "$need"; then
        echo "test_search: $need is not built: skipped"
        exit 77
    fi
done
mkdir -p "$tmp/data"
"$gen" "$tmp/data" 600 || exit 1

case $space in
macro) small="--macro.num-layers 3 --macro.out-filters 8" ;;
*) small="--micro.num-layers 1 --micro.out-filters 6" ;;
esac
# shellcheck disable=SC2086
search() {
    out=$1
    shift
    "$enas" --plugin-dir "$plugins" --space "$space" --backend "$backend" --data "$tmp/data" --train-subset 400 \
        --batch-size 40 --ctrl-steps 2 --ctrl-steps-aggregate 2 --derive-samples 3 --compare-samples 1 --compare-batches 1 --valid-eval-batches 1 --log-frequency 2 \
        --seed 7 --output "$out" $small "$@"
}

# the same, as the process itself (for runs in the background that get signals)
# shellcheck disable=SC2086
search_exec() {
    out=$1
    shift
    exec "$enas" --plugin-dir "$plugins" --space "$space" --backend "$backend" --data "$tmp/data" \
        --train-subset 400 --batch-size 40 --ctrl-steps 2 --ctrl-steps-aggregate 2 --derive-samples 3 --compare-samples 1 --compare-batches 1 --valid-eval-batches 1 \
        --log-frequency 2 --seed 7 --output "$out" $small "$@"
}

# 1. a short search writes every output
search "$tmp/run" --num-epochs 2 >"$tmp/log" 2>&1 || { fail "search exited $?"; cat "$tmp/log" >&2; }
for f in config.cfg metrics.jsonl checkpoint.bin best_arch.json best_arch.tf arch/epoch_0.tf arch/epoch_0.json \
    arch/epoch_1.json train.tsv ctrl.tsv; do
    [ -s "$tmp/run/$f" ] || fail "$f missing or empty"
done
if [ -s "$tmp/run/arch/epoch_0.tf" ] && ! grep -q "digraph" "$tmp/run/arch/epoch_0.dot" 2>/dev/null; then
    fail "arch/epoch_0.dot is not a DOT graph"
fi
if command -v dot >/dev/null 2>&1; then [ -s "$tmp/run/best_arch.png" ] || fail "best_arch.png missing"; fi
for k in '"step"' '"loss"' '"accuracy"' '"lr"' '"images_per_s"' '"reward"' '"baseline"' '"entropy"' \
    '"log_prob"' '"skip_rate"' '"epoch_end"'; do
    grep -q "$k" "$tmp/run/metrics.jsonl" || fail "metrics.jsonl has no $k"
done
# the chosen architecture is valid for the space and converts
"$enas" arch --plugin-dir "$plugins" --space "$space" --backend "$backend" $small --to tf "$tmp/run/best_arch.json" \
    >"$tmp/arch.tf" 2>"$tmp/arch.err" || fail "best_arch.json does not validate: $(cat "$tmp/arch.err")"
cmp -s "$tmp/arch.tf" "$tmp/run/best_arch.tf" || fail "best_arch.json and best_arch.tf differ"
# the saved settings reproduce the run's settings
grep -q "seed = 7" "$tmp/run/config.cfg" || fail "config.cfg lacks the seed"
# a second run into the same folder is refused
search "$tmp/run" --num-epochs 2 >"$tmp/log" 2>&1 && fail "a second run overwrote $tmp/run"
grep -q "already holds a run" "$tmp/log" || fail "no 'already holds a run' message"

# 2. SIGKILL then --resume equals an uninterrupted run, bit for bit (deterministic, one worker)
search "$tmp/a" --num-epochs 3 --deterministic --workers 1 >/dev/null 2>&1 || fail "uninterrupted run failed"
search_exec "$tmp/b" --num-epochs 3 --deterministic --workers 1 >/dev/null 2>&1 &
pid=$!
n=0
# (waits of up to 3 minutes: under the sanitizers beside other tests a first epoch can take long)
while [ ! -f "$tmp/b/checkpoint.bin" ] && [ $n -lt 1800 ] && kill -0 $pid 2>/dev/null; do
    sleep 0.1
    n=$((n + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -f "$tmp/b/checkpoint.bin" ] || fail "no checkpoint before the kill"
"$enas" --plugin-dir "$plugins" --resume "$tmp/b" >"$tmp/log" 2>&1 || { fail "resume failed"; cat "$tmp/log" >&2; }
da=$("$digest" "$tmp/a/checkpoint.bin") db=$("$digest" "$tmp/b/checkpoint.bin")
[ -n "$da" ] && [ "$da" = "$db" ] || fail "resumed weights differ from the uninterrupted run ($da vs $db)"
cmp -s "$tmp/a/best_arch.tf" "$tmp/b/best_arch.tf" || fail "resumed best architecture differs"

# 3. SIGINT: a checkpoint and the way to continue
search_exec "$tmp/c" --num-epochs 50 >"$tmp/log" 2>&1 &
pid=$!
n=0
while ! grep -q '"step"' "$tmp/c/metrics.jsonl" 2>/dev/null && [ $n -lt 1800 ] && kill -0 $pid 2>/dev/null; do
    sleep 0.1
    n=$((n + 1))
done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "SIGINT: exit $rc, want 130: $(cat "$tmp/log")"
grep -q "continue with --resume" "$tmp/log" || fail "SIGINT: no resume hint: $(cat "$tmp/log")"
[ -f "$tmp/c/checkpoint.bin" ] || fail "SIGINT: no checkpoint"

# 4. a corrupt checkpoint is refused and left alone
cp "$tmp/c/checkpoint.bin" "$tmp/c.bak"
printf 'x' | dd of="$tmp/c/checkpoint.bin" bs=1 seek=300 conv=notrunc 2>/dev/null
"$enas" --plugin-dir "$plugins" --resume "$tmp/c" >"$tmp/log" 2>&1 && fail "a corrupt checkpoint was accepted"
grep -q "checksum mismatch" "$tmp/log" || fail "corrupt checkpoint: $(cat "$tmp/log")"

# 5. real CIFAR-10, when present
if [ -n "${ENAS_DATA:-}" ] && [ -f "$ENAS_DATA/data_batch_1.bin" -o -f "$ENAS_DATA/cifar-10-batches-bin/data_batch_1.bin" ]; then
    "$enas" --plugin-dir "$plugins" --space "$space" --backend "$backend" --data "$ENAS_DATA" --train-subset 320 \
        --batch-size 32 --num-epochs 1 --ctrl-steps 2 --ctrl-steps-aggregate 2 --derive-samples 2 --compare-samples 1 --compare-batches 1 --valid-eval-batches 1 --seed 3 \
        --output "$tmp/real" $small >"$tmp/log" 2>&1 || { fail "real-data search failed"; cat "$tmp/log" >&2; }
    [ -s "$tmp/real/best_arch.json" ] || fail "real data: no best_arch.json"
fi

[ $fails -eq 0 ] && echo "test_search: all checks passed"
[ $fails -eq 0 ]
