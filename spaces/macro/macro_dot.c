/* macro_dot.c - a macro architecture as a Graphviz DOT graph: the stem, one node per layer labelled with
 * its op, solid edges from the previous layer (the branch input), dashed edges for the skips, double
 * borders on the layers after which every tensor is reduced, and the head. Needs no built ops, so it
 * draws any valid architecture in either mode. */
#include "macro.h"

#include <stdio.h>

static const char *const op_names[MACRO_MAX_BRANCHES] = {"conv 3x3",     "sep conv 3x3", "conv 5x5",
                                                         "sep conv 5x5", "avg pool 3x3", "max pool 3x3"};

/* The writer and a line buffer. Lines are formatted by the EMIT macro rather than a varargs helper, so
 * that the format strings stay checked by -Wformat at every call. */
struct dot_out {
    enas_write_fn write;
    void *wctx;
    char line[256];
};

static enum enas_status put(struct dot_out *o, int n)
{
    if (n < 0)
        return ENAS_ERR_IO;
    size_t len = (size_t)n < sizeof o->line ? (size_t)n : sizeof o->line - 1;
    return o->write(o->wctx, o->line, len) == 0 ? ENAS_OK : ENAS_ERR_IO;
}

#define EMIT(st, o, ...)                                                                                     \
    do {                                                                                                     \
        if ((st) == ENAS_OK)                                                                                 \
            (st) = put((o), snprintf((o)->line, sizeof(o)->line, __VA_ARGS__));                              \
    } while (0)

/* The node name of list position j: the stem, or layer j - 1's output. */
static void node_name(int64_t j, char *buf, size_t size)
{
    if (j == 0)
        snprintf(buf, size, "stem");
    else
        snprintf(buf, size, "layer%lld", (long long)(j - 1));
}

static enum enas_status dot_layer(const struct macro *m, const int *arch, int64_t i, struct dot_out *o)
{
    const size_t p = macro_op_pos(i);
    const int op = arch[p], r = macro_nred(m, i);
    const int plain = m->fixed && !m->final_sep && (op == 1 || op == 3); /* TF final builds these as convs */
    int64_t hw = m->image.dims[1];
    for (int k = 0; k < r; k++)
        hw = (hw + 1) / 2; /* factorized reduction rounds up */
    const int reduces = macro_nred(m, i + 1) > r;
    char prev[32], from[32];
    enum enas_status st = ENAS_OK;
    EMIT(st, o, "  layer%lld [label=\"layer %lld: %s%s\\n%lldx%lldx%lld%s\"%s];\n", (long long)i,
         (long long)i, op_names[op], plain ? " (as conv)" : "", (long long)hw, (long long)hw,
         (long long)macro_width(m, r), reduces ? "\\nthen factorized reduce" : "",
         reduces ? " peripheries=2" : "");
    node_name(i, prev, sizeof prev);
    EMIT(st, o, "  %s -> layer%lld;\n", prev, (long long)i);
    for (int64_t j = 0; st == ENAS_OK && j < i; j++) {
        if (!arch[p + 1 + (size_t)j])
            continue;
        node_name(j, from, sizeof from);
        EMIT(st, o, "  %s -> layer%lld [style=dashed];\n", from, (long long)i);
    }
    return st;
}

enum enas_status macro_dot(void *state, const int *arch, size_t len, enas_write_fn write, void *wctx,
                           struct enas_err *err)
{
    const struct macro *m = state;
    enum enas_status st = macro_check_arch(m, arch, len, err);
    if (st != ENAS_OK)
        return st;
    struct dot_out o = {write, wctx, ""};
    char last[32];
    EMIT(st, &o,
         "digraph macro {\n  rankdir=TB;\n  node [shape=box style=rounded];\n"
         "  stem [label=\"stem: conv 3x3 + BN\\n%lldx%lldx%lld\"];\n",
         (long long)m->image.dims[1], (long long)m->image.dims[2], (long long)m->F);
    for (int64_t i = 0; st == ENAS_OK && i < m->L; i++)
        st = dot_layer(m, arch, i, &o);
    node_name(m->L, last, sizeof last);
    EMIT(st, &o,
         "  head [label=\"global avg pool\\ndropout (keep %g)\\nFC %lld -> %lld\" shape=ellipse];\n"
         "  %s -> head;\n}\n",
         m->keep_prob, (long long)macro_width(m, macro_nred(m, m->L)), (long long)m->n_classes, last);
    if (st != ENAS_OK)
        return enas_err_set(err, st, "macro: dot: the writer failed");
    return ENAS_OK;
}
