/* run_step.c - what a search and a retrain run both do: one training step of a child network, scoring a
 * batch without a tape, the checks that stop a run on a NaN, the stop request of SIGINT/SIGTERM, and the
 * checkpoint of the run's position. */
#include "train/run.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugin/host.h"
#include "settings/config.h"
#include "train/runlog.h"
#include "util/err.h"
#include "util/log.h"
#include "util/path.h"

volatile sig_atomic_t enas__run_stop;

static void on_signal(int sig)
{
    (void)sig;
    enas__run_stop = 1;
}

static struct sigaction old_int, old_term;

void enas__run_signals(int on)
{
    if (!on) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    enas__run_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
}

double enas__run_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float *grad_buf(struct enas_run *r, size_t n)
{
    if (n > r->grad_cap) {
        float *g = realloc(r->grad, n * sizeof *g);
        if (!g)
            return NULL;
        r->grad = g;
        r->grad_cap = n;
    }
    return r->grad;
}

/* Copies a batch into the step as the network's input. */
static struct enas_tensor *input_of(struct enas_run *r, const struct enas_batch *b)
{
    int64_t dims[4] = {b->n, 32, 32, 3};
    struct enas_tensor *t = enas__step_tensor(r->step, 4, dims, 0);
    if (t)
        memcpy(t->data, b->images.data, (size_t)b->n * 3072 * sizeof(float));
    return t;
}

/* Loss gradients of the main head and the weighted aux head, then one backward from both. */
static enum enas_status child_backward(struct enas_run *r, const struct enas_child_out *o,
                                       const int32_t *labels, struct enas_loss_result *res,
                                       struct enas_err *err)
{
    size_t k = (size_t)enas_tensor_numel(o->logits),
           ka = o->aux_logits ? (size_t)enas_tensor_numel(o->aux_logits) : 0;
    float *g = grad_buf(r, k + ka);
    if (!g)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    struct enas_tensor gm = *o->logits, ga = o->aux_logits ? *o->aux_logits : *o->logits;
    gm.data = g;
    ga.data = g + k;
    enum enas_status st = r->loss_d->compute(r->loss, o->logits, labels, &gm, res, err);
    if (st == ENAS_OK && o->aux_logits) {
        struct enas_loss_result aux;
        st = r->loss_d->compute(r->loss, o->aux_logits, labels, &ga, &aux, err);
        for (size_t i = 0; i < ka; i++)
            ga.data[i] *= (float)o->aux_weight;
    }
    if (st != ENAS_OK)
        enas__err_terminate(err); /* the loss plugin's message */
    const struct enas_tensor *outs[] = {o->logits, o->aux_logits}, *douts[] = {&gm, &ga};
    return st == ENAS_OK ? enas__step_backward_n(r->step, outs, douts, o->aux_logits ? 2 : 1, err) : st;
}

/* A NaN or infinity: stop with what it was ("the training loss is nan"), the step, the epoch and the
 * architecture; the run's last checkpoint, written before it, stays as it is. */
enum enas_status enas__run_numeric_fault(struct enas_run *r, const char *what, struct enas_err *err)
{
    char *tf = enas__arch_format(&r->space, r->arch, r->arch_len, ENAS_ARCH_TF);
    char w[ENAS_ERRMSG_SIZE], ckpt[ENAS__PATH_MAX];
    snprintf(w, sizeof w, "%s", what); /* what may be err->msg itself */
    const int have = enas__path_join(ckpt, sizeof ckpt, NULL, "%s/checkpoint.bin", r->dir) == ENAS_OK &&
                     access(ckpt, F_OK) == 0;
    enum enas_status st = enas_err_set(
        err, ENAS_ERR_NUMERIC,
        "%s at step %lld (epoch %lld) for architecture %s; "
        "stopped. %s %s",
        w, (long long)r->st.global_step, (long long)r->st.epoch, tf ? strtok(tf, "\n") : "?",
        have ? "The last good checkpoint is kept in" : "No checkpoint was written yet in", r->dir);
    free(tf);
    return st;
}

enum enas_status enas__run_numeric_value(struct enas_run *r, const char *what, double v, struct enas_err *err)
{
    char w[160];
    snprintf(w, sizeof w, "%s is %g", what, v);
    return enas__run_numeric_fault(r, w, err);
}

/* The first parameter whose gradient holds a NaN or infinity, by name and index. */
static enum enas_status bad_gradient(struct enas_run *r, struct enas_param *const *ps, size_t np,
                                     struct enas_err *err)
{
    char w[ENAS_ERRMSG_SIZE];
    snprintf(w, sizeof w, "the gradient norm is not finite");
    for (size_t i = 0; i < np; i++) {
        const int64_t j = ps[i]->grad && ps[i]->used
                              ? enas__optim_first_nonfinite(ps[i]->grad, enas_tensor_numel(&ps[i]->value))
                              : -1;
        if (j >= 0) {
            snprintf(w, sizeof w, "the gradient of '%s' is %g at index %lld", ps[i]->name,
                     isnan(ps[i]->grad[j]) ? (double)NAN : (double)ps[i]->grad[j], (long long)j);
            break;
        }
    }
    return enas__run_numeric_fault(r, w, err);
}

enum enas_status enas__run_train_step(struct enas_run *r, const struct enas_batch *b, double lr,
                                      struct enas_loss_result *res, struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    struct enas_step_opts so = {.training = 1,
                                .record = 1,
                                .seed = r->st.seed,
                                .stream = (uint64_t)r->st.global_step,
                                .threads = r->threads,
                                .train_step = r->st.global_step};
    enas__step_begin(r->step, &so);
    struct enas_tensor *x = st == ENAS_OK ? input_of(r, b) : NULL;
    struct enas_child_out o = {0};
    if (st == ENAS_OK && !x)
        st = enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for a batch");
    if (st == ENAS_OK)
        st = r->space.desc->forward(r->space.state, enas__step_exec(r->step), r->arch, r->arch_len, x, &o,
                                    err);
    if (st != ENAS_OK)
        enas__err_terminate(err); /* the space plugin's message */
    if (st == ENAS_OK)
        st = child_backward(r, &o, b->labels, res, err);
    if (st == ENAS_OK && !isfinite(res->loss))
        return enas__run_numeric_value(r, "the training loss", res->loss, err);
    size_t np;
    struct enas_param *const *ps = enas__host_params(r->h, &np);
    /* The global norm, computed for clipping anyway, checks every gradient before any weight moves. */
    if (st == ENAS_OK && !isfinite(enas__optim_grad_clip(ps, np, enas__cfg_float(r->core, "grad_clip"))))
        return bad_gradient(r, ps, np, err);
    if (st == ENAS_OK && (st = enas__optim_sgd_step(r->sgd, ps, np, lr, err)) == ENAS_ERR_NUMERIC)
        return enas__run_numeric_fault(r, err->msg, err);
    return st;
}

enum enas_status enas__run_score(struct enas_run *r, const struct enas_batch *b, uint64_t stream,
                                 double *reward, double *accuracy, struct enas_err *err)
{
    struct enas_step_opts so = {.training = enas__cfg_bool(r->core, "reward_train_mode"),
                                .seed = r->st.seed,
                                .stream = stream,
                                .threads = r->threads};
    enas__step_begin(r->step, &so);
    struct enas_tensor *x = input_of(r, b);
    struct enas_child_out o = {0};
    struct enas_child_info info = {0};
    if (!x)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for a batch");
    enum enas_status st =
        r->space.desc->forward(r->space.state, enas__step_exec(r->step), r->arch, r->arch_len, x, &o, err);
    if (st == ENAS_OK)
        st = r->space.desc->info(r->space.state, r->arch, r->arch_len, &info, err);
    if (st == ENAS_OK && reward)
        st = r->reward_d->compute(r->reward, o.logits, b->labels, &info, reward, err);
    if (st != ENAS_OK)
        enas__err_terminate(err); /* the space's or the reward plugin's message */
    else if (accuracy)
        *accuracy = enas_top1(o.logits, b->labels);
    return st;
}

/* Batches already done before a resume, drawn and dropped; a stop request ends it (the position it
 * resumed from is unchanged, and the loops after it see the request too). */
enum enas_status enas__run_skip_batches(struct enas_batcher *b, int64_t n, int cycling, struct enas_err *err)
{
    for (int64_t i = 0; i < n && !enas__run_stop; i++) {
        const struct enas_batch *x = NULL;
        enum enas_status st =
            cycling ? enas__batcher_next_cycling(b, &x, err) : enas__batcher_next(b, &x, err);
        if (st != ENAS_OK)
            return st;
        enas__batcher_release(b, x);
    }
    return ENAS_OK;
}

double enas__run_epoch_lr(const struct enas_run *r)
{
    if (strcmp(enas__cfg_string(r->core, "lr_schedule"), "constant") == 0)
        return enas__cfg_float(r->core, "lr_max");
    int64_t t0 = enas__cfg_int(r->core, "lr_t0");
    return enas__optim_lr_cosine((int)r->st.epoch, enas__cfg_float(r->core, "lr_max"),
                                 enas__cfg_float(r->core, "lr_min"), (int)(t0 ? t0 : r->epochs),
                                 (int)enas__cfg_int(r->core, "lr_tmul"));
}

/* What scoring changes, taken before a controller update or the derivation so that a stop request can undo
 * it: the sampling stream, the baseline, and the statistic buffers of the shared weights (the micro search
 * scores in training mode, as TF, which updates BN's running statistics). */
/* Copies every statistic buffer into snap (to_snap) or back from it; with snap NULL, counts the floats. */
static size_t buffers_copy(struct enas_run *r, float *snap, int to_snap)
{
    size_t np, at = 0;
    struct enas_param *const *ps = enas__host_params(r->h, &np);
    for (size_t i = 0; i < np; i++) {
        if (!(ps[i]->flags & ENAS_PARAM_BUFFER))
            continue;
        const size_t k = (size_t)enas_tensor_numel(&ps[i]->value);
        if (snap && to_snap)
            memcpy(snap + at, ps[i]->value.data, k * sizeof *snap);
        else if (snap)
            memcpy(ps[i]->value.data, snap + at, k * sizeof *snap);
        at += k;
    }
    return at;
}

enum enas_status enas__run_mark_take(struct enas_run *r, struct enas_run_mark *m, struct enas_err *err)
{
    m->rng = r->ctrl_rng;
    m->baseline = r->st.baseline;
    if (!(m->stats = malloc((buffers_copy(r, NULL, 0) + 1) * sizeof *m->stats)))
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    buffers_copy(r, m->stats, 1);
    return ENAS_OK;
}

/* Back to the mark (restore) or not; frees it either way. */
void enas__run_mark_end(struct enas_run *r, struct enas_run_mark *m, int restore)
{
    if (restore) {
        r->ctrl_rng = m->rng;
        r->st.baseline = m->baseline;
        buffers_copy(r, m->stats, 0);
    }
    free(m->stats);
    m->stats = NULL;
}

/* After scoring: the first statistic buffer that training-mode scoring made non-finite, by name and index
 * (the losses and rewards can stay finite through it, and the next checkpoint would be refused). */
enum enas_status enas__run_stats_check(struct enas_run *r, const char *when, struct enas_err *err)
{
    size_t np;
    struct enas_param *const *ps = enas__host_params(r->h, &np);
    for (size_t i = 0; i < np; i++) {
        const int64_t j =
            ps[i]->flags & ENAS_PARAM_BUFFER
                ? enas__optim_first_nonfinite(ps[i]->value.data, enas_tensor_numel(&ps[i]->value))
                : -1;
        if (j >= 0) {
            char w[ENAS_ERRMSG_SIZE];
            snprintf(w, sizeof w, "the statistic '%s' is %g at index %lld after %s", ps[i]->name,
                     isnan(ps[i]->value.data[j]) ? (double)NAN : (double)ps[i]->value.data[j], (long long)j,
                     when);
            return enas__run_numeric_fault(r, w, err);
        }
    }
    return ENAS_OK;
}

enum enas_status enas__run_train_epoch(struct enas_run *r, struct enas_err *err)
{
    enum enas_status st = enas__batcher_start_epoch(r->train, r->st.epoch, err);
    if (st == ENAS_OK)
        st = enas__run_skip_batches(r->train, r->st.batch, 0, err);
    const double lr = enas__run_epoch_lr(r);
    const int64_t freq = enas__cfg_int(r->core, "log_frequency"),
                  max_steps = enas__cfg_int(r->core, "max_steps");
    struct enas_runlog_window win = {enas__run_now(), 0, 0.0, 0.0, 0};
    while (st == ENAS_OK && !enas__run_stop && (!max_steps || r->st.global_step < max_steps)) {
        const struct enas_batch *b = NULL;
        if ((st = enas__batcher_next(r->train, &b, err)) != ENAS_OK || !b)
            break;
        struct enas_loss_result res = {0};
        struct enas_ctrl_sample cs;
        if (r->ctrl) /* a search: a fresh architecture per batch */
            st = enas__controller_sample(r->ctrl, &r->ctrl_rng, r->arch, &cs, err);
        if (st == ENAS_OK)
            st = enas__run_train_step(r, b, lr, &res, err);
        enas__runlog_window_add(&win, &res, b->n);
        enas__batcher_release(r->train, b);
        r->st.batch++;
        r->st.global_step++;
        if (st == ENAS_OK && (r->st.global_step % freq == 0 || r->st.batch == r->steps_per_epoch))
            enas__runlog_train(r, &win, lr, enas__run_now());
    }
    if (st == ENAS_OK && !enas__run_stop)
        r->st.phase = 1;
    return st;
}

/* Batch i of a test pass in inference mode: the logits in o. */
static enum enas_status infer(struct enas_run *r, const struct enas_batch *b, int64_t i,
                              struct enas_child_out *o, struct enas_err *err)
{
    struct enas_step_opts so = {
        .seed = r->st.seed, .stream = (1ull << 58) | (uint64_t)i, .threads = r->threads};
    enas__step_begin(r->step, &so);
    struct enas_tensor *x = input_of(r, b);
    return x ? r->space.desc->forward(r->space.state, enas__step_exec(r->step), r->arch, r->arch_len, x, o,
                                      err)
             : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory for a batch");
}

enum enas_status enas__run_logits(struct enas_run *r, float *logits, struct enas_err *err)
{
    enum enas_status st = enas__batcher_start_at(r->eval, 0, 0, err);
    int64_t at = 0;
    for (int64_t i = 0; st == ENAS_OK; i++) {
        const struct enas_batch *b = NULL;
        struct enas_child_out o = {0};
        if ((st = enas__batcher_next(r->eval, &b, err)) != ENAS_OK || !b)
            break;
        if ((st = infer(r, b, i, &o, err)) == ENAS_OK) {
            memcpy(logits + at * ENAS_CIFAR10_CLASSES, o.logits->data,
                   (size_t)b->n * ENAS_CIFAR10_CLASSES * sizeof *logits);
            at += b->n;
        } else {
            enas__err_terminate(err); /* the space's message */
        }
        enas__batcher_release(r->eval, b);
    }
    return st;
}

enum enas_status enas__run_test(struct enas_run *r, struct enas_test_result *res, struct enas_err *err)
{
    memset(res, 0, sizeof *res);
    double loss_sum = 0;
    int64_t correct = 0;
    enum enas_status st = enas__batcher_start_at(r->eval, 0, 0, err);
    for (int64_t i = 0; st == ENAS_OK && !enas__run_stop; i++) {
        const struct enas_batch *b = NULL;
        if ((st = enas__batcher_next(r->eval, &b, err)) != ENAS_OK || !b) {
            res->complete = st == ENAS_OK;
            break;
        }
        struct enas_child_out o = {0};
        struct enas_loss_result lr = {0};
        st = infer(r, b, i, &o, err);
        if (st == ENAS_OK)
            st = r->loss_d->compute(r->loss, o.logits, b->labels, NULL, &lr, err);
        if (st != ENAS_OK)
            enas__err_terminate(err); /* the space's or the loss plugin's message */
        if (st == ENAS_OK && !isfinite(lr.loss))
            st = enas__run_numeric_value(r, "the test loss", lr.loss, err);
        const int64_t k = st == ENAS_OK ? o.logits->dims[1] : 0;
        for (int64_t n = 0; st == ENAS_OK && n < b->n; n++) {
            const float *row = o.logits->data + n * k;
            int64_t best = 0;
            for (int64_t c = 1; c < k; c++)
                best = row[c] > row[best] ? c : best;
            const int32_t y = b->labels[n];
            if (y >= 0 && y < ENAS_CIFAR10_CLASSES && best < ENAS_CIFAR10_CLASSES)
                res->confusion[y][best]++;
            correct += best == y;
        }
        if (st == ENAS_OK) {
            loss_sum += lr.loss * (double)b->n;
            res->images += b->n;
        }
        enas__batcher_release(r->eval, b);
    }
    res->loss = res->images ? loss_sum / (double)res->images : 0.0;
    res->accuracy = res->images ? (double)correct / (double)res->images : 0.0;
    return st;
}

enum enas_status enas__run_checkpoint(struct enas_run *r, struct enas_err *err)
{
    char path[ENAS__PATH_MAX];
    enum enas_status st = enas__run_sync_metrics(r, err); /* sets st.metrics_bytes */
    if (st == ENAS_OK)
        st = enas__path_join(path, sizeof path, err, "%s/checkpoint.bin", r->dir);
    if (st != ENAS_OK)
        return st;
    memcpy(r->st.rng, r->ctrl_rng.s, sizeof r->st.rng);
    r->st.adam_t = r->ctrl ? *enas__controller_adam_t(r->ctrl) : 0;
    return enas__checkpoint_write(path, &r->st, r->arrays, r->n_arrays, err);
}
