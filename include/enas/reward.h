/* reward.h - contract for the controller's reward: (logits, labels, child info) -> scalar. */
#ifndef ENAS_REWARD_H
#define ENAS_REWARD_H

#include <stddef.h>
#include <stdint.h>

#include "enas/abi.h"
#include "enas/loss.h" /* struct enas_create_args */
#include "enas/settings.h"
#include "enas/space.h" /* struct enas_child_info */
#include "enas/status.h"
#include "enas/tensor.h"

struct enas_reward_desc {
    ENAS_DESC_HEADER;
    const char *name; /* "accuracy" */
    const char *description;
    const struct enas_setting *settings; /* Optional */
    size_t n_settings;
    /* Optional: NULL means the reward keeps no state and compute gets state == NULL. */
    enum enas_status (*create)(const struct enas_create_args *a, void **state, struct enas_err *err);
    /* logits: N x K of the child on one validation minibatch; must set a finite *reward. */
    enum enas_status (*compute)(void *state, const struct enas_tensor *logits, const int32_t *labels,
                                const struct enas_child_info *info, double *reward, struct enas_err *err);
    void (*destroy)(void *state); /* Optional; must accept NULL */
};

#endif
