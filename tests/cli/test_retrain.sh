#!/bin/sh
# test_retrain.sh ENAS PLUGIN_DIR GEN_CIFAR CKPT_DIGEST PART - enas retrain and enas eval on generated
# CIFAR-10-format data (tests/helpers/gen_cifar.c: a learnable patch per class):
#   learn:  a small fixed micro network (aux head, drop path) learns: test accuracy well above chance, a
#           line per test pass, model.enas; enas eval of the run gives the run's last test numbers, and its
#           confusion matrix recounts: rows sum to the test file's own label counts, the diagonal to the
#           accuracy; --json holds the same; a macro architecture retrains from a search run folder's
#           best_arch.json.
#   resume: stopped inside an epoch and inside a test pass (at exact points, under gdb) and resumed with
#           --deterministic, the run ends with the uninterrupted run's checkpoint and model, bit for bit.
#   errors: a bad ARCH names the file and position; a damaged, cut or foreign model file is refused by
#           name; search and retrain refuse each other's run folders.
#   export: (CKPT_DIGEST is then cifar_png) enas export --to onnx of a micro (aux head, drop path,
#           factorized reductions) and a macro network passes ONNX's checker and, run by OpenCV's dnn on test
#           records, gives enas eval's logits within 1e-4 (tests/cli/check_onnx.py); bad uses are refused.
#   images: (CKPT_DIGEST is then cifar_png) eval --images on pictures of test images: a lossless 32 x 32 PNG
#           gets the class that the same record gets as a CIFAR-10 file; a 4x JPEG is
#           resized and classified; an undecodable picture is refused by name.
set -u
enas=$1 plugins=$2 gen=$3 digest=$4 part=$5
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_retrain.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/data" && "$gen" "$tmp/data" 600 >/dev/null || exit 1
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
# the TF reference micro architecture (ENAS.md 10.2)
arch="0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"
echo "$arch" >"$tmp/arch.tf"
retrain() {
    "$enas" retrain --plugin-dir "$plugins" --data "$tmp/data" --space micro --micro.num-layers 3 \
        --micro.out-filters 4 --micro.use-aux-heads true --micro.drop-path-keep-prob 0.6 \
        --micro.drop-path-steps 30 --batch-size 50 --log-frequency 4 --seed 3 --deterministic --workers 1 "$@"
}
# a JSON number after "key": in a one-line or pretty file
num() { sed -n "s/.*\"$2\": \([-0-9.e]*\).*/\1/p" "$1" | tail -1; }

case $part in
learn)
    retrain "$tmp/arch.tf" --train-subset 400 --test-subset 100 --num-epochs 4 --output "$tmp/r" >"$tmp/r.log" 2>&1 ||
        { fail "retrain failed"; cat "$tmp/r.log" >&2; }
    [ "$(grep -c '"test"' "$tmp/r/metrics.jsonl")" = 4 ] || fail "want a test line per epoch (eval_every 1)"
    acc=$(num "$tmp/r/metrics.jsonl" test_accuracy)
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.4) }' || fail "test accuracy $acc after 4 epochs; want >= 0.4 (chance 0.1)"
    [ -s "$tmp/r/model.enas" ] || fail "no model.enas"
    grep -q "^ *arch = \"$arch\";" "$tmp/r/config.cfg" || fail "config.cfg does not record the architecture"
    [ -s "$tmp/r/arch.tf" ] && [ -s "$tmp/r/arch.json" ] || fail "the run folder lacks arch.tf / arch.json"
    [ "$(wc -l <"$tmp/r/test.tsv")" = 5 ] || fail "test.tsv: want a header and 4 rows"
    # eval: the run's last numbers, and a confusion matrix that recounts
    "$enas" eval "$tmp/r" --plugin-dir "$plugins" --data "$tmp/data/test_batch.bin" --test-subset 100 \
        --json "$tmp/e.json" >"$tmp/e.txt" 2>"$tmp/e.err" || { fail "eval failed"; cat "$tmp/e.err" >&2; }
    grep -q "^test accuracy $(printf '%.4f' "$acc") " "$tmp/e.txt" ||
        fail "eval's accuracy is not the run's last ($acc): $(head -2 "$tmp/e.txt" | tail -1)"
    rows=$(sed -n '/"confusion"/,/]$/p' "$tmp/e.json" | grep '\[[0-9]' | tr -d '[], ' | wc -l)
    [ "$rows" = 10 ] || fail "--json: want 10 confusion rows, got $rows"
    # the test file's own labels: byte 0 of each 3,073-byte record
    want=$(od -An -v -tu1 -w3073 -N $((100 * 3073)) "$tmp/data/test_batch.bin" | awk '{ n[$1]++ } END { for (c = 0; c < 10; c++) printf "%d ", n[c] + 0 }')
    got=$(sed -n '/"confusion"/,/^  \]/p' "$tmp/e.json" | grep '\[[0-9]' | tr -d '[]' |
        awk -F', *' '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%d ", s }')
    [ "$want" = "$got" ] || fail "confusion rows sum to '$got'; the test file's labels count '$want'"
    diag=$(sed -n '/"confusion"/,/^  \]/p' "$tmp/e.json" | grep '\[[0-9]' | tr -d '[]' |
        awk -F', *' '{ s += $NR } END { print s }')
    awk -v d="$diag" -v a="$(num "$tmp/e.json" accuracy)" 'BEGIN { exit !(d / 100 == a) }' ||
        fail "the confusion diagonal ($diag of 100) is not the accuracy $(num "$tmp/e.json" accuracy)"
    # macro, from a search run folder: its best_arch.json (NNI JSON)
    mkdir "$tmp/search"
    echo "0 1 0 2 1 0 3 0 1 1" | "$enas" arch - --plugin-dir "$plugins" --space macro --macro.num-layers 4 \
        --to nni >"$tmp/search/best_arch.json" || fail "enas arch --to nni failed"
    "$enas" retrain "$tmp/search" --plugin-dir "$plugins" --data "$tmp/data" --space macro --macro.num-layers 4 \
        --macro.out-filters 8 --train-subset 200 --test-subset 100 --num-epochs 2 --batch-size 50 --seed 4 \
        --output "$tmp/m" >"$tmp/m.log" 2>&1 || { fail "macro retrain from a run folder failed"; cat "$tmp/m.log" >&2; }
    grep -q '^ *arch = "0 1 0 2 1 0 3 0 1 1";' "$tmp/m/config.cfg" ||
        fail "the run folder's best_arch.json was not read as the TF string 0 1 0 2 1 0 3 0 1 1"
    "$enas" eval "$tmp/m/model.enas" --plugin-dir "$plugins" --data "$tmp/data" --test-subset 100 >"$tmp/me.txt" 2>&1 ||
        { fail "eval of the macro model failed"; cat "$tmp/me.txt" >&2; }
    grep -q "^test accuracy $(printf '%.4f' "$(num "$tmp/m/metrics.jsonl" test_accuracy)") " "$tmp/me.txt" ||
        fail "macro: eval's accuracy is not the run's last"
    ;;
resume)
    command -v gdb >/dev/null || { echo "SKIP: no gdb (tools/setup.sh installs it)"; exit 77; }
    set -- --train-subset 200 --test-subset 100 --num-epochs 3 --eval-every 2
    retrain "$tmp/arch.tf" "$@" --output "$tmp/a" >"$tmp/a.log" 2>&1 || { fail "uninterrupted retrain failed"; cat "$tmp/a.log" >&2; }
    # point: the 6th training step (inside epoch 1), and the second test pass (epoch 3, the last)
    for point in "enas__run_train_step 5" "enas__run_test 1"; do
        fn=${point% *} skip=${point#* }
        out="$tmp/b_$fn"
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 gdb -nx -batch -ex "break $fn" \
            -ex "ignore 1 $skip" -ex run -ex "set var enas__run_stop = 1" -ex "delete" -ex continue --args \
            "$enas" retrain --plugin-dir "$plugins" --data "$tmp/data" --space micro --micro.num-layers 3 \
            --micro.out-filters 4 --micro.use-aux-heads true --micro.drop-path-keep-prob 0.6 \
            --micro.drop-path-steps 30 --batch-size 50 --log-frequency 4 --seed 3 --deterministic --workers 1 \
            "$tmp/arch.tf" "$@" --output "$out" >"$out.gdb" 2>&1
        grep -q "interrupted at epoch" "$out.gdb" || { fail "$fn: the stop did not stop the run"; tail -5 "$out.gdb" >&2; }
        "$enas" retrain --plugin-dir "$plugins" --resume "$out" >"$out.log" 2>&1 || { fail "$fn: resume failed"; cat "$out.log" >&2; }
        da=$("$digest" "$tmp/a/checkpoint.bin") db=$("$digest" "$out/checkpoint.bin")
        [ -n "$da" ] && [ "$da" = "$db" ] || fail "stopped at $fn and resumed: weights differ ($da vs $db)"
        cmp -s "$tmp/a/model.enas" "$out/model.enas" || fail "stopped at $fn and resumed: model.enas differs"
        for kind in step test; do
            [ "$(grep -c "^{\"$kind\"" "$tmp/a/metrics.jsonl")" = "$(grep -c "^{\"$kind\"" "$out/metrics.jsonl")" ] ||
                fail "stopped at $fn and resumed: the count of '$kind' lines differs from the uninterrupted run's"
        done
    done
    ;;
errors)
    # a bad architecture: the file and the position
    echo "0 2 0 0 0 9 0 1" >"$tmp/bad.tf"
    retrain "$tmp/bad.tf" --output "$tmp/x" >"$tmp/x.log" 2>&1 && fail "a bad ARCH was accepted"
    grep -q "bad.tf" "$tmp/x.log" || { fail "the error does not name the architecture file"; cat "$tmp/x.log" >&2; }
    retrain --output "$tmp/y" >"$tmp/y.log" 2>&1
    [ $? -eq 2 ] || fail "retrain without ARCH: want exit 2"
    # a model to damage
    retrain "$tmp/arch.tf" --train-subset 100 --test-subset 50 --num-epochs 1 --output "$tmp/r" >"$tmp/r.log" 2>&1 ||
        { fail "retrain failed"; cat "$tmp/r.log" >&2; }
    size=$(wc -c <"$tmp/r/model.enas")
    cp "$tmp/r/model.enas" "$tmp/flip.enas"
    printf '\377' | dd of="$tmp/flip.enas" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
    head -c $((size - 100)) "$tmp/r/model.enas" >"$tmp/cut.enas"
    cp "$tmp/r/checkpoint.bin" "$tmp/foreign.enas"
    : >"$tmp/empty.enas"
    for m in flip cut foreign empty missing; do
        "$enas" eval "$tmp/$m.enas" --plugin-dir "$plugins" --data "$tmp/data" >"$tmp/$m.out" 2>&1 &&
            fail "eval accepted the $m model file"
        grep -q "$tmp/$m.enas" "$tmp/$m.out" || { fail "the error for the $m model does not name the file"; cat "$tmp/$m.out" >&2; }
    done
    grep -q "checksum" "$tmp/flip.out" || fail "a flipped byte: want a checksum error"
    # each command refuses the other's run folder
    "$enas" --plugin-dir "$plugins" --resume "$tmp/r" >"$tmp/s.log" 2>&1 && fail "search --resume took a retrain folder"
    grep -q "enas retrain --resume" "$tmp/s.log" || fail "search --resume of a retrain folder: no hint"
    "$enas" --plugin-dir "$plugins" --space micro --arch "$arch" --data "$tmp/data" >"$tmp/s2.log" 2>&1 &&
        fail "a search took the arch setting"
    ;;
export)
    png=$digest
    py=/usr/bin/python3 # Debian's modules (python3-onnx, python3-opencv) belong to it
    [ -x $py ] || { echo "SKIP: no /usr/bin/python3"; exit 77; }
    retrain "$tmp/arch.tf" --train-subset 200 --test-subset 50 --num-epochs 1 --output "$tmp/r" >"$tmp/r.log" 2>&1 ||
        { fail "micro retrain failed"; cat "$tmp/r.log" >&2; }
    # every skip on: the last layer concatenates ten inputs
    "$enas" retrain --arch "0 1 1 2 1 1 3 1 1 1 0 1 1 1 1 1 1 1 1 1 1 2 1 1 1 1 1 1 3 1 1 1 1 1 1 1 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1" --plugin-dir "$plugins" --data "$tmp/data" --space macro \
        --macro.num-layers 10 --macro.out-filters 8 --train-subset 100 --test-subset 50 --num-epochs 1 --batch-size 50 \
        --seed 4 --output "$tmp/m" >"$tmp/m.log" 2>&1 || { fail "macro retrain failed"; cat "$tmp/m.log" >&2; }
    pics=""
    for i in 0 1 2 3 4 5 6 7; do
        "$png" "$tmp/data/test_batch.bin" $i "$tmp/p$i.png" || fail "cifar_png failed"
        pics="$pics $tmp/p$i.png"
    done
    for run in r m; do
        "$enas" export "$tmp/$run" --plugin-dir "$plugins" --to onnx "$tmp/$run.onnx" >"$tmp/$run.ex" 2>&1 ||
            { fail "export of $run failed"; cat "$tmp/$run.ex" >&2; }
        # shellcheck disable=SC2086
        "$enas" eval "$tmp/$run" --plugin-dir "$plugins" --images $pics --json "$tmp/$run.json" >/dev/null 2>&1 ||
            fail "eval --images of $run failed"
        $py "$(dirname "$0")/check_onnx.py" "$tmp/$run.onnx" "$tmp/data/test_batch.bin" 8 "$tmp/$run.json"
        rc=$?
        [ $rc -eq 77 ] && exit 77
        [ $rc -eq 0 ] || fail "$run: the ONNX model does not match enas's logits"
    done
    "$enas" export "$tmp/r" --plugin-dir "$plugins" --to tflite "$tmp/x.tfl" >/dev/null 2>&1
    [ $? -eq 2 ] || fail "export --to tflite: want a usage error (exit 2)"
    "$enas" export "$tmp/data/test_batch.bin" --plugin-dir "$plugins" --to onnx "$tmp/x.onnx" >"$tmp/x.out" 2>&1 &&
        fail "export of a file that is not a model succeeded"
    grep -q "test_batch.bin" "$tmp/x.out" || fail "the export error does not name the file"
    [ -e "$tmp/x.onnx" ] && fail "a failed export left an output file"
    ;;
images)
    png=$digest
    retrain "$tmp/arch.tf" --train-subset 200 --test-subset 50 --num-epochs 1 --output "$tmp/r" >"$tmp/r.log" 2>&1 ||
        { fail "retrain failed"; cat "$tmp/r.log" >&2; }
    for i in 0 1 2 3; do
        "$png" "$tmp/data/test_batch.bin" $i "$tmp/p$i.png" || fail "cifar_png failed"
        dd if="$tmp/data/test_batch.bin" of="$tmp/p$i.bin" bs=3073 skip=$i count=1 2>/dev/null
        "$enas" eval "$tmp/r" --plugin-dir "$plugins" --data "$tmp/p$i.bin" --json "$tmp/p$i.json" >/dev/null 2>&1 ||
            fail "eval of record $i as a CIFAR-10 file failed"
    done
    "$png" "$tmp/data/test_batch.bin" 0 "$tmp/big.jpg" 4 || fail "cifar_png (jpg) failed"
    "$enas" eval "$tmp/r" --plugin-dir "$plugins" --images "$tmp/p0.png" "$tmp/p1.png" "$tmp/p2.png" "$tmp/p3.png" \
        "$tmp/big.jpg" --json "$tmp/img.json" >"$tmp/img.txt" 2>"$tmp/img.err" || { fail "eval --images failed"; cat "$tmp/img.err" >&2; }
    [ "$(grep -c ': [a-z]* [0-9.]*, [a-z]* [0-9.]*, [a-z]* [0-9.]*$' "$tmp/img.txt")" = 5 ] ||
        { fail "want a line with three classes per picture"; cat "$tmp/img.txt" >&2; }
    classes="airplane automobile bird cat deer dog frog horse ship truck"
    for i in 0 1 2 3; do
        # the class the record's one-image confusion row counts, and the picture's first class
        k=$(sed -n '/"confusion"/,/^  \]/p' "$tmp/p$i.json" | grep '\[[0-9]' | tr -d '[]' |
            awk -F', *' '{ for (j = 1; j <= NF; j++) if ($j == 1) print j - 1 }')
        want=$(echo $classes | cut -d' ' -f$((k + 1)))
        got=$(grep "p$i.png:" "$tmp/img.txt" | sed 's/.*png: \([a-z]*\) .*/\1/')
        [ -n "$want" ] && [ "$want" = "$got" ] || fail "picture $i: first class '$got'; as a CIFAR-10 record it is '$want'"
    done
    grep -q '"logits": \[' "$tmp/img.json" || fail "--json with --images: no logits"
    printf 'not a picture' >"$tmp/bad.png"
    "$enas" eval "$tmp/r" --plugin-dir "$plugins" --images "$tmp/bad.png" >"$tmp/bad.out" 2>&1 && fail "an undecodable picture was accepted"
    grep -q "bad.png" "$tmp/bad.out" || { fail "the error does not name the picture"; cat "$tmp/bad.out" >&2; }
    ;;
*)
    echo "unknown part '$part'" >&2
    exit 2
    ;;
esac
[ $fails -eq 0 ] && echo "retrain $part: ok"
exit $((fails > 0))
