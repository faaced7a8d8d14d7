/* loss.h - contract for a training loss: (logits, labels) -> value and gradient. */
#ifndef ENAS_LOSS_H
#define ENAS_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "enas/abi.h"
#include "enas/settings.h"
#include "enas/status.h"
#include "enas/tensor.h"

struct enas_host;
struct enas_host_api;

/* What the create function of a loss or reward gets. Borrowed for the call. */
struct enas_create_args {
    const struct enas_host_api *api;
    struct enas_host *host;
    const struct enas_cfg *cfg; /* the plugin's own section, named after the registered name */
};

struct enas_loss_result {
    double loss;     /* mean over the batch */
    double accuracy; /* top-1 fraction correct, in [0, 1] */
};

struct enas_loss_desc {
    ENAS_DESC_HEADER;
    const char *name; /* "cross_entropy" */
    const char *description;
    const struct enas_setting *settings; /* Optional */
    size_t n_settings;
    /* Optional: NULL means the loss keeps no state and compute gets state == NULL. */
    enum enas_status (*create)(const struct enas_create_args *a, void **state, struct enas_err *err);
    /* logits: N x K; labels: N values in [0, K). dlogits (Optional, N x K): OVERWRITE with the
     * gradient of out->loss (the batch mean). A label out of range is an error naming the row. */
    enum enas_status (*compute)(void *state, const struct enas_tensor *logits, const int32_t *labels,
                                struct enas_tensor *dlogits, struct enas_loss_result *out,
                                struct enas_err *err);
    void (*destroy)(void *state); /* Optional; must accept NULL */
};

#endif
