#!/bin/sh
# test_faults.sh PART ENAS PLUGIN_DIR GEN_CIFAR CKPT_DIGEST CKPT_TOOL - a run folder under faults, one PART
# per CTest entry:
#   crafted  a checkpoint with one field out of range (valid checksum) is refused, naming the field and the
#            allowed range, and nothing in the run folder changes; so are a FIFO and /dev/zero as checkpoint
#   lock     a second search on a folder in use is refused with the holder's pid; a killed holder's lock
#            does not block
#   fresh    a start in a folder without a checkpoint begins a clean metrics.jsonl and arch/
#   options  on --resume, options that would change what the checkpoint means are refused, the others are
#            recorded in config.cfg
#   disk     a file-size limit (a full disk) during a checkpoint: a named error, the old checkpoint intact
#            and resumable
#   kill     SIGKILL at random points (seeded; ENAS_FAULT_SEED=N repeats a failure): the checkpoint is
#            never lost nor goes back, and the resumed run ends exactly as an uninterrupted one
#   skip     SIGINT while a resume skips a million done batches stops it at once
#   longest  the longest architecture the spaces allow goes through a checkpoint and a resume intact
#   pictures a run folder whose name starts with '-' gets its pictures; a huge architecture only its DOT file
set -u
part=$1 enas=$2 plugins=$3 gen=$4 digest=$5 tool=$6
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_faults.XXXXXX")
bg=
trap '[ -n "$bg" ] && kill -9 $bg 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}
listing=$("$enas" plugins --plugin-dir "$plugins" 2>/dev/null)
if ! printf '%s\n' "$listing" | grep -q "space macro"; then
    echo "test_faults: the macro space is not built: skipped"
    exit 77
fi
# onednn where it is built: ten times the reference backend's speed here
backend=ref
printf '%s\n' "$listing" | grep -q "backend onednn" && backend=onednn
mkdir "$tmp/data" && "$gen" "$tmp/data" 600 >/dev/null || exit 1

# enas without Graphviz and gnuplot on its PATH: the pictures are not under test, and cost most of the time
# shellcheck disable=SC2086
run_enas() { env PATH=/nonexistent "$enas" "$@"; }
enas_exec() { exec env PATH=/nonexistent "$enas" "$@"; }
# the macro space: 400 images, 5 steps and 2 controller updates an epoch; one compute thread, for OpenMP
# threads on a busy machine slowed a run here from a second to a minute
opts="--plugin-dir $plugins --space macro --backend $backend --data $tmp/data --train-subset 400 --batch-size 40
      --ctrl-steps 2 --ctrl-steps-aggregate 2 --derive-samples 3 --compare-samples 0 --valid-eval-batches -1 --log-frequency 2 --seed 7 --macro.num-layers 3
      --macro.out-filters 8 --threads 1 --workers 1"
# shellcheck disable=SC2086
search() {
    out=$1
    shift
    run_enas $opts --output "$out" "$@"
}
# the same as the process itself, for runs in the background that get signals
# shellcheck disable=SC2086
search_exec() {
    out=$1
    shift
    enas_exec $opts --output "$out" "$@"
}
resume() {
    dir=$1
    shift
    run_enas --plugin-dir "$plugins" --resume "$dir" "$@"
}
resume_exec() {
    dir=$1
    shift
    enas_exec --plugin-dir "$plugins" --resume "$dir" "$@"
}
# every regular file of a folder with its checksum: equal snapshots, nothing changed
snapshot() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs cksum); }
# wait_for TEST PID: until the shell test TEST holds, or 3 minutes, or PID ended
wait_for() {
    n=0
    while ! eval "$1" && [ $n -lt 1800 ] && kill -0 "$2" 2>/dev/null; do
        sleep 0.1
        n=$((n + 1))
    done
}
# stop_within PID SECONDS: waits for PID to end; past SECONDS it is killed (and its exit is 137)
stop_within() {
    n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt $(($2 * 10)) ]; do
        sleep 0.1
        n=$((n + 1))
    done
    kill -9 "$1" 2>/dev/null
    wait "$1"
}
# metrics.jsonl without its timing field: equal for two deterministic runs
metrics() { sed 's/, "images_per_s": [0-9.e+-]*//' "$1/metrics.jsonl"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

case $part in
crafted)
    search "$tmp/run" --num-epochs 1 >"$tmp/log" 2>&1 || { fail "search exited $?"; cat "$tmp/log" >&2; }
    cp "$tmp/run/checkpoint.bin" "$tmp/good.bin"
    size=$(wc -c <"$tmp/run/metrics.jsonl")
    # operations of ckpt_tool | what the refusal must say (epoch 1 of 1 done: 5 steps, 2 controller updates)
    while IFS='|' read -r ops want; do
        cp "$tmp/good.bin" "$tmp/run/checkpoint.bin"
        # shellcheck disable=SC2086
        "$tool" "$tmp/run/checkpoint.bin" $ops || { fail "ckpt_tool $ops failed"; continue; }
        before=$(snapshot "$tmp/run")
        timeout 120 env PATH=/nonexistent "$enas" --plugin-dir "$plugins" --resume "$tmp/run" >"$tmp/log" 2>&1 </dev/null
        rc=$?
        [ $rc = 1 ] || fail "$ops: exit $rc, want 1"
        grep -qF "checkpoint '$tmp/run/checkpoint.bin'" "$tmp/log" || fail "$ops: the file is not named"
        grep -qF -- "$want" "$tmp/log" || fail "$ops: no '$want' in: $(cat "$tmp/log")"
        [ "$(snapshot "$tmp/run")" = "$before" ] || fail "$ops: the run folder changed"
    done <<EOF
set batch 1000000000000000|batch is 1000000000000000; allowed 0..5
set ctrl_in_epoch 1000000000000000|ctrl_in_epoch is 1000000000000000; allowed 0..0
set phase 1 set ctrl_in_epoch 1000000000000000|ctrl_in_epoch is 1000000000000000; allowed 0..2
set epoch -1|epoch is -1; allowed 0..1
set phase 2|phase is 2; allowed 0..1
set global_step 1000000000000000|global_step is 1000000000000000; allowed 0..5
set epoch 0|global_step is 5; allowed 0..0
set ctrl_updates 3|ctrl_updates is 3; allowed 2..2
set adam_t 9223372036854775807|adam_t is 9223372036854775807; allowed 0..2
set metrics_bytes 1000000000|metrics_bytes is 1000000000; allowed 0..$size
set metrics_bytes -1|metrics_bytes is -1; allowed 0..$size
set rng 0|rng is all zero
set seed 8|seed is 8; allowed 7
set baseline nan|baseline is nan; allowed: a finite number
set best_reward inf|best_reward is inf; allowed: a finite number
set best_len 5|best_len is 5; allowed 0 or 6
set best_len 0|best_len is 0; allowed 6..6
set best_len 100|best_len is 100; allowed 0..6
set-arch 0 9|best_arch is not an architecture of this run
set-array 7 3 nan|holds nan at index 3; allowed: finite numbers
set space micro|written for space 'micro'; this run uses 'macro'
set version 1|format version 1; this enas reads version 2
set state_bytes 100|state_bytes is 100
EOF
    # a FIFO or a device in the checkpoint's place is refused at once, not read for ever
    rm "$tmp/run/checkpoint.bin"
    mkfifo "$tmp/run/checkpoint.bin"
    before=$(snapshot "$tmp/run")
    timeout 60 env PATH=/nonexistent "$enas" --plugin-dir "$plugins" --resume "$tmp/run" >"$tmp/log" 2>&1
    rc=$?
    [ $rc = 1 ] && grep -q "not a regular file (a FIFO)" "$tmp/log" || fail "FIFO checkpoint: exit $rc: $(cat "$tmp/log")"
    rm "$tmp/run/checkpoint.bin"
    ln -s /dev/zero "$tmp/run/checkpoint.bin"
    timeout 60 env PATH=/nonexistent "$enas" --plugin-dir "$plugins" --resume "$tmp/run" >"$tmp/log" 2>&1
    rc=$?
    [ $rc = 1 ] && grep -q "not a regular file (a character device)" "$tmp/log" ||
        fail "/dev/zero checkpoint: exit $rc: $(cat "$tmp/log")"
    [ "$(snapshot "$tmp/run")" = "$before" ] || fail "FIFO or device checkpoint: the run folder changed"
    # and the good one still resumes
    rm "$tmp/run/checkpoint.bin"
    cp "$tmp/good.bin" "$tmp/run/checkpoint.bin"
    resume "$tmp/run" --num-epochs 2 >"$tmp/log" 2>&1 || fail "the untouched checkpoint does not resume: $(cat "$tmp/log")"
    ;;

lock)
    # the holder: 20 steps an epoch, many epochs
    search_exec "$tmp/L" --batch-size 10 --num-epochs 1000 >"$tmp/a.log" 2>&1 &
    bg=$!
    wait_for "grep -q '\"step\"' '$tmp/L/metrics.jsonl' 2>/dev/null" $bg
    # a second fresh start, and a resume, while it runs
    search "$tmp/L" --num-epochs 1 >"$tmp/log" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "a second search on a folder in use: exit $rc, want 1"
    grep -q "in use by another search (pid $bg)" "$tmp/log" || fail "second search: $(cat "$tmp/log")"
    wait_for "[ -f '$tmp/L/checkpoint.bin' ]" $bg
    resume "$tmp/L" --num-epochs 1000 >"$tmp/log" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "a resume of a folder in use: exit $rc, want 1"
    grep -q "in use by another search (pid $bg)" "$tmp/log" || fail "resume while in use: $(cat "$tmp/log")"
    kill -9 $bg
    wait $bg 2>/dev/null
    bg=
    # one writer only: the steps in metrics.jsonl rise
    sed -n 's/^{"step": \([0-9]*\),.*/\1/p' "$tmp/L/metrics.jsonl" | awk 'NR > 1 && $1 <= last { bad = 1 } { last = $1 }
        END { exit bad }' || fail "metrics.jsonl has steps out of order (two writers?)"
    # the killed holder's lock does not block
    [ -f "$tmp/L/run.lock" ] || fail "no run.lock"
    e=$("$tool" "$tmp/L/checkpoint.bin" get epoch)
    resume "$tmp/L" --num-epochs $((e + 1)) >"$tmp/log" 2>&1 || fail "resume after the holder was killed: $(cat "$tmp/log")"
    ;;

fresh)
    # what an earlier start left before its first checkpoint, and files that are not enas's
    mkdir -p "$tmp/F/arch"
    echo '{"step": 999, "stale": 1}' >"$tmp/F/metrics.jsonl"
    for f in arch/epoch_7.tf arch/epoch_7.json arch/epoch_12.png.tmp best_arch.tf best_arch.json train.tsv; do
        echo stale >"$tmp/F/$f"
    done
    echo mine >"$tmp/F/notes.txt"
    echo mine >"$tmp/F/arch/mine.tf"
    search "$tmp/F" --num-epochs 1 >"$tmp/log" 2>&1 || fail "search in a folder without a checkpoint: $(cat "$tmp/log")"
    grep -q stale "$tmp/F/metrics.jsonl" && fail "metrics.jsonl keeps the earlier start's lines"
    for f in arch/epoch_7.tf arch/epoch_7.json arch/epoch_12.png.tmp; do
        [ -e "$tmp/F/$f" ] && fail "$f of the earlier start is still there"
    done
    grep -q stale "$tmp/F/best_arch.tf" "$tmp/F/train.tsv" && fail "best_arch.tf or train.tsv is the earlier start's"
    [ "$(cat "$tmp/F/notes.txt" "$tmp/F/arch/mine.tf")" = "mine
mine" ] || fail "files that are not enas's were touched"
    # a run killed before its first checkpoint and started again equals an uninterrupted one
    det="--deterministic --batch-size 4 --num-epochs 1"
    # shellcheck disable=SC2086
    search "$tmp/ref" $det >/dev/null 2>&1 || fail "reference run failed"
    # shellcheck disable=SC2086
    search_exec "$tmp/K" $det >/dev/null 2>&1 &
    bg=$!
    wait_for "grep -q '\"step\"' '$tmp/K/metrics.jsonl' 2>/dev/null" $bg
    kill -9 $bg
    wait $bg 2>/dev/null
    bg=
    if [ -f "$tmp/K/checkpoint.bin" ]; then
        echo "test_faults: the run reached its first checkpoint before the kill; restart check skipped"
    else
        # shellcheck disable=SC2086
        search "$tmp/K" $det >"$tmp/log" 2>&1 || fail "restart after a kill before the first checkpoint: $(cat "$tmp/log")"
        [ "$(metrics "$tmp/K")" = "$(metrics "$tmp/ref")" ] || fail "restarted run's metrics.jsonl differs from an uninterrupted run's"
    fi
    ;;

options)
    search "$tmp/O" --num-epochs 1 >"$tmp/log" 2>&1 || fail "search exited $?"
    before=$(snapshot "$tmp/O")
    for o in "--batch-size 20" "--seed 8" "--train-subset 200" "--space micro" "--macro.num-layers 4" \
        "--ctrl-steps-aggregate 3" "--lstm-size 32" "--output $tmp/other"; do
        # shellcheck disable=SC2086
        resume "$tmp/O" $o >"$tmp/log" 2>&1
        rc=$?
        name=${o%% *}
        [ $rc = 2 ] || fail "resume $o: exit $rc, want 2"
        grep -q -- "$name cannot" "$tmp/log" || fail "resume $o: the option is not named: $(cat "$tmp/log")"
        [ "$(snapshot "$tmp/O")" = "$before" ] || fail "resume $o: the run folder changed"
    done
    [ -e "$tmp/other" ] && fail "--output on resume created a folder"
    # the same value again is no change
    resume "$tmp/O" --seed 7 --batch-size 40 --macro.num-layers 3 >"$tmp/log" 2>&1 || fail "unchanged values refused: $(cat "$tmp/log")"
    # what may change is recorded, and a later plain resume keeps it
    resume "$tmp/O" --num-epochs 2 --log-frequency 1 --threads 1 --derive-samples 2 --compare-samples 0 --valid-eval-batches -1 >"$tmp/log" 2>&1 ||
        fail "resume with changed settings: $(cat "$tmp/log")"
    for kv in "num_epochs = 2;" "log_frequency = 1;" "threads = 1;" "derive_samples = 2;"; do
        grep -q "^$kv" "$tmp/O/config.cfg" || fail "config.cfg does not record $kv"
    done
    [ "$("$tool" "$tmp/O/checkpoint.bin" get epoch)" = 2 ] || fail "the run did not reach epoch 2"
    resume "$tmp/O" >"$tmp/log" 2>&1 || fail "a plain resume after the changes: $(cat "$tmp/log")"
    ;;

disk)
    search "$tmp/D" --num-epochs 1 >"$tmp/log" 2>&1 || fail "search exited $?"
    size=$(wc -c <"$tmp/D/checkpoint.bin")
    ck=$(cksum <"$tmp/D/checkpoint.bin")
    # a file-size limit of half the checkpoint (in 512-byte blocks): the next checkpoint cannot be written
    (
        ulimit -f $((size / 1024))
        resume_exec "$tmp/D" --num-epochs 2
    ) >"$tmp/log" 2>&1
    rc=$?
    [ $rc = 1 ] || fail "a checkpoint over the file-size limit: exit $rc, want 1: $(cat "$tmp/log")"
    grep -qF "checkpoint '$tmp/D/checkpoint.bin': write failed: File too large; the previous checkpoint is kept" \
        "$tmp/log" || fail "no named write error: $(cat "$tmp/log")"
    [ "$(cksum <"$tmp/D/checkpoint.bin")" = "$ck" ] || fail "the old checkpoint changed"
    [ -e "$tmp/D/checkpoint.bin.tmp" ] && fail "a temporary checkpoint was left"
    resume "$tmp/D" --num-epochs 2 >"$tmp/log" 2>&1 || fail "resume after the failed write: $(cat "$tmp/log")"
    [ "$("$tool" "$tmp/D/checkpoint.bin" get epoch)" = 2 ] || fail "the resumed run did not reach epoch 2"
    ;;

kill)
    seed=${ENAS_FAULT_SEED:-$(($(date +%s) % 1000000))}
    det="--num-epochs 3 --deterministic"
    t0=$(now_ms)
    # shellcheck disable=SC2086
    search "$tmp/A" $det >"$tmp/log" 2>&1 || { fail "uninterrupted run failed"; cat "$tmp/log" >&2; }
    span=$(($(now_ms) - t0))
    prev=
    i=0
    while [ $i -lt 4 ]; do
        if [ -f "$tmp/B/checkpoint.bin" ]; then
            resume_exec "$tmp/B" >>"$tmp/b.log" 2>&1 &
        else
            # shellcheck disable=SC2086
            search_exec "$tmp/B" $det >>"$tmp/b.log" 2>&1 &
        fi
        bg=$!
        # a point in the run's length, drawn from (seed, i)
        ms=$(awk -v s="$seed" -v i=$i -v t="$span" 'BEGIN { srand(s * 16 + i); printf "%d", rand() * t }')
        sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
        kill -9 $bg 2>/dev/null
        wait $bg 2>/dev/null
        bg=
        if [ -n "$prev" ] && [ ! -f "$tmp/B/checkpoint.bin" ]; then
            fail "seed $seed, kill $i after $ms ms: the checkpoint is lost"
        elif [ -f "$tmp/B/checkpoint.bin" ]; then
            pos=$("$tool" "$tmp/B/checkpoint.bin" verify) || fail "seed $seed, kill $i after $ms ms: checkpoint unreadable"
            # epoch, global step and controller updates never go back
            if [ -n "$prev" ] && ! echo "$prev $pos" | awk '{ exit !($2 <= $8 && $4 <= $10 && $6 <= $12) }'; then
                fail "seed $seed, kill $i after $ms ms: the checkpoint went back from '$prev' to '$pos'"
            fi
            prev=$pos
        fi
        # what a kill in the middle of a checkpoint leaves: a half-written temporary file beside it
        if [ $i = 2 ] && [ -f "$tmp/B/checkpoint.bin" ]; then
            head -c $(($(wc -c <"$tmp/B/checkpoint.bin") / 2)) "$tmp/B/checkpoint.bin" >"$tmp/B/checkpoint.bin.tmp"
        fi
        i=$((i + 1))
    done
    if [ -f "$tmp/B/checkpoint.bin" ]; then
        resume "$tmp/B" >>"$tmp/b.log" 2>&1 || fail "seed $seed: the final resume failed"
    else
        # shellcheck disable=SC2086
        search "$tmp/B" $det >>"$tmp/b.log" 2>&1 || fail "seed $seed: the final start failed"
    fi
    da=$("$digest" "$tmp/A/checkpoint.bin") db=$("$digest" "$tmp/B/checkpoint.bin")
    [ -n "$da" ] && [ "$da" = "$db" ] || fail "seed $seed: killed and resumed weights differ from the uninterrupted run's"
    cmp -s "$tmp/A/best_arch.tf" "$tmp/B/best_arch.tf" || fail "seed $seed: the best architecture differs"
    [ "$(metrics "$tmp/A")" = "$(metrics "$tmp/B")" ] || fail "seed $seed: metrics.jsonl differs from the uninterrupted run's"
    [ $fails -eq 0 ] || { echo "test_faults kill: seed $seed (ENAS_FAULT_SEED=$seed repeats the kill times)" >&2; cat "$tmp/b.log" >&2; }
    ;;

skip)
    # a controller update of a million samples: a resume in its second update first skips a million batches
    long="--ctrl-steps-aggregate 1000000 --num-epochs 1"
    # shellcheck disable=SC2086
    search_exec "$tmp/S" $long >"$tmp/log" 2>&1 &
    bg=$!
    wait_for "grep -q '\"step\"' '$tmp/S/metrics.jsonl' 2>/dev/null" $bg
    kill -INT $bg
    stop_within $bg 60
    rc=$?
    bg=
    [ $rc = 130 ] || fail "SIGINT: exit $rc, want 130: $(cat "$tmp/log")"
    # the position: phase 1 done (5 steps), one controller update done
    "$tool" "$tmp/S/checkpoint.bin" set phase 1 set batch 5 set global_step 5 set ctrl_in_epoch 1 \
        set ctrl_updates 1 set adam_t 1 || fail "ckpt_tool failed"
    # (a log of its own: the first run's "search:" line must not send SIGINT before the handler is in place)
    resume_exec "$tmp/S" >"$tmp/r.log" 2>&1 &
    bg=$!
    wait_for "grep -q 'search: space' '$tmp/r.log' 2>/dev/null" $bg
    t0=$(now_ms)
    kill -INT $bg
    stop_within $bg 30
    rc=$?
    bg=
    took=$(($(now_ms) - t0))
    [ $rc = 130 ] || fail "SIGINT while skipping: exit $rc, want 130: $(cat "$tmp/r.log")"
    [ $took -le 20000 ] || fail "SIGINT while skipping done batches took $took ms to stop the run (killed after 30 s)"
    [ "$("$tool" "$tmp/S/checkpoint.bin" verify)" = "epoch 0 global_step 5 ctrl_updates 1" ] ||
        fail "the checkpoint after the interrupted skip moved: $("$tool" "$tmp/S/checkpoint.bin" verify)"
    ;;

longest)
    # macro with 256 layers: 32,896 ints (run_enas keeps Graphviz away: drawing 33,000 edges takes it minutes)
    big="--plugin-dir $plugins --space macro --backend $backend --data $tmp/data --train-subset 8 --batch-size 4
         --ctrl-steps 1 --ctrl-steps-aggregate 1 --derive-samples 1 --compare-samples 0 --valid-eval-batches -1 --seed 3 --macro.num-layers 256
         --macro.out-filters 2 --threads 1 --workers 1"
    # shellcheck disable=SC2086
    run_enas $big --output "$tmp/G" --num-epochs 1 >"$tmp/log" 2>&1 ||
        fail "the 256-layer search failed: $(tail -3 "$tmp/log")"
    [ "$(wc -w <"$tmp/G/best_arch.tf" 2>/dev/null)" = 32896 ] || fail "best_arch.tf does not hold 32896 ints"
    cmp -s "$tmp/G/best_arch.tf" "$tmp/G/arch/epoch_0.tf" || fail "best_arch.tf is not the epoch's architecture"
    cmp -s "$tmp/G/best_arch.json" "$tmp/G/arch/epoch_0.json" || fail "best_arch.json is not the epoch's architecture"
    # from the checkpoint alone (which the resume checks against the space): a finished run resumed writes
    # best_arch.* again
    rm "$tmp/G/best_arch.tf" "$tmp/G/best_arch.json"
    run_enas --plugin-dir "$plugins" --resume "$tmp/G" >"$tmp/log" 2>&1 ||
        fail "resume of the finished run failed: $(tail -3 "$tmp/log")"
    cmp -s "$tmp/G/best_arch.tf" "$tmp/G/arch/epoch_0.tf" || fail "best_arch.tf from the checkpoint differs"
    cmp -s "$tmp/G/best_arch.json" "$tmp/G/arch/epoch_0.json" || fail "best_arch.json from the checkpoint differs"
    ;;

pictures)
    # Graphviz is what this part is about: with `dot` installed, a run folder named "-x" still gets its
    # pictures (its paths reach dot as ./-x/..., not as options), and a 128-layer macro architecture (160 KB
    # of DOT, which dot takes many minutes over) gets its .dot file but no picture, instead of stalling the
    # run at every epoch's end
    if ! command -v dot >/dev/null 2>&1; then
        echo "test_faults: Graphviz is not installed: skipped"
        exit 77
    fi
    mkdir "$tmp/w"
    # shellcheck disable=SC2086
    (cd "$tmp/w" && "$enas" $opts --output -x --num-epochs 1 >"$tmp/log" 2>&1) ||
        fail "a run folder named -x: $(tail -3 "$tmp/log")"
    [ -s "$tmp/w/-x/best_arch.png" ] || fail "a run folder named -x: no best_arch.png"
    [ -e "$tmp/w/V" ] || [ -e "$tmp/w/-V" ] && fail "dot took a path for an option"
    big="--plugin-dir $plugins --space macro --backend $backend --data $tmp/data --train-subset 40 --batch-size 20
         --ctrl-steps 1 --ctrl-steps-aggregate 1 --derive-samples 1 --compare-samples 0 --valid-eval-batches -1 --seed 3 --macro.num-layers 128
         --macro.out-filters 2 --threads 1 --workers 1"
    t0=$(now_ms)
    # shellcheck disable=SC2086
    "$enas" $big --output "$tmp/B" --num-epochs 1 >"$tmp/log" 2>&1 || fail "the 128-layer search failed: $(tail -3 "$tmp/log")"
    took=$(($(now_ms) - t0))
    [ $took -le 120000 ] || fail "the 128-layer search took $took ms (drawing it?)"
    [ -s "$tmp/B/best_arch.dot" ] || fail "the 128-layer search: no best_arch.dot"
    [ -e "$tmp/B/best_arch.png" ] && fail "the 128-layer search rendered a picture at every epoch"
    ;;

*)
    echo "test_faults: unknown part '$part'" >&2
    exit 2
    ;;
esac

[ $fails -eq 0 ] && echo "test_faults $part: all checks passed"
[ $fails -eq 0 ]
