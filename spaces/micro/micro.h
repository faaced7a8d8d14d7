/* micro.h - private to the micro space plugin (ENAS.md §3): the candidate-op vocabulary, the network's
 * op instances (search supergraph or one fixed architecture), and the walker that runs or counts it.
 * Invariant: every op instance the state creates is listed in mc_state.all, which destroy releases. */
#ifndef ENAS_MICRO_H
#define ENAS_MICRO_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"

/* Limits: the cell output joins at most MC_MAX_NODES + 2 tensors, and the ref sum/concat take 16. */
#define MC_MAX_NODES 14
#define MC_MAX_OPS   16
#define MC_NAME      48
#define MC_ATTRS     160

/* How a candidate is built from engine ops. */
enum mc_kind {
    MC_SEP,      /* sep_conv_KxK: [ReLU, sep_conv K, BN] x sep_conv_stack (TF stacks two, NNI one) */
    MC_CONV,     /* conv_KxK: ReLU, conv K, BN */
    MC_AVG,      /* avg_pool_KxK: stride 1 (2 at reduction inputs), SAME, padding excluded */
    MC_MAX,      /* max_pool_KxK */
    MC_IDENTITY, /* identity: the tensor itself (factorized reduce at reduction inputs) */
    MC_EXTERN    /* any registered op: one F-channel input, output of the same shape */
};

struct mc_cand_def {
    enum mc_kind kind;
    int k;                /* kernel of SEP, CONV and the pools */
    char name[MC_NAME];   /* the token as written (without its attributes), for dot and messages */
    char op[MC_NAME];     /* MC_EXTERN: the registered op name */
    char attrs[MC_ATTRS]; /* MC_EXTERN: attributes from "name(k=v,k=v)", space-separated */
};

/* An op and the BN after it. conv: whatever precedes the BN, a (sep) conv, a 1x1 conv or a factorized
 * reduction (FR); both NULL where the place needs none. */
struct mc_conv_bn {
    struct enas_op *conv;
    struct enas_op *bn;
};

/* The instances of one candidate at one place; pools use mc_state.pool. */
struct mc_cand {
    struct mc_conv_bn pre;  /* SEP: 1st sep conv, BN; CONV: conv, BN; IDENTITY, EXTERN at stride 2: FR, BN */
    struct mc_conv_bn post; /* SEP: 2nd sep conv, BN */
    struct enas_op *ext;    /* EXTERN: the registered op */
};

/* The aux head (ENAS.md §3.1); its ReLUs and GAP are the shared instances. */
struct mc_aux {
    struct enas_op *pool;   /* avg pool 5x5 stride 3, VALID */
    struct mc_conv_bn proj; /* 1x1 conv to 128, BN */
    struct mc_conv_bn conv; /* conv over the whole map (VALID, mc_state.aux_k) to 768, BN */
    struct enas_op *linear; /* 768 -> classes, no bias */
};

struct mc_cell {
    int reduce;               /* a reduction cell: reads the reduce half of the architecture */
    int64_t f;                /* F of this cell */
    int64_t c0, c1;           /* channels of its two inputs (after the search-mode x_red) */
    int h0_half;              /* input 0 is twice as large: calibrated by ReLU, FR, BN */
    struct mc_conv_bn cal[2]; /* per input: 1x1 conv or FR, then BN; NULL when not needed */
    struct mc_conv_bn xred;   /* search reduction: FR, BN of the previous cell's output (TF), or of input 1
                                 (NNI) */
    struct mc_conv_bn xred0;  /* search reduction, NNI: FR, BN of input 0 */
    struct mc_conv_bn base;   /* final: "layer_base" 1x1 conv, BN on input 1 */
    /* [node][x/y]: search: n_inputs * n_ops candidates, indexed [input][op] (n_ops, [op], with shared_ops);
     * final: the chosen one */
    struct mc_cand *slot[MC_MAX_NODES][2];
    struct enas_op *out_conv[MC_MAX_NODES + 2]; /* search: one 1x1 F->F per node index */
    struct enas_op *out_bn;                     /* search */
    struct mc_conv_bn out_fr[2];                /* final reduction, per input: FR, BN of an unused one */
    int64_t out_c;                              /* channels of the cell output */
    int64_t size_in;                            /* spatial size of input 1 (after x_red) */
};

struct mc_state {
    const struct enas_host_api *api;
    struct enas_host *host;
    /* settings */
    int64_t L, F, nodes;
    double keep_prob, aux_weight, dp_keep;
    int64_t dp_steps;
    int aux, search_bs;
    int sep_stack;  /* ReLU-sep_conv-BN units per sep_conv_KxK: 2 (TF) or 1 (NNI's SepConvBN) */
    int shared_ops; /* search: a slot's candidates have one weight set for every input (NNI), not one each */
    int nni_reduce; /* search: a reduction cell runs on FR(h0), FR(h1) (NNI's ReductionLayer) */
    int cal_post;   /* 1x1 calibration as conv-BN-ReLU (NNI's StdConv), not ReLU-conv-BN (TF) */
    int bn_affine;  /* BNs of calibrations, reductions and the search cell output learn gamma and beta */
    int fc_bias;    /* the classifier has a bias (NNI's nn.Linear) */
    int ctrl_nni;   /* decisions hinted for NNI's ReinforceController */
    int64_t img_h, img_w, img_c, classes;
    struct mc_cand_def defs[MC_MAX_OPS];
    unsigned n_ops;
    int *fixed; /* the fixed architecture (final mode), or NULL: search */
    size_t n_dec;
    struct enas_decision *dec;
    char (*labels)[40];
    float *bias;      /* n_ops logit biases of the normal cell's op decisions */
    float *bias_init; /* n_ops initial values of the controller's learnable op-logit bias (TF b_soft) */
    /* network */
    int64_t n_cells, aux_cell, aux_k;
    struct mc_cell *cells;
    struct mc_conv_bn stem; /* 3x3 conv to 3F, BN */
    struct enas_op *relu, *sum, *concat, *gap, *dropout, *fc, *drop_path;
    struct enas_op *pool[MC_MAX_OPS][2]; /* per pool candidate, stride 1 and 2 (weightless, shared) */
    struct mc_aux auxh;                  /* the aux head's ops, when aux is set */
    int64_t train_steps;                 /* training passes so far: the drop-path schedule's step */
    struct enas_op **all;
    size_t n_all, cap_all;
};

/* micro_ops.c: the candidate list setting, and creating engine ops. */
enum enas_status mc_parse_ops(struct mc_state *m, const char *text, struct enas_err *err);
/* api->op_create of name with printf-formatted attrs; scope is used as given; the op joins m->all. */
enum enas_status mc_op(struct mc_state *m, struct enas_op **out, const char *name, const char *scope,
                       struct enas_err *err, const char *fmt, ...) ENAS_PRINTF(6, 7);
/* factorized_reduce (cin -> f) then batch_norm (affine: with gamma and beta): TF's _factorized_reduction;
 * scope gets ".fr", ".fr_bn". */
enum enas_status mc_fr_bn(struct mc_state *m, int64_t cin, int64_t f, int affine, const char *scope,
                          struct mc_conv_bn *out, struct enas_err *err);
/* The instances of candidate k with F channels at stride 1 or 2; scope names the place. */
enum enas_status mc_cand_create(struct mc_state *m, unsigned k, int64_t f, int stride, const char *scope,
                                struct mc_cand *c, struct enas_err *err);

/* micro_build.c: the network's op instances. */
enum enas_status mc_build(struct mc_state *m, struct enas_err *err);
/* The arc of cell id: the normal or reduce half of arch. */
const int *mc_arc(const struct mc_state *m, const int *arch, int reduce);

/* micro_walk.c: run or count a child network. */
enum enas_status mc_forward(void *state, struct enas_exec *x, const int *arch, size_t len,
                            const struct enas_tensor *images, struct enas_child_out *out,
                            struct enas_err *err);
enum enas_status mc_info(void *state, const int *arch, size_t len, struct enas_child_info *out,
                         struct enas_err *err);
/* Range checks of every position (the error names it), and the fixed architecture in final mode. */
enum enas_status mc_validate(void *state, const int *arch, size_t len, struct enas_err *err);

/* micro_dot.c */
enum enas_status mc_dot(void *state, const int *arch, size_t len, enas_write_fn write, void *wctx,
                        struct enas_err *err);

#endif
