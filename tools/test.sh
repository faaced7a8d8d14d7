#!/usr/bin/env bash
# test.sh - builds enas and runs the whole test suite twice: a normal build (build/) and a build under
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/); then each libFuzzer harness of tests/fuzz for
# 15 seconds, under the same sanitizers (build-fuzz/, clang). Real-data tests use $ENAS_DATA or
# ./data/cifar-10-batches-bin when either holds CIFAR-10, and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# which CPU ran the suite: the kernels it takes natively (the other CPUs' kernels run in the *_avx2 and
# *_portable views of tests/cpu_views.cmake whatever it is)
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { case " $flags " in *" $1 "*) echo yes ;; *) echo no ;; esac; }
echo "test.sh: CPU $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'):" \
    "AVX2 $(has avx2), AVX-512F $(has avx512f), AVX-512BW $(has avx512bw)"

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

# The sanitizer build runs everything except tests whose point is how well something learns (the same
# code paths run under the sanitizers in the other tests), the micro search on the slow reference
# backend (the macro search on it and the micro search on oneDNN still run), and the whole-network and
# search runs of the other CPUs' views (their kernels run under the sanitizers in the op parity, step and
# macro views): under ASan they alone would take most of CI's time. The lint tests (format, clang-tidy) ran
# on the same sources in the first build.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DENAS_SANITIZE=ON
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan --output-on-failure -j"$jobs" \
  -E '^(test_space_(macro|micro)_train|test_controller_learn|test_search_micro_ref|test_space_micro_ops_onednn_(avx2|portable)|test_cpu_views_micro|test_format|test_tidy)$'

# the readers of untrusted input (architectures, settings, checkpoints, CIFAR-10) against a minute of fuzzing
tools/fuzz.sh all 15
