#!/bin/sh
# check_exports.sh DIR - every *.so in DIR must export (define, dynamically) only enas_plugin_init.
# Version nodes (ENAS_ABI_1) and the linker's _init/_fini/_edata/_end/__bss_start are ignored.
# Prints each offender as "FILE: SYMBOL"; exits 1 if there is any, 0 otherwise (also for no plugins).
set -u
dir=${1:?usage: check_exports.sh DIR}
if [ ! -d "$dir" ]; then
    echo "check_exports: $dir does not exist; nothing to check"
    exit 0
fi
bad=0
n=0
for so in "$dir"/*.so; do
    [ -f "$so" ] || continue
    n=$((n + 1))
    if ! syms=$(nm -D --defined-only "$so" 2>&1); then
        echo "$so: nm failed: $syms"
        bad=1
        continue
    fi
    found=0
    for s in $(printf '%s\n' "$syms" | awk 'NF >= 2 { print $NF }' | sed 's/@.*//'); do
        case $s in
        enas_plugin_init) found=1 ;;
        ENAS_ABI_* | _init | _fini | _edata | _end | __bss_start) ;;
        *)
            echo "$so: exports $s"
            bad=1
            ;;
        esac
    done
    if [ "$found" = 0 ]; then
        echo "$so: does not export enas_plugin_init"
        bad=1
    fi
done
echo "check_exports: $n plugin(s) in $dir, $( [ $bad = 0 ] && echo ok || echo FAILED )"
exit $bad
