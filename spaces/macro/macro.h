/* macro.h - private to the macro space plugin: its state, the op sequences a layer runs, and the helpers
 * its files share (build, run, dot). Everything here has hidden visibility.
 * Invariant: an architecture is L + L(L-1)/2 ints, layer i's op at i(i+1)/2 followed by its i skip bits. */
#ifndef ENAS_SPACE_MACRO_H
#define ENAS_SPACE_MACRO_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"

#define MACRO_MAX_BRANCHES 6
#define MACRO_SEQ_MAX      8 /* ops in one straight chain (a branch, a join's tail, an FR) */
#define MACRO_JOIN_MAX     8 /* inputs per sum/concat call: longer joins are chained (L = 24 has 24 inputs) */
#define MACRO_LABEL_SIZE   32 /* "InputChoice" + any size_t */

/* One op of a chain: the op and what its output looks like relative to its input. */
struct macro_step {
    struct enas_op *op;
    int64_t c; /* output channels; 0: as the input */
    int halve; /* 1: output H and W are ceil(input / 2) (factorized reduction) */
};

struct macro_seq {
    struct macro_step s[MACRO_SEQ_MAX];
    int n;
};

struct macro_layer {
    struct macro_seq br[MACRO_MAX_BRANCHES]; /* search: every branch; fixed: only the chosen one */
    struct macro_seq post;                   /* after the join: search [BN], fixed [ReLU, 1x1 conv, BN] */
};

struct macro {
    const struct enas_host_api *api;
    struct enas_host *host;
    int64_t L, F, nb, n_classes;
    double keep_prob;
    int fixed;          /* 1: a fixed architecture (final mode), 0: the search supergraph */
    int double_filters; /* fixed mode: filters double at each reduction */
    int final_sep;      /* fixed mode: ops 1/3 are separable (else ordinary convs, as TF) */
    /* search mode, NNI's GeneralNetwork (ENAS.md 2.5): BNs without gamma/beta in the layers and reductions,
     * one after each pool and after layer 0 too (bn_placement = nni); one FR per reduction point applied
     * to every list tensor (shared_reduce) */
    int bn_nni, shared_fr;
    int conv_bias, fc_bias; /* biases on the branches' ordinary k x k convs and on the classifier */
    int ctrl_nni;           /* decisions hinted for NNI's ReinforceController (controller_style = nni) */
    int *arch;              /* fixed mode: the architecture built */
    size_t arch_len;
    int64_t pool_at[2];       /* layers after which every tensor is reduced */
    int n_red;                /* 0 (L < 3) or 2 */
    struct enas_tensor image; /* one image's shape (N = 1), for info() */

    struct enas_op *sum, *concat, *avg_pool, *max_pool, *gap, *dropout, *fc;
    struct macro_seq stem;
    struct macro_layer *layers; /* L */
    struct macro_seq *fr;       /* n_red x (L + 1): reduction r of list position j */

    struct enas_decision *dec; /* 2L - 1 decisions */
    char *labels;              /* their labels, MACRO_LABEL_SIZE each */
    const char **cand;         /* "layer_0" .. "layer_{L-1}" */
    char *cand_text;

    struct enas_op **ops; /* every op instance this space created, for destroy and counts */
    size_t n_ops, cap_ops;

    /* Per-pass working memory (one pass at a time per instance). */
    struct enas_tensor **cur;   /* L + 1: list position j at its current reduction level */
    int *level;                 /* L + 1: reductions applied to cur[j] */
    struct enas_tensor **list;  /* L + 1: inputs of one join */
    struct enas_tensor *shapes; /* info(): shape-only tensors */
    size_t n_shapes, cap_shapes;
};

/* Position of layer i's op in an architecture; its skip bits follow. */
static inline size_t macro_op_pos(int64_t i)
{
    return (size_t)(i * (i + 1) / 2);
}

/* Ints in an architecture of L layers. */
static inline size_t macro_arch_len(int64_t L)
{
    return (size_t)(L * (L + 1) / 2);
}

/* Reductions that happen before layer i runs (i = L: before the head). */
int macro_nred(const struct macro *m, int64_t i);
/* Channels of every tensor in the list after r reductions. */
int64_t macro_width(const struct macro *m, int r);
/* Checks length, op range and bits; the error names the layer and position at fault. */
enum enas_status macro_check_arch(const struct macro *m, const int *arch, size_t len, struct enas_err *err);
/* used[r * (L + 1) + j] = 1 when reduction r of list position j feeds something in arch. */
void macro_fr_plan(const struct macro *m, const int *arch, unsigned char *used);

/* macro_build.c: creates every op of the search supergraph, or only those of m->arch. */
enum enas_status macro_build(struct macro *m, struct enas_err *err);

/* macro_run.c: runs the network (x != NULL) or, with x == NULL, adds up the multiply-adds and weights of
 * one image's pass through the ops arch uses. */
enum enas_status macro_run(struct macro *m, struct enas_exec *x, const int *arch,
                           const struct enas_tensor *images, struct enas_tensor **logits, double *madds,
                           int64_t *params, struct enas_err *err);

/* macro_dot.c */
enum enas_status macro_dot(void *state, const int *arch, size_t len, enas_write_fn write, void *wctx,
                           struct enas_err *err);

#endif
