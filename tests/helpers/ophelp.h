/* ophelp.h - a small fake engine for op tests: dlopens a plugin .so, calls its enas_plugin_init with a
 * host API table of its own (parameters malloc'd, attributes through enas__cfg_from_string), runs op
 * forward/backward with a deterministic exec context, and checks gradients by central differences.
 * Not thread-safe. oh_load fills a default plugin; oh_plugin_load loads more (each a fake host of its
 * own, with its backend initialised), so that two providers can run side by side. */
#ifndef ENAS_TESTS_OPHELP_H
#define ENAS_TESTS_OPHELP_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"

#define OH_MAX_PARAMS 8

/* Loads the plugin at path and runs its init (and its backend's, with 1 thread) into the default
 * plugin; 0 on success, else prints why and returns -1. */
int oh_load(const char *path);
void oh_unload(void);
/* A further plugin with its own fake host; its backend (if it registered one with an init) is
 * initialised with `threads`. NULL (and a message on stderr) on failure. */
struct enas_host *oh_plugin_load(const char *path, int threads);
void oh_plugin_unload(struct enas_host *p);
const struct enas_op_desc *oh_plugin_find(struct enas_host *p, const char *name);
const struct enas_backend_desc *oh_plugin_backend(struct enas_host *p);
/* The fake host and its API table (for ophelp_run.c's exec). */
const struct enas_host_api *oh_host_api(void);
struct enas_host *oh_host(void);
/* What the plugin registered. */
size_t oh_n_ops(void);
const struct enas_op_desc *oh_op_at(size_t i);
const struct enas_op_desc *oh_find(const char *name);
const struct enas_backend_desc *oh_backend(void);

/* One op instance with the parameters its create made (in creation order). */
struct oh_op {
    struct enas_host *host; /* the plugin it came from */
    const struct enas_op_desc *d;
    void *state;
    struct enas_cfg *attrs;
    struct enas_param *p[OH_MAX_PARAMS];
    size_t n_p;
};

/* Builds an instance of op `name` from "key=value ..." attributes (scope "t"). */
enum enas_status oh_create(struct oh_op *op, const char *name, const char *attrs, struct enas_err *err);
/* The same from plugin p. */
enum enas_status oh_create_in(struct enas_host *p, struct oh_op *op, const char *name, const char *attrs,
                              struct enas_err *err);
/* The backend context and thread count that calls of op's plugin get (x->backend, x->threads). */
void *oh_backend_ctx(const struct enas_host *p);
int oh_threads(const struct enas_host *p);
void oh_destroy(struct oh_op *op);
/* The parameter "t.<name>", or NULL. */
struct enas_param *oh_param(const struct oh_op *op, const char *name);

/* Tensors with malloc'd, zeroed data. */
struct enas_tensor oh_tensor(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3);
void oh_tensor_free(struct enas_tensor *t);
/* Uniform values in [lo, hi) from a splitmix64 stream. */
void oh_fill(struct enas_tensor *t, double lo, double hi, uint64_t *seed);
/* Distinct values step apart in random order, offset by lo, so that no max-pool window or ReLU
 * sits within step/2 of a tie or a kink. */
void oh_fill_distinct(struct enas_tensor *t, double lo, double step, uint64_t *seed);
uint64_t oh_splitmix(uint64_t *s);
/* 1 if a[i] == b[i] for every i < n (values, not bytes). */
int oh_same(const float *a, const float *b, int64_t n);

/* How an op is called: training flag, x->arg, and the seed every call's random stream restarts from,
 * so that repeated forwards draw the same dropout masks. saved: what the last forward saved. */
struct oh_run {
    int training;
    double arg;
    uint64_t seed;
    void *saved;
};

/* shape + forward. out is allocated here (oh_tensor_free it). Frees the previous call's saved data. */
enum enas_status oh_forward(const struct oh_op *op, struct oh_run *r, const struct enas_tensor *const *in,
                            size_t n_in, struct enas_tensor *out, struct enas_err *err);
/* backward with r->saved; din entries may be NULL. */
enum enas_status oh_backward(const struct oh_op *op, struct oh_run *r, const struct enas_tensor *const *in,
                             size_t n_in, const struct enas_tensor *out, const struct enas_tensor *dout,
                             struct enas_tensor *const *din, struct enas_err *err);
void oh_run_fini(struct oh_run *r);

/* Central-difference check of every input gradient and every trained parameter's gradient of
 * L = sum(out * R) for a fixed random R. Also checks that backward overwrites din and accumulates
 * into grad. Prints each mismatch with label; returns the number of mismatches. */
int oh_gradcheck(const struct oh_op *op, const struct oh_run *mode, struct enas_tensor *in, size_t n_in,
                 double eps, double tol, const char *label);

#endif
