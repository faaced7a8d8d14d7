/* param.h - trainable weights and persistent buffers, owned by the engine so that the optimizer,
 * gradient clipping and checkpoints see every one of them. */
#ifndef ENAS_PARAM_H
#define ENAS_PARAM_H

#include <stdint.h>

#include "enas/tensor.h"

enum enas_param_flags {
    ENAS_PARAM_BUFFER = 1u << 0,  /* persistent state, not trained (BN running mean/var); no grad */
    ENAS_PARAM_NO_DECAY = 1u << 1 /* trained without weight decay */
};

enum enas_init_kind {
    ENAS_INIT_ZERO,
    ENAS_INIT_ONE,
    ENAS_INIT_CONST,    /* every element = a */
    ENAS_INIT_UNIFORM,  /* U(-a, a) */
    ENAS_INIT_NORMAL,   /* N(0, a^2) */
    ENAS_INIT_HE_NORMAL /* truncated normal (within 2 sigma), sigma = sqrt(2 / fan_in) */
};

struct enas_init {
    enum enas_init_kind kind;
    double a;      /* CONST value, UNIFORM bound, NORMAL sigma */
    double fan_in; /* HE_NORMAL */
};

/* A parameter. The engine owns data and grad; the plain layout of each op's weights is documented by
 * that op (conv: O, kh, kw, I/groups). grad is NULL for buffers. The gradient is accumulated (+=)
 * by backward and zeroed by the optimizer step. */
struct enas_param {
    const char *name;         /* "<scope>.<name>", unique in the run, e.g. "cell3.node1.x.sep3.dw" */
    struct enas_tensor value; /* value.data: the weights */
    float *grad;
    unsigned flags; /* enas_param_flags */
    int used;       /* set by the engine when an op holding it ran in the current step */
};

#endif
