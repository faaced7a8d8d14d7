#!/bin/sh
# test_plugins_cli.sh ENAS PLUGIN_DIR FIXTURES GEN_CIFAR - what a user sees of plugins that fail: a plugin that
# crashes in its init is named before the process dies of it; a plugin directory that cannot be opened is
# reported with the reason; `enas --help` and `enas plugins` list the files that failed to load; careless
# plugins (messages and strings without a NUL, too many settings) are refused by name.
set -u
enas=$1 plugins=$2 fixtures=$3 gen=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_plugins_cli.XXXXXX")
trap 'chmod 700 "$tmp/noperm" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
fails=0
ulimit -c 0 2>/dev/null # the crash cases must not leave core files behind

fail() {
    echo "FAIL: $*" >&2
    for f in out err; do
        [ -s "$tmp/$f" ] && { echo "  std$f:" >&2; head -c 3000 "$tmp/$f" | sed 's/^/    /' >&2; }
    done
    fails=$((fails + 1))
}

# run ARGS...: enas ARGS with stdout in $tmp/out, stderr in $tmp/err, the exit status in $rc
run() {
    "$enas" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# has FILE NEEDLE: FILE (out or err) contains the fixed string NEEDLE
has() {
    grep -qF -- "$2" "$tmp/$1"
}

# 1. A plugin that leaves err->msg without a NUL: the message is cut, not read past (the sanitizer build
# would stop here), and the file is listed as failed.
run plugins --plugin-dir "$fixtures/msg_no_nul"
[ "$rc" = 1 ] && has out "msg_no_nul.so
  FAILED: enas_plugin_init failed: xxxxxxxx" && has err "msg_no_nul.so': enas_plugin_init failed: xxxxxxxx" ||
    fail "msg_no_nul: rc $rc"

# 2. A plugin that crashes in enas_plugin_init (or in a constructor, inside dlopen) is named on stderr, and
# the process still dies of the signal.
for c in segv:11:enas_plugin_init abort:6:enas_plugin_init stack:11:enas_plugin_init \
    "ctor:11:dlopen (the file's constructors)"; do
    name=crash_${c%%:*} sig=${c#*:} where=${c#*:*:}
    sig=${sig%%:*}
    run plugins --plugin-dir "$plugins" --plugin-dir "$fixtures/$name"
    want="enas: plugin '$fixtures/$name/$name.so' crashed in $where (signal $sig, SIG"
    # 128 + N when the signal kills it; a sanitizer build reports the fault and aborts (134)
    [ "$rc" -gt 128 ] && has err "$want" || fail "$name: rc $rc, stderr lacks \"$want\""
    # the search loads the same way
    run --plugin-dir "$fixtures/$name" --help
    [ "$rc" -gt 128 ] && has err "$want" || fail "$name (--help): rc $rc"
done

# 3. Every way a plugin directory cannot be opened, with the system's reason; exit 2.
ln -s "$tmp/loop" "$tmp/loop"
: >"$tmp/file"
mkdir "$tmp/noperm"
run plugins --plugin-dir "$tmp/loop"
[ "$rc" = 2 ] && has err "plugin directory '$tmp/loop' (from --plugin-dir) cannot be opened: Too many levels of symbolic links" ||
    fail "symlink loop: rc $rc"
ENAS_PLUGIN_PATH="$tmp/loop" run plugins
[ "$rc" = 2 ] && has err "plugin directory '$tmp/loop' (from ENAS_PLUGIN_PATH) cannot be opened: Too many levels" ||
    fail "symlink loop in ENAS_PLUGIN_PATH: rc $rc"
run --plugin-dir "$tmp/file" --help
[ "$rc" = 2 ] && has err "plugin directory '$tmp/file' (from --plugin-dir) cannot be opened: Not a directory" ||
    fail "not a directory: rc $rc"
run plugins --plugin-dir "$tmp/missing"
[ "$rc" = 2 ] && has err "plugin directory '$tmp/missing' (from --plugin-dir) does not exist" || fail "missing: rc $rc"
# no permission: root may open anything, so as root this runs as nobody
chmod 755 "$tmp"
chmod 000 "$tmp/noperm"
as_user=""
if [ "$(id -u)" = 0 ]; then
    if command -v setpriv >/dev/null 2>&1; then
        as_user="setpriv --reuid=nobody --regid=nogroup --clear-groups"
    else
        echo "SKIP: permission denied case (root without setpriv)" >&2
        as_user=skip
    fi
fi
if [ "$as_user" != skip ]; then
    # (LeakSanitizer cannot trace a process of another user here; leaks are checked by the other cases)
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 $as_user "$enas" plugins --plugin-dir "$tmp/noperm" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" = 2 ] && has err "plugin directory '$tmp/noperm' (from --plugin-dir) cannot be opened: Permission denied" ||
        fail "permission denied: rc $rc"
fi

# 4. A plugin that failed to load: `enas --help` names it where its settings would be and on stderr, and
# still shows everything else (exit 0); `enas plugins` lists it on stdout and stderr (exit 1).
bad="$fixtures/init_fails/init_fails.so"
run --plugin-dir "$plugins" --plugin-dir "$fixtures/init_fails" --help
[ "$rc" = 0 ] && has out "--micro.num-layers" && has out "Settings missing: plugin files that failed to load" &&
    has out "  plugin '$bad': enas_plugin_init failed: needs setting foo" &&
    has err "enas: plugin '$bad': enas_plugin_init failed: needs setting foo" ||
    fail "--help with a failed plugin: rc $rc"
run --plugin-dir "$plugins" --help
[ "$rc" = 0 ] && ! has out "Settings missing" && [ ! -s "$tmp/err" ] || fail "--help without failures: rc $rc"
run plugins --plugin-dir "$plugins" --plugin-dir "$fixtures/init_fails"
[ "$rc" = 1 ] && has out "$bad
  FAILED: enas_plugin_init failed: needs setting foo" && has out "1 plugin file(s) failed to load" &&
    has out "reward accuracy" && has err "enas: plugin '$bad': enas_plugin_init failed: needs setting foo" ||
    fail "plugins with a failed plugin: rc $rc"

# Things named *.so that are not plugins: each file is reported with dlopen's reason; a FIFO (which would
# block an open) and a directory are not plugin files and are passed over, so the run neither hangs nor
# fails on them.
mkdir -p "$tmp/junk/dir.so"
: >"$tmp/junk/empty.so"
echo "not a shared object" >"$tmp/junk/text.so"
ln -s loop.so "$tmp/junk/loop.so"
ln -s nowhere "$tmp/junk/dangling.so"
mkfifo "$tmp/junk/fifo.so"
timeout 60 "$enas" plugins --plugin-dir "$tmp/junk" >"$tmp/out" 2>"$tmp/err"
rc=$? # 124: it hung
[ "$rc" = 1 ] && has out "$tmp/junk/empty.so
  FAILED: dlopen failed: $tmp/junk/empty.so: file too short" &&
    has out "$tmp/junk/text.so
  FAILED: dlopen failed: $tmp/junk/text.so: invalid ELF header" &&
    has out "$tmp/junk/loop.so
  FAILED: dlopen failed: $tmp/junk/loop.so: cannot open shared object file: Too many levels of symbolic links" &&
    has out "$tmp/junk/dangling.so
  FAILED: dlopen failed: $tmp/junk/dangling.so: cannot open shared object file: No such file or directory" &&
    ! has out "fifo.so" && ! has out "dir.so" && has out "4 plugin file(s) failed to load" ||
    fail "junk named *.so: rc $rc"

# Descriptor strings without a NUL or absurdly long, a settings count past its table: refused by name.
run plugins --plugin-dir "$fixtures/strings" --plugin-dir "$fixtures/too_many"
n=$(grep -c "^  FAILED: " "$tmp/out")
[ "$rc" = 1 ] && [ "$n" = 12 ] && has out "FAILED: reward 'too_many': 100000 settings; at most 1024 are allowed" ||
    fail "strings and too_many: rc $rc, $n failures listed"
# hundreds of settings are fine: each is an option and a --help line
run --plugin-dir "$plugins" --plugin-dir "$fixtures/many" --help
n=$(grep -c -- "--many\.s[0-9]* N" "$tmp/out")
[ "$rc" = 0 ] && [ "$n" = 300 ] || fail "many settings: rc $rc, $n in --help"
run --plugin-dir "$plugins" --plugin-dir "$fixtures/many" --many.s299 1001
[ "$rc" = 2 ] && has err "many.s299" || fail "many settings, out of range: rc $rc"

# A reward whose create and a loss whose compute fail with a message without a NUL, during a search: the
# message is cut (the sanitizer build would stop on reading past it), the run exits 1.
mkdir "$tmp/data" && "$gen" "$tmp/data" 100 >/dev/null || exit 1
small="--plugin-dir $plugins --plugin-dir $fixtures/backend_no_nul --space macro --backend ref --data $tmp/data
       --train-subset 40 --batch-size 20 --macro.num-layers 1 --macro.out-filters 4 --threads 1"
# shellcheck disable=SC2086
run $small --reward nonul_reward --output "$tmp/r1"
[ "$rc" = 1 ] && has err "yyyyyyyy" || fail "a reward's create without a NUL: rc $rc"
# shellcheck disable=SC2086
run $small --loss nonul_loss --output "$tmp/r2"
[ "$rc" = 1 ] && has err "yyyyyyyy" || fail "a loss's compute without a NUL: rc $rc"

if [ "$fails" -gt 0 ]; then
    echo "test_plugins_cli: $fails failure(s)" >&2
    exit 1
fi
echo "test_plugins_cli: all checks passed"
