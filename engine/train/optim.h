/* optim.h - the shared-weight optimizer: SGD with momentum (optionally Nesterov) and weight decay,
 * global-norm gradient clipping, and the cosine learning-rate schedule with warm restarts. */
#ifndef ENAS_ENGINE_OPTIM_H
#define ENAS_ENGINE_OPTIM_H

#include <stddef.h>

#include "enas/plugin.h"

struct enas_sgd_opts {
    double momentum; /* 0 = plain SGD */
    int nesterov;
    double weight_decay; /* added to the gradient: g + wd * w (PyTorch's weight_decay) */
};

struct enas_sgd;

enum enas_status enas__optim_sgd_create(const struct enas_sgd_opts *o, struct enas_sgd **out,
                                        struct enas_err *err);
void enas__optim_sgd_destroy(struct enas_sgd *s); /* accepts NULL */

/* One update of every trainable parameter, then zeroes their gradients and clears every `used` flag. A
 * weight the sampled child did not use has a zero gradient and still decays and moves with its momentum,
 * as in the references: TF adds l2 * sum(w^2) over every child variable and its momentum optimizer moves
 * every variable every step; PyTorch's SGD (NNI) does so for every weight that has had a gradient once.
 * (Skipping them scaled the effective decay by how often a weight is sampled and replayed stale momentum
 * on its next use.) ENAS_ERR_NUMERIC, naming the parameter and index, when a weight or momentum, or a
 * statistic buffer the step's forward updated (`used`), is not finite afterwards (every parameter is
 * still updated). */
enum enas_status enas__optim_sgd_step(struct enas_sgd *s, struct enas_param *const *params, size_t n,
                                      double lr, struct enas_err *err);

/* The momentum buffer of parameter i, or NULL before its first update (checkpoints). */
float *enas__optim_sgd_buffer(struct enas_sgd *s, size_t i, size_t numel);

/* The index of the first NaN or infinity among v[0..n), or -1. */
int64_t enas__optim_first_nonfinite(const float *v, int64_t n);

/* L2 norm of the gradients of the used trainable parameters. */
double enas__optim_grad_norm(struct enas_param *const *params, size_t n);
/* Scales those gradients so that their global norm is at most max_norm (0 = no clipping); returns
 * the norm before clipping. */
double enas__optim_grad_clip(struct enas_param *const *params, size_t n, double max_norm);

/* Zeroes every gradient and clears every `used` flag. */
void enas__optim_grad_zero(struct enas_param *const *params, size_t n);

/* Cosine with warm restarts (TF's child_lr_cosine, constant within an epoch): the first cycle lasts
 * t0 epochs, each next one tmul times longer; lr = min + (max - min)(1 + cos(pi * t / T)) / 2. */
double enas__optim_lr_cosine(int epoch, double lr_max, double lr_min, int t0, int tmul);

#endif
