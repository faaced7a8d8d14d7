#!/bin/sh
# test_cpu_views.sh ENAS PLUGIN_DIR GEN_CIFAR SPACE - the same short deterministic search on the reference
# backend and on onednn as three kinds of CPU see it: this one as it is, an AVX2-only CPU (oneDNN capped to
# AVX2, the project's AVX-512 kernels off) and an older x86-64 (oneDNN capped to SSE4.1, the portable C
# kernels). Every view must finish and log, step by step, the training losses of the reference backend
# within rounding (a wrong gradient anywhere moves them after the first update), so a kernel that only
# another CPU takes is tested on whatever CPU runs the suite.
set -u
enas=$1 plugins=$2 gen=$3 space=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_views.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
if ! "$enas" plugins --plugin-dir "$plugins" 2>/dev/null | grep -q "backend onednn"; then
    echo "test_cpu_views: the onednn backend is not built: skipped"
    exit 77
fi
mkdir "$tmp/data" && "$gen" "$tmp/data" 400 >/dev/null || exit 1
fails=0

# run NAME BACKEND [VAR=VALUE...]: the search under those variables; its losses to $tmp/NAME.loss
run() {
    name=$1 be=$2
    shift 2
    env "$@" "$enas" --plugin-dir "$plugins" --space "$space" --backend "$be" --data "$tmp/data" \
        --train-subset 240 --batch-size 20 --max-steps 6 --log-frequency 1 --ctrl-steps 1 \
        --ctrl-steps-aggregate 2 --derive-samples 2 --compare-samples 0 --valid-eval-batches -1 --seed 11 --deterministic --num-epochs 1 \
        --micro.num-layers 1 --micro.out-filters 6 --macro.num-layers 3 --macro.out-filters 8 \
        --output "$tmp/$name" >"$tmp/$name.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL: $name view: exit $rc" >&2
        cat "$tmp/$name.log" >&2
        fails=$((fails + 1))
        return
    fi
    sed -n 's/^{"step": \([0-9]*\),.*"loss": \([^,]*\),.*/\1 \2/p' "$tmp/$name/metrics.jsonl" >"$tmp/$name.loss"
}

run ref ref
[ -s "$tmp/ref.loss" ] || { echo "FAIL: no losses from the reference run" >&2; exit 1; }
[ "$(wc -l <"$tmp/ref.loss")" -eq 6 ] || { echo "FAIL: expected 6 logged steps" >&2; exit 1; }
for view in "native" "avx2 ONEDNN_MAX_CPU_ISA=AVX2 ENAS_ONEDNN_NO_AVX512=1" \
    "portable ONEDNN_MAX_CPU_ISA=SSE41 ENAS_ONEDNN_PORTABLE=1"; do
    # shellcheck disable=SC2086
    set -- $view
    name=$1
    shift
    run "$name" onednn "$@"
    [ -f "$tmp/$name.loss" ] || continue
    # steps and losses against the reference: the same steps, each loss within 2e-3 relative
    if ! awk 'NR == FNR { ref[$1] = $2; n++; next }
              { seen++; d = $2 - ref[$1]; if (d < 0) d = -d
                if (!($1 in ref) || d > 2e-3 * (1 + ref[$1])) { printf "step %s: loss %s, reference %s\n", $1, $2, ref[$1]; bad = 1 } }
              END { exit bad || seen != n }' "$tmp/ref.loss" "$tmp/$name.loss" >&2; then
        echo "FAIL: $name view: losses differ from the reference backend's" >&2
        fails=$((fails + 1))
    fi
done
[ $fails -eq 0 ] || exit 1
echo "test_cpu_views: $space: native, AVX2 and portable views match the reference backend"
