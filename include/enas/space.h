/* space.h - contract for a search space: its decisions (which a generic controller samples), its
 * shared weights, and the child network it runs for an architecture.
 *
 * Architecture encoding (the engine's, and the TF integer string of both ENAS spaces): one int per
 * ENAS_CHOICE_ONE decision (the candidate index), and n_candidates ints (0/1) per ENAS_CHOICE_ANY
 * decision, in decision order. */
#ifndef ENAS_SPACE_H
#define ENAS_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "enas/abi.h"
#include "enas/exec.h"
#include "enas/settings.h"
#include "enas/status.h"
#include "enas/tensor.h"

struct enas_host;
struct enas_host_api;

enum enas_choice_kind {
    ENAS_CHOICE_ONE, /* exactly one of K candidates */
    ENAS_CHOICE_ANY  /* any subset of K candidates (independent yes/no per candidate) */
};

/* Where the controller's anchors (the LSTM states that input choices attend over) come from. */
enum enas_anchor {
    ENAS_ANCHOR_NONE,  /* this decision makes no anchor */
    ENAS_ANCHOR_QUERY, /* the LSTM output this decision was sampled from becomes the next anchor (TF macro) */
    ENAS_ANCHOR_STEP   /* after sampling, one more LSTM step on the new input; its output becomes the next
                          anchor and the next input is g_emb (TF micro: the end of a node) */
};

enum enas_choice_role {
    ENAS_ROLE_OP,   /* candidates are operations: the controller uses a softmax and an embedding */
    ENAS_ROLE_INPUT /* candidates are earlier outputs: the controller attends over its anchors */
};

/* One decision, in architecture order. A controller makes them in the same order unless the space gives
 * a sample_order; the hints below then apply where the decision falls in that order. Static or owned by
 * the space state. */
struct enas_decision {
    const char *label; /* unique; the NNI key: "LayerChoice1", "normal_node_0_x_op" */
    enum enas_choice_kind kind;
    enum enas_choice_role role;
    unsigned n_candidates;              /* >= 1 */
    const char *const *candidate_names; /* Optional: NNI-v1 names of candidates ("layer_0"); NULL: index */
    unsigned group;          /* OP decisions of one group share the controller's softmax/embedding */
    int tanh_reduce;         /* 1: the controller divides tanh_constant by op_tanh_reduce here */
    const float *logit_bias; /* Optional, n_candidates values added to the logits (TF micro) */
    /* Controller hints. Zero values: no anchor bookkeeping, which suits spaces without input choices.
     * ENAS_ROLE_INPUT candidate j is anchor j of the current anchor list. */
    int new_scope;           /* 1: the controller starts a new anchor list before this decision */
    unsigned warmup_anchors; /* with new_scope: anchors made by that many LSTM steps on g_emb; their
                                attention keys come from those steps, their embeddings are zero (TF micro) */
    enum enas_anchor anchor;
    const float *bias_init; /* Optional, n_candidates: the group's learnable logit bias starts here */
};

struct enas_space_args {
    const struct enas_host_api *api;
    struct enas_host *host;
    const struct enas_cfg *cfg; /* the space's own section */
    int64_t image_h, image_w, image_c, n_classes;
    const int *fixed_arch; /* NULL: the search supergraph; else build only this architecture
                              (final training), of length fixed_arch_len */
    size_t fixed_arch_len;
};

struct enas_child_out {
    struct enas_tensor *logits;     /* N x n_classes, from api->op_call (so it is on the tape) */
    struct enas_tensor *aux_logits; /* Optional: NULL when the space has no aux head in this mode */
    double aux_weight;              /* weight of the aux loss */
};

/* What rewards and reports know about a child. */
struct enas_child_info {
    int64_t child_params;      /* weights the architecture uses (buffers excluded) */
    int64_t supergraph_params; /* all shared weights of the space */
    double child_madds;        /* multiply-adds of one forward pass of one image */
};

/* Writes len bytes of text; returns 0 on success. */
typedef int (*enas_write_fn)(void *ctx, const char *text, size_t len);

struct enas_space_desc {
    ENAS_DESC_HEADER;
    const char *name;                    /* [a-z0-9_]+: "macro", "micro" */
    const char *description;             /* one line for `enas plugins` */
    const struct enas_setting *settings; /* Optional: keys of its config section (named after it) */
    size_t n_settings;
    unsigned default_epochs; /* num_epochs when the setting is 0 */

    /* Builds the supergraph (or the fixed network): op instances and their shared weights. */
    enum enas_status (*create)(const struct enas_space_args *a, void **state, struct enas_err *err);
    size_t (*n_decisions)(void *state);
    const struct enas_decision *(*decision)(void *state, size_t i);
    /* Optional: rules beyond each decision's range; the error names the position at fault. */
    enum enas_status (*validate)(void *state, const int *arch, size_t len, struct enas_err *err);
    /* Runs the child network for arch on images (N x H x W x C) through api->op_call. */
    enum enas_status (*forward)(void *state, struct enas_exec *x, const int *arch, size_t len,
                                const struct enas_tensor *images, struct enas_child_out *out,
                                struct enas_err *err);
    enum enas_status (*info)(void *state, const int *arch, size_t len, struct enas_child_info *out,
                             struct enas_err *err);
    /* Optional: the architecture as a Graphviz DOT graph. */
    enum enas_status (*dot)(void *state, const int *arch, size_t len, enas_write_fn write, void *wctx,
                            struct enas_err *err);
    void (*destroy)(void *state); /* must accept NULL */

    /* ABI 1.2 (a descriptor whose struct_size ends before it reads as NULL). Optional: the order in which a
     * controller samples the decisions and feeds each choice back into its LSTM. Fills order[0 ..
     * n_decisions) with a permutation of 0 .. n_decisions - 1: the s-th decision sampled is order[s]. The
     * controller hints are read in this order: new_scope opens a scope before the decision, its anchor is
     * made after it, and an INPUT decision attends over the anchors made before it in this order.
     * Architectures (arch, validate, forward, info, dot, the TF and NNI formats) stay in decision order.
     * NULL: decision order. The engine refuses anything but a permutation. TF micro: per node x_input,
     * y_input, x_op, y_op; its integer string is x_input, x_op, y_input, y_op. */
    void (*sample_order)(void *state, size_t *order);
};

#endif
