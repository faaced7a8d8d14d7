#!/bin/sh
# test_nni_presets.sh ENAS PLUGIN_DIR GEN_CIFAR CONFIGS - each NNI preset (CONFIGS/nni_macro.cfg,
# CONFIGS/nni_micro.cfg) loads and, with its network and controller as they are, runs one shared-weight step
# and one controller update on generated CIFAR-like data: exit 0, a step and a controller update in
# metrics.jsonl, a checkpoint, the preset's settings in config.cfg. Fails if a preset does not load or run.
set -u
enas=$1 plugins=$2 gen=$3 configs=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_nni.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

listing=$("$enas" plugins --plugin-dir "$plugins" 2>/dev/null)
for need in "space macro" "space micro"; do
    if ! printf '%s\n' "$listing" | grep -q "$need"; then
        echo "test_nni_presets: $need is not built: skipped"
        exit 77
    fi
done
# the presets keep the default backend (onednn); ref where it is not built
backend=ref
if printf '%s\n' "$listing" | grep -q "backend onednn"; then backend=onednn; fi
# epoch-end measurements of the engine (not part of NNI's trainer, and minutes of forwards here): off where
# the engine has them
quick=""
help=$("$enas" --plugin-dir "$plugins" --help 2>/dev/null)
case $help in *--compare-samples*) quick="$quick --compare-samples 0" ;; esac
case $help in *--valid-eval-batches*) quick="$quick --valid-eval-batches -1" ;; esac
mkdir -p "$tmp/data"
"$gen" "$tmp/data" 600 || exit 1

for space in macro micro; do
    preset="$configs/nni_$space.cfg"
    [ -f "$preset" ] || {
        fail "$preset missing"
        continue
    }
    out="$tmp/run_$space"
    # small batches of a 400-image subset; one step, one update of 2 samples, one epoch
    # shellcheck disable=SC2086
    if ! "$enas" --plugin-dir "$plugins" --config "$preset" --backend "$backend" --data "$tmp/data" \
        --train-subset 400 --batch-size 8 --max-steps 1 --num-epochs 1 --ctrl-steps 1 --ctrl-steps-aggregate 2 \
        --log-frequency 1 --seed 11 --output "$out" $quick >"$tmp/log_$space" 2>&1; then
        fail "nni_$space.cfg: enas exited with an error"
        cat "$tmp/log_$space" >&2
        continue
    fi
    grep -q '"step": 1' "$out/metrics.jsonl" || fail "nni_$space.cfg: no shared-weight step in metrics.jsonl"
    grep -q '"ctrl_update": 1' "$out/metrics.jsonl" ||
        fail "nni_$space.cfg: no controller update in metrics.jsonl"
    grep '"ctrl_update"' "$out/metrics.jsonl" | grep -Eq '"reward": -?[0-9]' ||
        fail "nni_$space.cfg: the controller update has no finite reward"
    [ -s "$out/checkpoint.bin" ] || fail "nni_$space.cfg: no checkpoint"
    [ -s "$out/best_arch.json" ] || fail "nni_$space.cfg: no best_arch.json"
    grep -q 'controller_style = "nni"' "$out/config.cfg" ||
        fail "nni_$space.cfg: config.cfg lacks controller_style"
    grep -q 'baseline_decay = 0.999' "$out/config.cfg" || fail "nni_$space.cfg: config.cfg lacks baseline_decay"
done
grep -q 'out_filters = 24' "$tmp/run_macro/config.cfg" 2>/dev/null ||
    fail "nni_macro.cfg: out_filters is not 24"
grep -q 'sep_conv_stack = 1' "$tmp/run_micro/config.cfg" 2>/dev/null ||
    fail "nni_micro.cfg: sep_conv_stack is not 1"

[ $fails -eq 0 ] && echo "test_nni_presets: all checks passed"
[ $fails -eq 0 ]
