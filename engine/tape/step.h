/* step.h - one pass of a network: the memory its tensors live in, the tape of op calls recorded for
 * backward, and the exec context handed to spaces and ops. A step is reused pass after pass; begin()
 * forgets the previous pass but keeps its memory.
 *
 * Ownership: tensors returned by op_call and step_tensor belong to the step and are valid until the
 * next begin(). */
#ifndef ENAS_ENGINE_STEP_H
#define ENAS_ENGINE_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "enas/plugin.h"

struct enas_step;

struct enas_step_opts {
    int training;  /* ops in training mode (batch-statistics BN, active dropout) */
    int record;    /* keep a tape for backward (training passes); 0 records nothing */
    uint64_t seed; /* the pass's random stream is (seed, stream) */
    uint64_t stream;
    int threads;        /* x->threads for ops */
    int keep;           /* keep every op output after backward (tests that compare two passes' tensors) */
    int64_t train_step; /* the run's training steps before this pass (api->train_step) */
    int trace;          /* keep every op call of the pass, in order (enas__step_calls): export */
};

/* One op call of a traced pass: the op instance, its inputs and output (tensors of the pass), its arg. */
struct enas_step_call {
    const struct enas_op *op;
    const struct enas_tensor *const *in;
    size_t n_in;
    const struct enas_tensor *out;
    double arg;
};

enum enas_status enas__step_create(struct enas_host *h, struct enas_step **out, struct enas_err *err);
void enas__step_destroy(struct enas_step *s); /* accepts NULL */

/* Starts a pass; its exec context is enas__step_exec(s). */
void enas__step_begin(struct enas_step *s, const struct enas_step_opts *o);
struct enas_exec *enas__step_exec(struct enas_step *s);

/* A tensor owned by the step (input images, targets). needs_grad: backward computes its gradient
 * (enas__step_grad). NULL when out of memory. */
struct enas_tensor *enas__step_tensor(struct enas_step *s, int ndim, const int64_t *dims, int needs_grad);

/* Runs backward over the tape from out (a tensor of this pass) with gradient dout (same shape):
 * every recorded op whose output leads to out gets its backward called, gradients reach the inputs
 * that need them, and the parameters of those ops accumulate theirs. Once per pass: afterwards the
 * outputs of recorded ops other than out have no data (their memory served the gradients), unless the
 * pass was begun with keep. */
enum enas_status enas__step_backward(struct enas_step *s, const struct enas_tensor *out,
                                     const struct enas_tensor *dout, struct enas_err *err);

/* The same from several outputs at once (a main and an auxiliary head): their gradients meet where
 * the networks join. */
enum enas_status enas__step_backward_n(struct enas_step *s, const struct enas_tensor *const *outs,
                                       const struct enas_tensor *const *douts, size_t n,
                                       struct enas_err *err);

/* The gradient of a tensor of this pass after backward; NULL when none reached it. Only tensors that no
 * recorded op produced (inputs made with enas__step_tensor) keep theirs: the gradient of an op's output
 * is recycled once that op has run backward. */
const struct enas_tensor *enas__step_grad(const struct enas_step *s, const struct enas_tensor *t);

/* The op calls of the current pass when it was begun with trace, in call order; valid until the next begin.
 */
const struct enas_step_call *enas__step_calls(const struct enas_step *s, size_t *n);

/* Bytes of tensors, saved data and gradients held at the busiest point so far (all passes). */
size_t enas__step_peak_bytes(const struct enas_step *s);
/* The most bytes of tensors, saved data and gradients live at once (all passes): peak_bytes less what
 * waited in the free list, the floor for any allocator. */
size_t enas__step_live_peak_bytes(const struct enas_step *s);
/* Number of op calls recorded in the current pass. */
size_t enas__step_n_records(const struct enas_step *s);
/* The output of recorded call k (k < enas__step_n_records) and, in *op_name when not NULL, its op's name;
 * NULL past the end. The caller may overwrite the output's data before backward: tests run one backend's
 * backward at another backend's activations that way. */
struct enas_tensor *enas__step_record_output(struct enas_step *s, size_t k, const char **op_name);

/* The host API's release: t goes to no further op of this pass (see plugin.h). */
void enas__step_release(struct enas_exec *x, const struct enas_tensor *t);

/* The host API's grad_accumulates (see plugin.h). */
int enas__step_grad_accumulates(const struct enas_exec *x, size_t i);
/* api->train_step: the pass's enas_step_opts.train_step. */
int64_t enas__step_train_step(const struct enas_exec *x);

/* The host API's op_call: x must come from a step. */
enum enas_status enas__step_op_call(struct enas_exec *x, struct enas_op *op,
                                    const struct enas_tensor *const *in, size_t n_in, double arg,
                                    struct enas_tensor **out, struct enas_err *err);

#endif
