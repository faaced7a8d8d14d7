#!/bin/sh
# test_numeric.sh ENAS PLUGIN_DIR GEN_CIFAR - a search whose numbers blow up stops at the step that made
# them, naming the tensor, the step and the architecture, with exit 1, and keeps the checkpoint of the last
# epoch that ended (which resumes: it holds no NaN or infinity). Before, a learning rate of 1e3 ran to
# "search finished" at loss ln 10 with a checkpoint full of NaN weights and BN variances.
set -u
enas=$1 plugins=$2 gen=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_numeric.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/data" && "$gen" "$tmp/data" 200 >/dev/null || exit 1
backend=ref # onednn where it is built: several times faster, most of all under the sanitizers
"$enas" plugins --plugin-dir "$plugins" 2>/dev/null | grep -q "backend onednn" && backend=onednn
fails=0
# last FILE: the program's last message (LeakSanitizer may print its suppressions after it)
last() { grep '^enas: ' "$1" | tail -n 1; }
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
# 60 images: 30 train the shared weights, two steps an epoch, so epoch 0 ends (checkpoint) before step 3
search() {
    "$enas" --plugin-dir "$plugins" --space micro --backend "$backend" --data "$tmp/data" --train-subset 60 \
        --batch-size 20 --ctrl-steps 1 --ctrl-steps-aggregate 2 --derive-samples 2 --compare-samples 0 --valid-eval-batches -1 --seed 7 \
        --micro.num-layers 1 --micro.out-filters 6 --num-epochs 4 "$@"
}

# 1. the shared weights: a learning rate of 1e3 without clipping
search --lr-max 1e3 --lr-schedule constant --grad-clip 0 --output "$tmp/w" >"$tmp/w.log" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "shared weights blowing up: exit $rc, expected 1"
msg=$(last "$tmp/w.log")
echo "$msg" | grep -Eq "enas: the (weight|statistic|momentum of|gradient of) '[^']+' is (nan|-?inf) at index [0-9]+( after [a-z' ]+)? at step [0-9]+ \(epoch [1-9]\) for architecture [0-9 ]+; stopped\. The last good checkpoint is kept in" ||
    fail "shared weights blowing up: message '$msg'"
grep -q "search finished" "$tmp/w.log" && fail "a run with non-finite weights says 'search finished'"
[ -f "$tmp/w/best_arch.json" ] && fail "a run with non-finite weights wrote best_arch.json"
grep -Eiq 'nan|inf' "$tmp/w/metrics.jsonl" && fail "metrics.jsonl holds a non-finite value"
# the checkpoint of epoch 0 loads (it is finite) and the resumed run stops at the same step again
"$enas" --plugin-dir "$plugins" --resume "$tmp/w" >"$tmp/r.log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "resuming" "$tmp/r.log" && [ "$(last "$tmp/r.log")" = "$msg" ] ||
    { fail "resuming the last good checkpoint: exit $rc"; cat "$tmp/r.log" >&2; }

# 2. before any checkpoint: said so, and none is written
search --lr-max 1e6 --lr-schedule constant --grad-clip 0 --num-epochs 1 --train-subset 200 \
    --output "$tmp/e" >"$tmp/e.log" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "blowing up in epoch 0: exit $rc"
last "$tmp/e.log" | grep -q "at step [0-9]* (epoch 0) for architecture .*No checkpoint was written yet in" ||
    fail "blowing up in epoch 0: message '$(last "$tmp/e.log")'"
[ -f "$tmp/e/checkpoint.bin" ] && fail "blowing up in epoch 0 wrote a checkpoint"

# 3. the controller: a learning rate that overflows its weights
search --ctrl-lr 2e38 --ctrl-steps 3 --output "$tmp/c" >"$tmp/c.log" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "controller blowing up: exit $rc"
last "$tmp/c.log" | grep -Eq "the (controller weight|Adam mean of|Adam variance of) 'ctrl\.[^']+' is (nan|-?inf) at index [0-9]+ after controller update [0-9]+ at step" ||
    fail "controller blowing up: message '$(last "$tmp/c.log")'"

[ $fails -eq 0 ] || exit 1
echo "test_numeric: all checks passed"
