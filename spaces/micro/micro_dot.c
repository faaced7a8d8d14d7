/* micro_dot.c - an architecture as a Graphviz DOT graph: the normal and the reduction cell as two
 * clusters, with the cell inputs h0 (previous-previous) and h1 (previous), the computed nodes and the
 * output (the concatenation of the nodes that no other node reads); edges carry the candidate names. */
#include "micro.h"

#include <stdarg.h>
#include <stdio.h>

struct dot_out {
    enas_write_fn write;
    void *ctx;
    int failed;
};

static ENAS_PRINTF(2, 3) void emit(struct dot_out *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (o->failed || n < 0)
        return;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    o->failed = o->write(o->ctx, buf, len) != 0;
}

static void cell(struct dot_out *o, const struct mc_state *m, const int *arc, const char *kind)
{
    int used[MC_MAX_NODES + 2] = {0};
    emit(o, "  subgraph cluster_%s {\n    label=\"%s cell\";\n", kind, kind);
    emit(o, "    %s_h0 [label=\"h0 (prev-prev)\", shape=box];\n", kind);
    emit(o, "    %s_h1 [label=\"h1 (prev)\", shape=box];\n", kind);
    for (int n = 0; n < m->nodes; n++)
        emit(o, "    %s_n%d [label=\"node %d\"];\n", kind, n, n);
    emit(o, "    %s_out [label=\"output (concat)\", shape=box];\n", kind);
    for (int n = 0; n < m->nodes; n++)
        for (int j = 0; j < 2; j++) {
            int in = arc[4 * n + 2 * j];
            used[in] = 1;
            if (in < 2)
                emit(o, "    %s_h%d -> %s_n%d [label=\"%s\"];\n", kind, in, kind, n,
                     m->defs[arc[4 * n + 2 * j + 1]].name);
            else
                emit(o, "    %s_n%d -> %s_n%d [label=\"%s\"];\n", kind, in - 2, kind, n,
                     m->defs[arc[4 * n + 2 * j + 1]].name);
        }
    for (int i = 0; i < m->nodes + 2; i++)
        if (!used[i]) {
            if (i < 2)
                emit(o, "    %s_h%d -> %s_out;\n", kind, i, kind);
            else
                emit(o, "    %s_n%d -> %s_out;\n", kind, i - 2, kind);
        }
    emit(o, "  }\n");
}

enum enas_status mc_dot(void *state, const int *arch, size_t len, enas_write_fn write, void *wctx,
                        struct enas_err *err)
{
    const struct mc_state *m = state;
    enum enas_status st = mc_validate(state, arch, len, err);
    if (st != ENAS_OK)
        return st;
    if (!arch)
        arch = m->fixed;
    struct dot_out o = {write, wctx, 0};
    emit(&o, "digraph micro {\n  rankdir=TB;\n");
    cell(&o, m, mc_arc(m, arch, 0), "normal");
    cell(&o, m, mc_arc(m, arch, 1), "reduce");
    emit(&o, "}\n");
    return o.failed ? enas_err_set(err, ENAS_ERR_IO, "micro: dot: the writer failed") : ENAS_OK;
}
