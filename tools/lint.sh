#!/bin/sh
# lint.sh format|tidy [BUILD_DIR] - the style checks that the test suite runs (tests/lint.cmake), and that a
# developer runs before committing:
#   format  clang-format --dry-run --Werror over every C source and header of the tree (.clang-format);
#           `tools/lint.sh fix` rewrites them in place instead
#   tidy    clang-tidy with the checks of .clang-tidy over every file BUILD_DIR (default build/) compiles,
#           from its compile_commands.json
# Exits non-zero, naming file and line, on the first kind of drift it finds.
# A missing tool is a skip (exit 77, which CTest reports as skipped): tools/setup.sh installs both.
set -eu
cd "$(dirname "$0")/.."
need() {
    command -v "$1" >/dev/null || {
        echo "lint.sh: $1 is not installed (tools/setup.sh installs it): check skipped" >&2
        exit 77
    }
}
sources() { find engine plugins spaces include tests bench -name '*.[ch]' | LC_ALL=C sort; }
case "${1:-}" in
format) need clang-format && sources | xargs clang-format --dry-run --Werror ;;
fix) need clang-format && sources | xargs clang-format -i ;;
tidy)
    need run-clang-tidy
    build=${2:-build}
    [ -f "$build/compile_commands.json" ] || {
        echo "lint.sh: no $build/compile_commands.json: configure with cmake -S . -B $build first" >&2
        exit 2
    }
    # -Wdouble-promotion is the build's (gcc) warning; clang also flags the float NAN and INFINITY macros
    # with it, which gcc does not
    out=$(run-clang-tidy -p "$build" -quiet -j "$(nproc 2>/dev/null || echo 2)" \
        -extra-arg=-Wno-double-promotion "$PWD/(engine|plugins|spaces|tests|bench)/" 2>&1) && rc=0 || rc=$?
    printf '%s\n' "$out" | grep -E 'error:|warning:|note:' -A2 || true
    [ "$rc" -eq 0 ] || { echo "lint.sh: clang-tidy found the above" >&2; exit 1; }
    ;;
*)
    echo "usage: tools/lint.sh format|fix|tidy [BUILD_DIR]" >&2
    exit 2
    ;;
esac
