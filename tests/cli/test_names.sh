#!/bin/sh
# test_names.sh OBJECT... - engine/README.md's naming rule, on the compiled engine: every function or
# variable an engine file exports is enas__<module>_..., its module being the file's name, the part of it
# before the first '_' (run_open.c is module run), or its folder (controller/controller_fwd.c:
# enas__controller_). Each object's path below .../enas_core.dir/ gives its folder and file.
bad=0
for o in "$@"; do
    rel=${o##*/enas_core.dir/}
    rel=${rel%.c.o}
    file=${rel##*/}
    dir=${rel%/*}
    [ "$dir" = "$rel" ] && dir=$file
    stem=${file%%_*}
    syms=$(nm --defined-only "$o") || { echo "FAIL: nm $o" >&2; exit 1; }
    for s in $(printf '%s\n' "$syms" | awk '$2 ~ /^[TDBRG]$/ {print $3}'); do
        case $s in
        __*) ;; # the compiler's and the sanitizers' own (__odr_asan.*)
        "enas__$file" | "enas__${file}_"* | "enas__${stem}_"* | "enas__${dir}_"*) ;;
        *)
            echo "FAIL: engine/$rel.c exports '$s': name it enas__${file}_... (or move it to the file its name points to)" >&2
            bad=1
            ;;
        esac
    done
done
[ $# -gt 0 ] || { echo "FAIL: no objects given" >&2; exit 1; }
[ $bad -eq 0 ] && echo "ok: the exports of $# engine files are named after their homes"
exit $bad
