#!/usr/bin/env bash
# fuzz.sh NAME|all SECONDS [LIBFUZZER-OPTION...] - runs the libFuzzer harness NAME (arch, config, ckpt, cifar, model;
# tests/fuzz) for SECONDS under AddressSanitizer and UndefinedBehaviorSanitizer ("all": each in turn, SECONDS
# each). It configures and builds build-fuzz/ with clang (-DENAS_FUZZ=ON) on first use. The corpus starts
# from tests/fuzz/corpus/NAME (the repo's seeds, never written to) plus seeds made by the program's own
# writers, and grows in build-fuzz/fuzz/corpus/NAME. A crash or a broken property leaves its input in
# build-fuzz/fuzz/artifacts/NAME/ and makes this exit 1; rerun one input with
#     build-fuzz/tests/fuzz/fuzz_NAME FILE
set -euo pipefail
cd "$(dirname "$0")/.."
names=(arch config ckpt cifar model)
if [ $# -lt 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
    echo "usage: tools/fuzz.sh NAME|all SECONDS [LIBFUZZER-OPTION...]   (NAME: ${names[*]})" >&2
    exit 2
fi
which=$1 seconds=$2
shift 2
if [ "$which" = all ]; then
    run=("${names[@]}")
elif [[ " ${names[*]} " == *" $which "* ]]; then
    run=("$which")
else
    echo "fuzz.sh: no harness '$which' (${names[*]})" >&2
    exit 2
fi
command -v clang >/dev/null || { echo "fuzz.sh: clang is not installed (tools/setup.sh installs it)" >&2; exit 1; }

build=build-fuzz
# Warnings are gcc's business (the normal build has -Werror); clang's extra ones must not stop fuzzing. The
# readers need neither oneDNN nor OpenMP, and clang finds no OpenMP runtime on a machine without libomp-dev.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
[ -f "$build/CMakeCache.txt" ] ||
    CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENAS_FUZZ=ON -DENAS_WERROR=OFF \
        -DCMAKE_DISABLE_FIND_PACKAGE_dnnl=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenMP=ON >"$log" 2>&1 ||
    { cat "$log" >&2; echo "fuzz.sh: configuring $build failed" >&2; exit 1; }
targets=(fuzz_mkseeds)
for n in "${run[@]}"; do targets+=("fuzz_$n"); done
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target "${targets[@]}" >"$log" 2>&1 ||
    { grep -E "error|Error" "$log" | head -40 >&2; echo "fuzz.sh: building the harnesses failed" >&2; exit 1; }

work=$build/fuzz
mkdir -p "$work/seeds"
"$build/tests/fuzz/fuzz_mkseeds" "$work/seeds"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp
# Function names in the reports, and for the suppressions, which name functions: without a symbolizer
# (Debian's llvm-14 has it) a report shows bare addresses and no suppression matches.
for s in llvm-symbolizer llvm-symbolizer-14 /usr/lib/llvm-14/bin/llvm-symbolizer; do
    if command -v "$s" >/dev/null; then
        ASAN_SYMBOLIZER_PATH=$(command -v "$s")
        export ASAN_SYMBOLIZER_PATH
        break
    fi
done
export ENAS_PLUGIN_PATH=
status=0
for n in "${run[@]}"; do
    corpus=$work/corpus/$n artifacts=$work/artifacts/$n
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    for d in "tests/fuzz/corpus/$n" "$work/seeds/$n"; do # the repo has text seeds, mkseeds the binary ones
        [ -d "$d" ] && seeds+=("$d")
    done
    echo "fuzz.sh: $n for ${seconds}s (corpus $corpus)"
    # -timeout: one input may take at most 10 s (a hang is a finding); -rss_limit_mb: so is a runaway allocation
    if ! "$build/tests/fuzz/fuzz_$n" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" "$corpus" "${seeds[@]}" >"$work/$n.log" 2>&1; then
        status=1
        echo "fuzz.sh: $n FOUND A PROBLEM (log $work/$n.log, input in $artifacts/):" >&2
        grep -E "ERROR|fuzz:|SUMMARY|Test unit written" "$work/$n.log" | head -20 >&2
    else
        grep -E "stat::number_of_executed_units|cov: " "$work/$n.log" | tail -2
    fi
done
exit $status
