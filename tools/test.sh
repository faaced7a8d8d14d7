#!/usr/bin/env bash
# test.sh - builds enas and runs the whole test suite twice: a normal build (build/) and a build under
# AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/). Real-data tests use $ENAS_DATA or
# ./data/cifar-10-batches-bin when either holds CIFAR-10, and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DENAS_SANITIZE=ON
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan --output-on-failure -j"$jobs"
