/* spacehelp.h - a harness for search-space tests: opens a plugin directory and a backend, creates a
 * space with settings given as options, and runs forward / backward / SGD passes of child networks
 * through the engine's own tape, as the trainer does. */
#ifndef ENAS_TESTS_SPACEHELP_H
#define ENAS_TESTS_SPACEHELP_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"

struct sh;

/* Opens PLUGIN_DIR, initialises BACKEND (returns 77 if it is not registered), applies options
 * "name=value name=value" (e.g. "macro.num-layers=4 macro.out-filters=8"), creates the space
 * (fixed_arch may be NULL: the search supergraph). 0 on success; otherwise prints why and returns 1. */
int sh_open(struct sh **out, const char *plugin_dir, const char *backend, const char *space,
            const char *options, const int *fixed_arch, size_t fixed_len);
void sh_close(struct sh *s); /* accepts NULL */

const struct enas_space_desc *sh_desc(struct sh *s);
void *sh_state(struct sh *s);
struct enas_host *sh_host(struct sh *s);

/* Ints of an architecture: one per single choice, n_candidates per any-subset choice. */
size_t sh_arch_len(struct sh *s);
/* Uniform over each decision (each subset bit: 1/2). */
void sh_random_arch(struct sh *s, uint64_t seed, int *arch);

/* One pass on n images (NHWC 32x32x3) with labels. train: training mode, cross-entropy backward (plus
 * aux_weight times the aux head's, when the space returns one), gradients accumulate in the parameters,
 * and with lr > 0 an SGD step (momentum 0.9, Nesterov, gradient clip 5). Not train: inference mode, no
 * tape. 0 on success; fills loss (main head) and accuracy. */
int sh_pass(struct sh *s, const int *arch, const float *images, const int32_t *labels, int n, int train,
            double lr, double *loss, double *acc);
/* A training pass of s without an SGD step, its backward run at the activations of at's last pass: after
 * s's forward, every recorded op output is compared with the same call's output in at's pass and replaced
 * by it, so that both backwards see the same values (the same ReLU and max-pool branches, where rounding
 * alone can tip an input lying on a kink to either side). at's last pass must be a training pass of the same
 * architecture on the same images (same op calls in the same order), whose tape is still there: no pass of
 * at in between. *ad: the largest relative difference (2-norm) between the two passes' outputs and where.
 * The loss, accuracy and logits are at's then. 0 on success; otherwise prints why and returns 1. */
struct sh_adopted {
    double worst;      /* max over op calls of |mine - theirs| / |mine|; 0 when identical */
    size_t record;     /* the op call with the worst difference, in call order */
    const char *op;    /* its op's name */
    size_t n_records;  /* op calls recorded */
    size_t n_compared; /* outputs compared and replaced: those released (api->release) in neither pass */
};
/* Passes of s keep every op output after backward (the engine otherwise reuses that memory for gradients),
 * so that another sh can sh_pass_at them. */
void sh_keep_outputs(struct sh *s, int keep);
int sh_pass_at(struct sh *s, struct sh *at, const int *arch, const float *images, const int32_t *labels,
               int n, struct sh_adopted *ad, double *loss, double *acc);
/* Logits of the last pass (valid until the next). */
const struct enas_tensor *sh_logits(struct sh *s);
/* Every parameter, creation order. */
struct enas_param *const *sh_params(struct sh *s, size_t *n);

/* The first n CIFAR-10 training images from $ENAS_DATA, normalised NHWC floats (malloc'd) and labels;
 * 77 when ENAS_DATA does not hold CIFAR-10, 1 on another failure. */
int sh_cifar(int64_t n, float **images, int32_t **labels);

#endif
