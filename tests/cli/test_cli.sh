#!/bin/sh
# test_cli.sh ENAS PLUGIN_DIR FIXTURES_ALL CONFIG_DIR - the enas program as a user runs it: exit codes
# and the messages of `enas plugins`, the main job, settings errors and data errors.
set -u
enas=$1 plugins=$2 fixtures=$3 configs=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/enas_cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

# expect WANT_RC NEEDLE -- ARGS...: runs enas ARGS, checks the exit status and that stdout+stderr
# contain NEEDLE (a fixed string).
expect() {
    want=$1 needle=$2
    shift 3
    "$enas" "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ "$rc" != "$want" ] || ! grep -qF -- "$needle" "$tmp/out"; then
        echo "FAIL: enas $* -> rc $rc (want $want), output lacks '$needle':" >&2
        sed 's/^/    /' "$tmp/out" >&2
        fails=$((fails + 1))
    fi
}

# plugins: every in-tree plugin and what it registered
expect 0 "loss cross_entropy" -- plugins --plugin-dir "$plugins"
expect 0 "reward accuracy" -- plugins --plugin-dir "$plugins"
expect 0 "reward efficient_accuracy" -- plugins --plugin-dir "$plugins"
expect 0 "op conv (provider ref)" -- plugins --plugin-dir "$plugins"
# every broken fixture's failure, the good ones still listed, exit 1
for needle in "bad_abi.so': enas_plugin_init: ABI mismatch (plugin 99, engine 1)" \
    "no_entry.so': no symbol 'enas_plugin_init'" "not_a_plugin.so': dlopen failed" \
    "init_fails.so': enas_plugin_init failed: needs setting foo" \
    "dup_b.so': loss 'dup_loss' already registered by" "undefined_symbol.so': dlopen failed" \
    "missing_member.so': space 'mm_space': missing required member 'forward'" "space good_space"; do
    expect 1 "$needle" -- plugins --plugin-dir "$plugins" --plugin-dir "$fixtures"
done
# search refuses to run with a broken plugin
expect 1 "failed to load" -- --plugin-dir "$plugins" --plugin-dir "$fixtures"
expect 2 "does not exist" -- plugins --plugin-dir "$tmp/nope"

# settings: help, errors naming the option, file and line
expect 0 "--ctrl-steps-aggregate N" -- --plugin-dir "$plugins" --help
expect 0 "--efficient-accuracy.weight" -- --plugin-dir "$plugins" --help
expect 2 "did you mean '--batch-size'" -- --plugin-dir "$plugins" --batch-sise 3
expect 2 "option --batch-size needs a value" -- --plugin-dir "$plugins" --batch-size
expect 2 "--grad-clip" -- --plugin-dir "$plugins" --grad-clip -1
expect 2 "unknown command 'serch'" -- serch
printf 'batch_size = 64;\nctrl_lr = "fast";\n' >"$tmp/bad.cfg"
expect 2 "bad.cfg:2: key 'ctrl_lr'" -- --plugin-dir "$plugins" --config "$tmp/bad.cfg"
expect 2 "config file '$tmp/missing.cfg': No such file" -- --plugin-dir "$plugins" --config "$tmp/missing.cfg"
# settings files that hung (a FIFO), never ended (/dev/zero), wrapped or exited in libconfig's scanner
mkfifo "$tmp/fifo.cfg"
expect 2 "fifo.cfg': not a regular file (a FIFO)" -- --plugin-dir "$plugins" --config "$tmp/fifo.cfg"
expect 2 "'/dev/zero': not a regular file (a character device)" -- --plugin-dir "$plugins" --config /dev/zero
printf 'batch_size = 0x100000020;\n' >"$tmp/hex.cfg"
expect 2 "hex.cfg:1: key 'batch_size': integer literal 0x100000020 beyond 32 bits" -- --plugin-dir "$plugins" \
    --config "$tmp/hex.cfg"
printf 'batch_size = 64;\n@include "/"\n' >"$tmp/incdir.cfg"
expect 2 "incdir.cfg:2: @include \"/\": included file '/': is a directory" -- --plugin-dir "$plugins" \
    --config "$tmp/incdir.cfg"

# the main job: names that nobody registered are listed, and data problems name the file at fault
expect 2 "no space named 'nosuch'" -- --plugin-dir "$plugins" --space nosuch --backend ref --data "$tmp"
mkdir -p "$tmp/data"
head -c 3073 /dev/zero >"$tmp/data/data_batch_1.bin"
expect 1 "data_batch_2.bin': No such file" -- --plugin-dir "$plugins" --backend ref --space micro --data "$tmp/data" \
    --output "$tmp/run"
expect 1 "CIFAR-10 not found in the data setting" -- --plugin-dir "$plugins" --backend ref --data "$tmp/none" \
    --output "$tmp/run"

# enas arch: conversions, drawings and every malformed input with its position or key
if "$enas" plugins --plugin-dir "$plugins" 2>/dev/null | grep -q "space macro"; then
    m="--plugin-dir $plugins --space macro --backend ref --macro.num-layers 3 --macro.out-filters 8"
    printf '0 | 3 0 | 0 1 0\n' >"$tmp/a.tf"
    # shellcheck disable=SC2086
    expect 0 '"InputChoice5": "layer_0"' -- arch $m --to nni "$tmp/a.tf"
    printf '{"LayerChoice1": 0, "LayerChoice2": 3, "InputChoice3": [], "LayerChoice4": 0, "InputChoice5": "layer_0"}' >"$tmp/a.json"
    # shellcheck disable=SC2086
    expect 0 "0 3 0 0 1 0" -- arch $m --to tf "$tmp/a.json"
    # shellcheck disable=SC2086
    expect 0 "0 3 0 0 1 0" -- arch $m --draw "$tmp/a.dot" "$tmp/a.tf"
    grep -q digraph "$tmp/a.dot" || { echo "FAIL: --draw wrote no DOT graph" >&2; fails=$((fails + 1)); }
    printf '0 3 0 0 1\n' >"$tmp/short.tf"
    # shellcheck disable=SC2086
    expect 1 "short.tf: 5 values; the macro space with these settings takes 6" -- arch $m "$tmp/short.tf"
    printf '0 3 0 0 9 0\n' >"$tmp/range.tf"
    # shellcheck disable=SC2086
    expect 1 "position 4 (InputChoice5, candidate layer_0): 9 is not 0 or 1" -- arch $m "$tmp/range.tf"
    printf '{"LayerChoice1": 0,\n "Nope": 1}' >"$tmp/key.json"
    # shellcheck disable=SC2086
    expect 1 "key.json:2:10: unknown key 'Nope'" -- arch $m "$tmp/key.json"
    printf '{"LayerChoice1": 0' >"$tmp/bad.json"
    # shellcheck disable=SC2086
    expect 1 "bad.json:1:19: expected ',' or '}'" -- arch $m "$tmp/bad.json"
    # shellcheck disable=SC2086
    expect 2 "--to takes tf, nni or nni-retiarii" -- arch $m --to xml "$tmp/a.tf"
    # shellcheck disable=SC2086
    expect 1 "architecture file '$tmp/none.tf': No such file or directory" -- arch $m "$tmp/none.tf"
    # a FIFO blocked, /dev/zero (a file or standard input) was read without end, a NUL byte ended the text
    mkfifo "$tmp/fifo.tf"
    # shellcheck disable=SC2086
    expect 1 "fifo.tf': not a regular file (a FIFO)" -- arch $m "$tmp/fifo.tf"
    # shellcheck disable=SC2086
    expect 1 "'/dev/zero': not a regular file (a character device)" -- arch $m /dev/zero
    # shellcheck disable=SC2086
    "$enas" arch $m - </dev/zero >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -ne 1 ] || ! grep -qF "architecture 'standard input': too large (over 16777216 bytes)" "$tmp/out"; then
        echo "FAIL: enas arch - </dev/zero -> rc $rc:" >&2
        sed 's/^/    /' "$tmp/out" >&2
        fails=$((fails + 1))
    fi
    printf '0 | 3 0\n| 0\0001 0\n' >"$tmp/nul.tf"
    # shellcheck disable=SC2086
    expect 1 "nul.tf:2:4: a NUL byte (byte 11 of the file)" -- arch $m "$tmp/nul.tf"
    # Python's json keeps the last of two equal keys, this reader kept the first: both are refused
    printf '{"LayerChoice1": 0, "LayerChoice2": 3, "InputChoice3": [], "LayerChoice4": 0,\n "InputChoice5": "layer_0", "LayerChoice1": 5}' >"$tmp/dup.json"
    # shellcheck disable=SC2086
    expect 1 "dup.json:2:29: duplicate key 'LayerChoice1' (first at line 1, column 2)" -- arch $m "$tmp/dup.json"
    # a drawing named like an option went to dot as one (-V: print the version)
    if command -v dot >/dev/null 2>&1; then
        cd "$tmp" || exit 1
        # shellcheck disable=SC2086
        expect 0 "0 3 0 0 1 0" -- arch $m --draw -V.png a.tf
        [ "$(head -c 4 -- -V.png | od -An -c | tr -d ' ')" = "211PNG" ] ||
            { echo "FAIL: --draw -V.png wrote no PNG" >&2; fails=$((fails + 1)); }
        cd - >/dev/null || exit 1
    fi
fi

# an op name in micro.ops that no plugin registered is a settings error (2), before any file is written
mkdir -p "$tmp/d5"
for i in 1 2 3 4 5; do head -c 3073 /dev/zero >"$tmp/d5/data_batch_$i.bin"; done
expect 2 "micro.ops: candidate 'no_such_op': no op named 'no_such_op'" -- --plugin-dir "$plugins" --backend ref \
    --space micro --micro.ops "sep_conv_3x3|no_such_op" --data "$tmp/d5" --output "$tmp/ops_run"
[ -e "$tmp/ops_run" ] && { echo "FAIL: a refused micro.ops left $tmp/ops_run" >&2; fails=$((fails + 1)); }
printf '0 0 0 0\n' >"$tmp/m.tf"
expect 2 "micro.ops: candidate 'no_such_op'" -- arch --plugin-dir "$plugins" --backend ref --space micro \
    --micro.ops "sep_conv_3x3|no_such_op" "$tmp/m.tf"
# empty batch files: a double free (exit 134) before
: >"$tmp/d5/data_batch_1.bin"
: >"$tmp/d5/data_batch_2.bin"
expect 1 "data_batch_1.bin: empty (0 bytes)" -- --plugin-dir "$plugins" --backend ref --space micro --data "$tmp/d5" \
    --output "$tmp/empty_run"

[ $fails -eq 0 ] && echo "test_cli: all checks passed"
[ $fails -eq 0 ]
