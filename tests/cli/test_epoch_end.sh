#!/bin/sh
# test_epoch_end.sh ENAS PLUGIN_DIR GEN_CIFAR CKPT_DIGEST CONFIGS - what each epoch's end measures, and the
# controller's validation stream:
#  1. metrics.jsonl's epoch_end lines carry ctrl_mean/max, random_mean/max and the validation accuracy over
#     the whole controller half; eval.tsv has a row per epoch;
#  2. the measurements leave the search bit for bit as it is without them;
#  3. each epoch's controller phase starts passes of its own over the controller half (TF's 1,000 samples
#     per epoch once replayed most of the epoch before's), and valid_drop_last keeps partial batches out;
#  4. the TF presets load and say what TF does: no augmentation of the reward images, full batches, its KL
#     and entropy forms.
set -u
enas=$1 plugins=$2 gen=$3 digest=$4 configs=$5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_epoch_end.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
backend=ref
"$enas" plugins --plugin-dir "$plugins" 2>/dev/null | grep -q "backend onednn" && backend=onednn
mkdir "$tmp/data" && "$gen" "$tmp/data" 600 >/dev/null || exit 1
# 400 images: 200 train the shared weights (5 batches of 40), 200 score the controller (5 batches)
search() {
    out=$1
    shift
    "$enas" --plugin-dir "$plugins" --space macro --backend "$backend" --data "$tmp/data" --train-subset 400 \
        --batch-size 40 --derive-samples 2 --seed 7 --macro.num-layers 2 --macro.out-filters 8 --deterministic \
        --workers 1 --output "$out" "$@"
}

# 1. the measurements
search "$tmp/on" --num-epochs 2 --ctrl-steps 3 --ctrl-steps-aggregate 4 -v >"$tmp/on.log" 2>&1 ||
    { fail "search exited $?"; cat "$tmp/on.log" >&2; }
for k in ctrl_mean ctrl_max random_mean random_max valid_accuracy; do
    [ "$(grep -c "\"epoch_end\".*\"$k\": [0-9.]" "$tmp/on/metrics.jsonl")" = 2 ] || fail "no $k at both epoch ends"
done
[ "$(grep -c '"valid_images": 200' "$tmp/on/metrics.jsonl")" = 2 ] ||
    fail "the validation accuracy does not cover the 200 images of the controller half"
[ "$(wc -l <"$tmp/on/eval.tsv")" = 3 ] || fail "eval.tsv: want a header and 2 rows: $(cat "$tmp/on/eval.tsv")"
grep -q "controller samples score" "$tmp/on.log" || fail "the comparison is not in the log"

# 2. without them, the same search
search "$tmp/off" --num-epochs 2 --ctrl-steps 3 --ctrl-steps-aggregate 4 --compare-samples 0 \
    --valid-eval-batches -1 >/dev/null 2>&1 || fail "search without measurements exited $?"
grep -q '"ctrl_mean"\|"valid_accuracy"' "$tmp/off/metrics.jsonl" && fail "measured although turned off"
[ "$("$digest" "$tmp/on/checkpoint.bin")" = "$("$digest" "$tmp/off/checkpoint.bin")" ] ||
    fail "the measurements changed the search's weights or controller"

# 3. 3 updates x 4 samples = 12 batches a pass of 5 cannot hold: epoch 0 takes passes 0-2, epoch 1 starts at 3
grep -q "controller update 1: validation batches from pass 0 batch 0 " "$tmp/on.log" || fail "epoch 0 starts elsewhere"
grep -q "controller update 4: validation batches from pass 3 batch 0 " "$tmp/on.log" ||
    fail "epoch 1 does not start a pass of its own: $(grep 'controller update 4:' "$tmp/on.log")"
# batches of 48: 4 full ones and a partial one of 8 images, which valid_drop_last leaves out
search "$tmp/drop" --num-epochs 1 --batch-size 48 --ctrl-steps 3 --ctrl-steps-aggregate 2 --valid-drop-last true -v \
    >"$tmp/drop.log" 2>&1 || fail "search with valid_drop_last exited $?"
grep -q "controller update 3: validation batches from pass 1 batch 0 to pass 1 batch 1" "$tmp/drop.log" ||
    fail "valid_drop_last: $(grep 'controller update' "$tmp/drop.log")"
search "$tmp/keep" --num-epochs 1 --batch-size 48 --ctrl-steps 3 --ctrl-steps-aggregate 2 -v \
    >"$tmp/keep.log" 2>&1 || fail "search without valid_drop_last exited $?"
grep -q "controller update 3: validation batches from pass 0 batch 4 to pass 1 batch 0" "$tmp/keep.log" ||
    fail "the partial batch is not used by default (NNI): $(grep 'controller update' "$tmp/keep.log")"

# 4. the TF presets
for p in macro micro; do
    case $p in
    macro) small="--macro.num-layers 2 --macro.out-filters 8" want='skip_kl = "logit";|entropy_mode = "sampled";' ;;
    *) small="--micro.num-layers 1 --micro.out-filters 6" want='entropy_mode = "exact";' ;;
    esac
    # shellcheck disable=SC2086
    "$enas" --plugin-dir "$plugins" --config "$configs/${p}_search.cfg" --backend "$backend" --data "$tmp/data" \
        --train-subset 400 --batch-size 40 --split half --num-epochs 1 --max-steps 1 --ctrl-steps 1 \
        --ctrl-steps-aggregate 1 --derive-samples 1 --compare-samples 1 --compare-batches 1 \
        --valid-eval-batches 1 $small --output "$tmp/$p" >"$tmp/$p.log" 2>&1 ||
        { fail "${p}_search.cfg: exit $?"; cat "$tmp/$p.log" >&2; }
    grep -q '^valid_augment = false;' "$tmp/$p/config.cfg" || fail "${p}_search.cfg augments the reward images"
    grep -q '^valid_drop_last = true;' "$tmp/$p/config.cfg" || fail "${p}_search.cfg feeds partial batches"
    printf '%s\n' "$want" | tr '|' '\n' | while read -r line; do
        grep -qF "$line" "$tmp/$p/config.cfg" || echo "$line"
    done >"$tmp/missing"
    [ -s "$tmp/missing" ] && fail "${p}_search.cfg does not set: $(cat "$tmp/missing")"
done

[ $fails -eq 0 ] && echo "ok: epoch-end measurements, the controller's validation passes, TF presets"
exit $((fails > 0))
