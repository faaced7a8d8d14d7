#!/bin/sh
# test_interrupt_points.sh ENAS PLUGIN_DIR GEN_CIFAR CKPT_DIGEST - a stop request that arrives at an exact
# point of the search, set under gdb instead of by a timed SIGINT (test_interrupt.sh), so that the narrow
# windows are hit every run: just after a controller update's last sample, as its Adam step begins, and
# just after the epoch-end derivation's last sample, as it logs the chosen architecture. Work that ran to
# its end there is kept and counted, so that --resume ends bit for bit as an uninterrupted run (a stop in
# the first window once left the update applied but uncounted, and the checkpoint was refused on resume).
set -u
enas=$1 plugins=$2 gen=$3 digest=$4
command -v gdb >/dev/null || { echo "SKIP: no gdb (tools/setup.sh installs it)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_ipoints.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/data" && "$gen" "$tmp/data" 200 >/dev/null || exit 1
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
set -- --plugin-dir "$plugins" --space micro --data "$tmp/data" --train-subset 60 --batch-size 20 \
    --log-frequency 1 --derive-samples 2 --compare-samples 0 --valid-eval-batches -1 --seed 5 \
    --micro.num-layers 1 --micro.out-filters 4 --num-epochs 2 --deterministic --workers 1 --ctrl-steps 2 \
    --ctrl-steps-aggregate 3
"$enas" "$@" --output "$tmp/a" >"$tmp/a.log" 2>&1 || { fail "uninterrupted run failed"; cat "$tmp/a.log" >&2; }
lines() { grep -c "\"$2\"" "$1/metrics.jsonl"; }
for point in enas__controller_step enas__runlog_arch; do
    out="$tmp/$point"
    # LeakSanitizer cannot run under ptrace (the sanitizer build runs this test too)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 gdb -nx -batch -ex "break $point" -ex run \
        -ex "set var enas__run_stop = 1" -ex "delete" -ex continue --args "$enas" "$@" --output "$out" \
        >"$out.gdb" 2>&1
    grep -q "interrupted at epoch" "$out.gdb" || { fail "$point: the stop request did not stop the run"; cat "$out.gdb" >&2; }
    "$enas" --plugin-dir "$plugins" --resume "$out" >"$out.log" 2>&1 || { fail "$point: resume failed"; cat "$out.log" >&2; }
    da=$("$digest" "$tmp/a/checkpoint.bin") db=$("$digest" "$out/checkpoint.bin")
    [ -n "$da" ] && [ "$da" = "$db" ] || fail "stopped at $point and resumed: weights differ ($da vs $db)"
    cmp -s "$tmp/a/best_arch.tf" "$out/best_arch.tf" || fail "stopped at $point and resumed: best architecture differs"
    for kind in step ctrl_update epoch_end; do
        [ "$(lines "$tmp/a" $kind)" = "$(lines "$out" $kind)" ] ||
            fail "stopped at $point and resumed: $(lines "$out" $kind) '$kind' lines in metrics.jsonl, want $(lines "$tmp/a" $kind)"
    done
done
[ $fails -eq 0 ] && echo "stops at both points resumed to the uninterrupted run"
exit $((fails > 0))
