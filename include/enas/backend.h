/* backend.h - a compute backend: a named provider of ops plus the context its ops share
 * (thread pool, oneDNN engine and stream). `--backend NAME` selects one for the whole run. */
#ifndef ENAS_BACKEND_H
#define ENAS_BACKEND_H

#include <stddef.h>

#include "enas/abi.h"
#include "enas/settings.h"
#include "enas/status.h"

struct enas_host;
struct enas_host_api;

struct enas_backend_args {
    const struct enas_host_api *api;
    struct enas_host *host;
    const struct enas_cfg *cfg; /* the backend's own section ([name] in the config), may be empty */
    int threads;                /* the `threads` setting resolved: >= 1 */
};

struct enas_backend_desc {
    ENAS_DESC_HEADER;
    const char *name;                    /* [a-z0-9_]+; the provider name of the ops it registers */
    const char *description;             /* one line for `enas plugins` */
    const struct enas_setting *settings; /* Optional: keys of its config section */
    size_t n_settings;
    /* Optional: makes the context that x->backend and op args->backend carry. */
    enum enas_status (*init)(const struct enas_backend_args *a, void **ctx, struct enas_err *err);
    void (*fini)(void *ctx); /* Optional; must accept NULL */
};

#endif
