/* host.h - the engine instance that plugins talk to (struct enas_host, opaque to them) and the host
 * API table it hands to every plugin. Engine-private: plugins see only include/enas/plugin.h.
 * Invariant: plugins are closed only after every op instance and the registry are gone. */
#ifndef ENAS_ENGINE_HOST_H
#define ENAS_ENGINE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"
#include "plugin/loader.h" /* struct enas_plugin */
#include "plugin/registry.h"
#include "util/rng.h"

struct enas_config;

struct enas_host {
    const struct enas_host_api *api; /* the static table of host.c */
    struct enas_registry *reg;
    struct enas_config *config; /* borrowed; NULL until enas__host_set_config */
    enum enas_log_level log_level;
    struct enas_rng rng; /* initialisation stream (param_create, api->rng_u64) */

    struct enas_plugin *plugins; /* loaded (successfully initialised) plugins, load order */
    size_t n_plugins, cap_plugins;
    struct enas_plugin_failure *failures; /* files that failed to load, load order */
    size_t n_failures, cap_failures;
    int next_plugin_id; /* ids start at 1; 0 is the engine itself */

    /* The plugin whose enas_plugin_init runs: registrations are tagged with it. 0 / NULL otherwise. */
    int cur_plugin_id;
    const char *cur_path;
    /* First registration failure of the running init (the loader reports it even if init ignores it). */
    enum enas_status reg_status;
    struct enas_err reg_err;
    const char *log_origin; /* file whose code runs now (init or op create), for log prefixes */

    char *backend;     /* selected backend name, or NULL */
    void *backend_ctx; /* its context (from its init), handed to ops it provides; may be NULL */
    const struct enas_backend_desc *backend_desc; /* set by enas__host_init_backend; fini at destroy */

    struct enas_param **params; /* engine-owned parameters, creation order */
    size_t n_params, cap_params;
    size_t *param_hash;    /* open addressing over names: index + 1, 0 = empty */
    size_t param_hash_cap; /* power of two, or 0 */
    struct enas_op *ops;   /* live op instances, most recent first */
};

/* A plugin file that failed to load. The host keeps these (the load report is gone by then) so that
 * `enas plugins` and `enas --help` can say which file is missing and why. */
struct enas_plugin_failure {
    char *path;
    char *message;          /* "plugin 'PATH': why", as the loader reported it */
    size_t n_loaded_before; /* plugins loaded before it: its place among h->plugins */
};

/* An op instance (opaque to plugins): made by api->op_create, run by api->op_call (step.c). */
struct enas_op {
    struct enas_host *h;
    const struct enas_op_desc *desc;
    const char *owner; /* the providing plugin's path (registry-owned) */
    void *state;
    struct enas_cfg *attrs;
    void *backend;         /* the provider's backend context, or NULL */
    size_t p_first, p_end; /* params created while its create ran */
    struct enas_op *prev, *next;
};

/* Makes a host with an empty registry, log level from enas__log_get_level(), init stream seeded 0. */
enum enas_status enas__host_create(struct enas_host **out, struct enas_err *err);
/* Destroys leftover op instances, frees parameters and the registry, then closes plugins in reverse
 * load order. Accepts NULL. */
void enas__host_destroy(struct enas_host *h);

/* The static API table (the same for every host). */
const struct enas_host_api *enas__host_api(void);

void enas__host_set_config(struct enas_host *h, struct enas_config *c);        /* borrowed */
void enas__host_seed(struct enas_host *h, uint64_t seed);                      /* seeds the init stream */
void enas__host_set_log_level(struct enas_host *h, enum enas_log_level level); /* also the global one */

/* Selects the backend whose ops serve every op name it provides. Unknown name: ENAS_ERR_NOT_FOUND
 * listing the registered backends. */
enum enas_status enas__host_set_backend(struct enas_host *h, const char *name, struct enas_err *err);
const char *enas__host_backend(const struct enas_host *h); /* NULL when none is selected */
/* Selects the backend and runs its init with `threads` and its config section (may be NULL); its fini
 * runs in enas__host_destroy, after every op instance is gone. Once per host. */
enum enas_status enas__host_init_backend(struct enas_host *h, const char *name, int threads,
                                         const struct enas_cfg *cfg, struct enas_err *err);
void enas__host_set_backend_ctx(struct enas_host *h, void *ctx); /* borrowed */

/* Every parameter created so far, creation order; valid until the next param_create. */
struct enas_param *const *enas__host_params(const struct enas_host *h, size_t *n);
size_t enas__host_n_params(const struct enas_host *h);
/* Frees the parameters from index first on (a failed op create; a network built only to be read, whose
 * op instances are destroyed already). */
void enas__host_params_truncate(struct enas_host *h, size_t first);

/* Loader hooks: a fresh plugin id; the running init's identity; keeping a loaded plugin (takes path
 * and handle: on failure the caller still owns them). */
int enas__host_new_plugin_id(struct enas_host *h);
void enas__host_begin_init(struct enas_host *h, int plugin_id, const char *path);
void enas__host_end_init(struct enas_host *h);
enum enas_status enas__host_take_plugin(struct enas_host *h, int id, char *path, void *handle,
                                        struct enas_err *err);
/* Records a file that failed to load (copies path and message). Out of memory: not recorded,
 * ENAS_ERR_NOMEM (the load report still has it). */
enum enas_status enas__host_note_failure(struct enas_host *h, const char *path, const char *message);

#endif
