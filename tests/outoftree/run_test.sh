#!/bin/sh
# run_test.sh BUILD_DIR OUTOFTREE_SRC LOAD_DIR CMAKE RUN_OOT_OP PLUGIN_DIR ENAS GEN_CIFAR - installs the build into a temporary prefix,
# builds the out-of-tree plugin against it through pkg-config, and loads it with the engine's loader.
set -eu
bin=$1 src=$2 load_dir=$3 cmake=$4 run_oot_op=$5 plugins=$6 enas=$7 gen=$8
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_oot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! "$cmake" --install "$bin" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "outoftree: cmake --install failed" >&2
    exit 1
fi
# CMAKE_INSTALL_LIBDIR may be lib, lib64 or lib/<multiarch>
pcdir=""
for d in "$tmp"/prefix/lib/pkgconfig "$tmp"/prefix/lib64/pkgconfig "$tmp"/prefix/lib/*/pkgconfig; do
    if [ -f "$d/enas.pc" ]; then
        pcdir=$d
        break
    fi
done
if [ -z "$pcdir" ]; then
    echo "outoftree: no enas.pc under $tmp/prefix" >&2
    exit 1
fi
# enas.pc locates the prefix relative to itself, so the temporary install needs no override.
PKG_CONFIG_PATH=$pcdir
export PKG_CONFIG_PATH
"$cmake" -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release
"$cmake" --build "$tmp/build"
if [ ! -f "$tmp/build/oot_reward.so" ]; then
    echo "outoftree: oot_reward.so was not built" >&2
    exit 1
fi
# headers came from the temporary prefix, not from the source tree
inc=$(pkg-config --variable=includedir enas)
[ "$(cd "$inc" && pwd -P)" = "$(cd "$tmp/prefix/include" && pwd -P)" ] || {
    echo "outoftree: the build did not use the installed headers" >&2
    exit 1
}
"$load_dir" "$tmp/build" oot_reward oot_scale
# its op runs forward and backward beside the ref backend's ops
"$run_oot_op" "$tmp/build" "$plugins" ref

# its reward, selected with --reward, decides what the controller optimises: a penalty per parameter
# drives the macro layers to pooling (the cheapest ops), a bonus per parameter to 5x5 convolutions
# (the largest). Ops sit at positions 0, 1 and 3 of a 3-layer macro architecture.
# The searches run on onednn where it was built: ref's plain loops take minutes in the sanitizer build.
mkdir -p "$tmp/data"
"$gen" "$tmp/data" 400
backend=ref
[ -f "$plugins/onednn.so" ] && backend=onednn
for penalty in 1000 -1000; do
    "$enas" --plugin-dir "$plugins" --plugin-dir "$tmp/build" --space macro --backend "$backend" --data "$tmp/data" \
        --train-subset 400 --batch-size 40 --num-epochs 3 --ctrl-steps 10 --ctrl-steps-aggregate 4 --ctrl-lr 0.05 \
        --baseline-decay 0.8 --derive-samples 8 --macro.num-layers 3 --macro.out-filters 8 --seed 5 -q \
        --reward oot_reward --oot-reward.penalty "$penalty" --output "$tmp/run$penalty"
    ops=$(awk '{print $1, $2, $4}' "$tmp/run$penalty/best_arch.tf")
    case "$penalty:$ops" in
    1000:[45]\ [45]\ [45] | -1000:2\ 2\ 2) echo "outoftree: penalty $penalty -> ops $ops" ;;
    *)
        echo "outoftree: with oot_reward penalty $penalty the controller chose ops '$ops'" >&2
        exit 1
        ;;
    esac
done
