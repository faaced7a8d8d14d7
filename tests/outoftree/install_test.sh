#!/bin/sh
# install_test.sh BUILD_DIR CMAKE PLUGIN_DIR - an installed enas finds its installed plugins by itself:
# installed into a temporary prefix with `cmake --install --prefix`, run with no --plugin-dir and an empty
# ENAS_PLUGIN_PATH (from another working directory, and through a symlink to the program), then the same
# after the whole prefix is moved to another folder. PLUGIN_DIR (the build's plugins) says whether the
# onednn backend was built.
set -u
bin=$1 cmake=$2 built=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

if ! "$cmake" --install "$bin" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "install_test: cmake --install failed" >&2
    exit 1
fi
want="ref space_micro space_macro loss_xent reward_accuracy"
[ -f "$built/onednn.so" ] && want="onednn $want"
ENAS_PLUGIN_PATH=
export ENAS_PLUGIN_PATH

# check PREFIX HOW PROGRAM: `plugins` lists every in-tree plugin from PREFIX's plugin directory and exits
# 0; --help exits 0 with the settings of the installed spaces.
check() {
    prefix=$1 how=$2 prog=$3
    # CMAKE_INSTALL_LIBDIR may be lib, lib64 or lib/<multiarch>
    ref=$(find "$prefix" -name ref.so -path '*/enas/plugins/*' | head -n 1)
    if [ -z "$ref" ]; then
        echo "FAIL ($how): no enas/plugins/ref.so under $prefix" >&2
        fails=$((fails + 1))
        return
    fi
    pdir=$(dirname "$ref")
    (cd / && "$prog" plugins) >"$tmp/out" 2>&1
    rc=$?
    for p in $want; do
        if [ "$rc" != 0 ] || ! grep -qxF "$pdir/$p.so" "$tmp/out"; then
            echo "FAIL ($how): \`enas plugins\` -> rc $rc, no line '$pdir/$p.so':" >&2
            sed 's/^/    /' "$tmp/out" >&2
            fails=$((fails + 1))
            break
        fi
    done
    (cd / && "$prog" --help) >"$tmp/out" 2>&1
    rc=$?
    if [ "$rc" != 0 ] || ! grep -qF "Settings of 'micro' (from $pdir/space_micro.so" "$tmp/out" ||
        ! grep -qF -- "--macro.num-layers" "$tmp/out"; then
        echo "FAIL ($how): \`enas --help\` -> rc $rc:" >&2
        head -n 20 "$tmp/out" | sed 's/^/    /' >&2
        fails=$((fails + 1))
    fi
}

check "$tmp/prefix" "installed" "$tmp/prefix/bin/enas"
mkdir -p "$tmp/elsewhere/deeper" "$tmp/links"
mv "$tmp/prefix" "$tmp/elsewhere/deeper/moved"
check "$tmp/elsewhere/deeper/moved" "moved" "$tmp/elsewhere/deeper/moved/bin/enas"
ln -s "$tmp/elsewhere/deeper/moved/bin/enas" "$tmp/links/enas"
check "$tmp/elsewhere/deeper/moved" "through a symlink" "$tmp/links/enas"

if [ "$fails" -gt 0 ]; then
    echo "install_test: $fails failure(s)" >&2
    exit 1
fi
echo "install_test: the installed program found its plugins, installed, moved and through a symlink"
