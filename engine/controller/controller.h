/* controller.h - the ENAS controller: a stacked LSTM that samples an architecture decision by decision
 * for any space (space.h's decisions and hints, in the space's sample order), scores a given one,
 * back-propagates the REINFORCE loss through time, and takes its own Adam steps. TF semantics (ENAS.md
 * §4.1-4.3) unless a comment says why. Not thread-safe: one controller per thread. */
#ifndef ENAS_ENGINE_CONTROLLER_H
#define ENAS_ENGINE_CONTROLLER_H

#include <stddef.h>
#include <stdint.h>

#include "enas/param.h"
#include "enas/space.h"
#include "enas/status.h"

#include "util/rng.h"

struct enas_ctrl_opts {
    int lstm_size, lstm_layers; /* 64, 1 */
    double tanh_constant;       /* c: logits -> c * tanh(logits); 0 = off */
    double temperature;         /* logits /= T before the tanh; 0 = off */
    double op_tanh_reduce;      /* decisions with tanh_reduce use c / this; 0 = 1 */
    double skip_target;         /* 0.4; must lie in (0, 1) when the space has ENAS_CHOICE_ANY decisions */
    /* The skip KL: on Bernoulli(sigma(q)) for a bit whose squashed logit is q, as TF's and NNI's code take it
     * (0), or on Bernoulli(sigma(2q)), the distribution the bit is sampled from (1, the paper's words); the
     * mean over ANY decisions (0, TF) or their sum (1, NNI). */
    int skip_kl_sampling, skip_kl_sum;
    uint64_t seed; /* parameter init U(-0.1, 0.1) */
};

struct enas_controller;

/* Reads the space's decisions and its sample_order (when its struct_size holds one) once and checks them:
 * the order is a permutation (the error names the space and the entry), equal candidate counts within an
 * OP group (the error names both labels), enough anchors for every INPUT decision when the decisions are
 * walked in sample order (the error names it). Sampling, scoring and backward walk the LSTM in sample
 * order; architectures are in decision order. The decisions and space_state are borrowed and must outlive
 * the controller. */
enum enas_status enas__controller_create(const struct enas_ctrl_opts *o, const struct enas_space_desc *space,
                                         void *space_state, struct enas_controller **out,
                                         struct enas_err *err);
void enas__controller_destroy(struct enas_controller *c); /* accepts NULL */

/* Ints in an architecture: one per ONE decision, n_candidates per ANY decision (space.h's encoding). */
size_t enas__controller_arch_len(const struct enas_controller *c);

struct enas_ctrl_sample {
    double log_prob;        /* sum over decisions of -log p(choice) (TF's sample_log_prob: a sum of CEs) */
    double entropy;         /* sum of the exact entropies of every sampled distribution (no gradient) */
    double entropy_sampled; /* sum over decisions (over bits for ANY) of CE * exp(-CE), CE = -log p(choice):
                             * TF macro's and NNI's sampled-action entropy term */
    double skip_penalty;    /* mean (or sum, skip_kl_sum) over ANY decisions of sum_j KL(Bernoulli(s_j) ||
                             * Bernoulli(skip_target)), s_j per skip_kl_sampling */
    double skip_rate;       /* fraction of ANY-decision bits that are 1; 0 if none */
};

/* Samples an architecture into arch (enas__controller_arch_len ints) with rng, keeping what backward needs.
 * ENAS_ERR_NUMERIC when the parameters are not finite. */
enum enas_status enas__controller_sample(struct enas_controller *c, struct enas_rng *rng, int *arch,
                                         struct enas_ctrl_sample *out, struct enas_err *err);
/* Teacher-forced: the same quantities for a given arch; keeps what backward needs too. A value out of its
 * decision's range is ENAS_ERR_INVALID_ARG naming the decision and the position. */
enum enas_status enas__controller_score(struct enas_controller *c, const int *arch,
                                        struct enas_ctrl_sample *out, struct enas_err *err);
/* Accumulates into the parameter gradients the gradient of  w_lp * log_prob + w_skip * skip_penalty  for
 * the last sampled/scored arch (REINFORCE: w_lp = (R - b) / aggregate, w_skip = skip_weight / aggregate).
 * May be called more than once per sample (the gradients add up). */
enum enas_status enas__controller_backward(struct enas_controller *c, double w_lp, double w_skip,
                                           struct enas_err *err);
/* Adam (Kingma & Ba, Algorithm 1: eps is added to sqrt(v_hat), as in PyTorch) after clipping the
 * gradients' global L2 norm to clip (0 = no clip); zeroes the gradients. *norm (may be NULL) gets the
 * norm before clipping. A non-finite norm is ENAS_ERR_NUMERIC: nothing is updated, the gradients are
 * zeroed. */
enum enas_status enas__controller_step(struct enas_controller *c, double lr, double beta1, double beta2,
                                       double eps, double clip, double *norm, struct enas_err *err);
void enas__controller_zero_grad(struct enas_controller *c);
/* L2 norm of all gradients (logging, clipping by the caller). */
double enas__controller_grad_norm(const struct enas_controller *c);

/* Every parameter, in a fixed order: "ctrl.lstm<l>.w" ((2h) x 4h, gates i, f, o, g), "ctrl.g_emb" (1 x h),
 * per OP group g: "ctrl.w_soft.g<g>" (h x K), "ctrl.b_soft.g<g>" (K; only where the group has
 * bias_init), "ctrl.w_emb.g<g>" (K x h); then, when the space has INPUT decisions, "ctrl.attn1",
 * "ctrl.attn2" (h x h) and "ctrl.v" (h x 1). Values may be written between calls (checkpoints, tests). */
struct enas_param *const *enas__controller_params(struct enas_controller *c, size_t *n);
/* The parameter whose name is name, or NULL. */
struct enas_param *enas__controller_param(struct enas_controller *c, const char *name);
/* Adam state of parameter i (numel floats each) and the step count, for checkpoints. */
float *enas__controller_adam_m(struct enas_controller *c, size_t i);
float *enas__controller_adam_v(struct enas_controller *c, size_t i);
int64_t *enas__controller_adam_t(struct enas_controller *c);

#endif
