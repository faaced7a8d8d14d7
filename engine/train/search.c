/* search.c - the ENAS search loop (ENAS.md §5): each epoch, phase 1 trains the shared weights on the
 * training half with a fresh architecture per minibatch; phase 2 updates the controller with REINFORCE
 * on validation minibatches; then N sampled architectures are scored and the best is written out, and
 * a checkpoint is taken. Every random stream is a function of (seed, position) or is checkpointed, so
 * a resumed run continues exactly where the interrupted one was. */
#include "train/search.h"

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

volatile sig_atomic_t enas__search_stop;

static void on_signal(int sig)
{
    (void)sig;
    enas__search_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float *grad_buf(struct enas_search *r, size_t n)
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
static struct enas_tensor *input_of(struct enas_search *r, const struct enas_batch *b)
{
    int64_t dims[4] = {b->n, 32, 32, 3};
    struct enas_tensor *t = enas__step_tensor(r->step, 4, dims, 0);
    if (t)
        memcpy(t->data, b->images.data, (size_t)b->n * 3072 * sizeof(float));
    return t;
}

/* Loss gradients of the main head and the weighted aux head, then one backward from both. */
static enum enas_status child_backward(struct enas_search *r, const struct enas_child_out *o,
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
static enum enas_status numeric_fault(struct enas_search *r, const char *what, struct enas_err *err)
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

static enum enas_status numeric_value(struct enas_search *r, const char *what, double v, struct enas_err *err)
{
    char w[160];
    snprintf(w, sizeof w, "%s is %g", what, v);
    return numeric_fault(r, w, err);
}

/* The first parameter whose gradient holds a NaN or infinity, by name and index. */
static enum enas_status bad_gradient(struct enas_search *r, struct enas_param *const *ps, size_t np,
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
    return numeric_fault(r, w, err);
}

/* One shared-weight step on a training batch with a freshly sampled architecture. */
static enum enas_status train_step(struct enas_search *r, const struct enas_batch *b, double lr,
                                   struct enas_loss_result *res, struct enas_err *err)
{
    struct enas_ctrl_sample cs;
    enum enas_status st = enas__controller_sample(r->ctrl, &r->ctrl_rng, r->arch, &cs, err);
    struct enas_step_opts so = {.training = 1,
                                .record = 1,
                                .seed = r->st.seed,
                                .stream = (uint64_t)r->st.global_step,
                                .threads = r->threads};
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
        return numeric_value(r, "the training loss", res->loss, err);
    size_t np;
    struct enas_param *const *ps = enas__host_params(r->h, &np);
    /* The global norm, computed for clipping anyway, checks every gradient before any weight moves. */
    if (st == ENAS_OK && !isfinite(enas__optim_grad_clip(ps, np, enas__cfg_float(r->core, "grad_clip"))))
        return bad_gradient(r, ps, np, err);
    if (st == ENAS_OK && (st = enas__optim_sgd_step(r->sgd, ps, np, lr, err)) == ENAS_ERR_NUMERIC)
        return numeric_fault(r, err->msg, err);
    return st;
}

enum enas_status enas__search_score(struct enas_search *r, const struct enas_batch *b, uint64_t stream,
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
static enum enas_status skip_batches(struct enas_batcher *b, int64_t n, int cycling, struct enas_err *err)
{
    for (int64_t i = 0; i < n && !enas__search_stop; i++) {
        const struct enas_batch *x = NULL;
        enum enas_status st =
            cycling ? enas__batcher_next_cycling(b, &x, err) : enas__batcher_next(b, &x, err);
        if (st != ENAS_OK)
            return st;
        enas__batcher_release(b, x);
    }
    return ENAS_OK;
}

static double epoch_lr(const struct enas_search *r)
{
    if (strcmp(enas__cfg_string(r->core, "lr_schedule"), "constant") == 0)
        return enas__cfg_float(r->core, "lr_max");
    int64_t t0 = enas__cfg_int(r->core, "lr_t0");
    return enas__optim_lr_cosine((int)r->st.epoch, enas__cfg_float(r->core, "lr_max"),
                                 enas__cfg_float(r->core, "lr_min"), (int)(t0 ? t0 : r->epochs),
                                 (int)enas__cfg_int(r->core, "lr_tmul"));
}

/* Phase 1: the shared weights, from batch st.batch of the epoch to its end (or max_steps). */
static enum enas_status phase_shared(struct enas_search *r, struct enas_err *err)
{
    enum enas_status st = enas__batcher_start_epoch(r->train, r->st.epoch, err);
    if (st == ENAS_OK)
        st = skip_batches(r->train, r->st.batch, 0, err);
    const double lr = epoch_lr(r);
    const int64_t freq = enas__cfg_int(r->core, "log_frequency"),
                  max_steps = enas__cfg_int(r->core, "max_steps");
    struct enas_runlog_window win = {now_s(), 0, 0.0, 0.0, 0};
    while (st == ENAS_OK && !enas__search_stop && (!max_steps || r->st.global_step < max_steps)) {
        const struct enas_batch *b = NULL;
        if ((st = enas__batcher_next(r->train, &b, err)) != ENAS_OK || !b)
            break;
        struct enas_loss_result res;
        st = train_step(r, b, lr, &res, err);
        enas__runlog_window_add(&win, &res, b->n);
        enas__batcher_release(r->train, b);
        r->st.batch++;
        r->st.global_step++;
        if (st == ENAS_OK && (r->st.global_step % freq == 0 || r->st.batch == r->steps_per_epoch))
            enas__runlog_train(r, &win, lr, now_s());
    }
    if (st == ENAS_OK && !enas__search_stop)
        r->st.phase = 1;
    return st;
}

/* The first controller weight or Adam moment that is not finite after an update. */
static enum enas_status ctrl_check(struct enas_search *r, struct enas_err *err)
{
    size_t nc;
    struct enas_param *const *cs = enas__controller_params(r->ctrl, &nc);
    for (size_t i = 0; i < nc; i++) {
        const int64_t k = enas_tensor_numel(&cs[i]->value);
        const float *v[] = {cs[i]->value.data, enas__controller_adam_m(r->ctrl, i),
                            enas__controller_adam_v(r->ctrl, i)};
        static const char *const what[] = {"the controller weight", "the Adam mean of",
                                           "the Adam variance of"};
        for (int a = 0; a < 3; a++) {
            const int64_t j = v[a] ? enas__optim_first_nonfinite(v[a], k) : -1;
            if (j >= 0) {
                char w[ENAS_ERRMSG_SIZE];
                snprintf(w, sizeof w, "%s '%s' is %g at index %lld after controller update %lld", what[a],
                         cs[i]->name, isnan(v[a][j]) ? (double)NAN : (double)v[a][j], (long long)j,
                         (long long)r->st.ctrl_updates);
                return numeric_fault(r, w, err);
            }
        }
    }
    return ENAS_OK;
}

/* What scoring changes, taken before a controller update or the derivation so that a stop request can undo
 * it: the sampling stream, the baseline, and the statistic buffers of the shared weights (the micro search
 * scores in training mode, as TF, which updates BN's running statistics). */
/* Copies every statistic buffer into snap (to_snap) or back from it; with snap NULL, counts the floats. */
static size_t buffers_copy(struct enas_search *r, float *snap, int to_snap)
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

enum enas_status enas__search_mark_take(struct enas_search *r, struct enas_search_mark *m,
                                        struct enas_err *err)
{
    m->rng = r->ctrl_rng;
    m->baseline = r->st.baseline;
    if (!(m->stats = malloc((buffers_copy(r, NULL, 0) + 1) * sizeof *m->stats)))
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    buffers_copy(r, m->stats, 1);
    return ENAS_OK;
}

/* Back to the mark (restore) or not; frees it either way. */
void enas__search_mark_end(struct enas_search *r, struct enas_search_mark *m, int restore)
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
static enum enas_status stats_check(struct enas_search *r, const char *when, struct enas_err *err)
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
            return numeric_fault(r, w, err);
        }
    }
    return ENAS_OK;
}

/* One controller update: ctrl_steps_aggregate samples, each rewarded on its own validation batch. A stop
 * request between samples abandons the update, back to the mark taken before it, so that the checkpoint
 * taken next resumes with the same update (and the same samples) and a deterministic run still ends bit for
 * bit as an uninterrupted one. */
static enum enas_status ctrl_update(struct enas_search *r, struct enas_runlog_ctrl *acc, int *abandoned,
                                    struct enas_err *err)
{
    const double decay = enas__cfg_float(r->core, "baseline_decay"),
                 ew = enas__cfg_float(r->core, "entropy_weight");
    const double sw = enas__cfg_float(r->core, "skip_weight");
    struct enas_search_mark mark;
    enum enas_status st = enas__search_mark_take(r, &mark, err);
    int64_t from[2] = {-1, -1}, to[2] = {-1, -1}; /* (pass, batch) of the first and last batch, for -v */
    enas__controller_zero_grad(r->ctrl);
    for (int64_t k = 0; k < r->samples_per_update && st == ENAS_OK; k++) {
        if (enas__search_stop) {
            enas__search_mark_end(r, &mark, 1);
            *abandoned = 1;
            return ENAS_OK;
        }
        struct enas_ctrl_sample cs;
        const struct enas_batch *b = NULL;
        double reward = 0;
        /* unsigned: a stream number only has to be distinct, and a huge aggregate must not overflow it */
        uint64_t stream =
            (1ull << 62) | ((uint64_t)r->st.ctrl_updates * (uint64_t)r->samples_per_update + (uint64_t)k);
        st = enas__controller_sample(r->ctrl, &r->ctrl_rng, r->arch, &cs, err);
        if (st == ENAS_OK)
            st = enas__batcher_next_cycling(r->valid, &b, err);
        if (st == ENAS_OK && b) {
            if (from[0] < 0)
                from[0] = b->epoch, from[1] = b->index;
            to[0] = b->epoch, to[1] = b->index;
        }
        if (st == ENAS_OK)
            st = enas__search_score(r, b, stream, &reward, NULL, err);
        enas__batcher_release(r->valid, b);
        if (st == ENAS_OK && !isfinite(reward))
            st = numeric_value(r, "the reward", reward, err);
        if (st != ENAS_OK)
            break;
        reward += ew * (r->entropy_exact ? cs.entropy : cs.entropy_sampled);
        r->st.baseline = decay * r->st.baseline + (1 - decay) * reward; /* from 0, as the reference */
        st = enas__controller_backward(r->ctrl, (reward - r->st.baseline) / (double)r->samples_per_update,
                                       sw / (double)r->samples_per_update, err);
        enas__runlog_ctrl_add(acc, reward, r->st.baseline, &cs);
    }
    enas__search_mark_end(r, &mark, 0);
    enas__log(ENAS_LOG_DEBUG,
              "controller update %lld: validation batches from pass %lld batch %lld to pass %lld batch %lld",
              (long long)r->st.ctrl_updates + 1, (long long)from[0], (long long)from[1], (long long)to[0],
              (long long)to[1]);
    if (st == ENAS_OK)
        st = stats_check(r, "scoring the controller's samples", err);
    if (st == ENAS_OK)
        st = enas__controller_step(
            r->ctrl, enas__cfg_float(r->core, "ctrl_lr"), enas__cfg_float(r->core, "ctrl_adam_beta1"),
            enas__cfg_float(r->core, "ctrl_adam_beta2"), enas__cfg_float(r->core, "ctrl_adam_eps"),
            enas__cfg_float(r->core, "ctrl_grad_clip"), NULL, err);
    return st == ENAS_OK ? ctrl_check(r, err) : st;
}

/* Phase 2: the controller, from update st.ctrl_in_epoch of the epoch to ctrl_steps. */
static enum enas_status phase_ctrl(struct enas_search *r, struct enas_err *err)
{
    /* the epoch's own passes (search_open.c); an absurd product saturates instead of wrapping */
    const int64_t pass = r->valid_passes && r->st.epoch > INT64_MAX / r->valid_passes
                             ? INT64_MAX
                             : r->st.epoch * r->valid_passes;
    enum enas_status st = enas__batcher_start_epoch(r->valid, pass, err);
    if (st == ENAS_OK)
        st = skip_batches(r->valid, r->st.ctrl_in_epoch * r->samples_per_update, 1, err);
    while (st == ENAS_OK && !enas__search_stop && r->st.ctrl_in_epoch < r->ctrl_steps) {
        struct enas_runlog_ctrl acc = {0};
        int abandoned = 0;
        st = ctrl_update(r, &acc, &abandoned, err);
        /* an abandoned update is not counted; one that stepped the controller is, even if a stop request
         * came in after its last sample (the checkpoint's adam_t then matches ctrl_updates) */
        if (st != ENAS_OK || abandoned)
            break;
        r->st.ctrl_in_epoch++;
        r->st.ctrl_updates++;
        enas__runlog_ctrl(r, &acc);
    }
    return st;
}

/* Paper §2.2: sample N architectures, score each on one validation minibatch, keep the best. The batch is
 * the epoch's turn of the controller half in order, not augmented (the controller's stream is the next
 * epoch's). */
static enum enas_status derive(struct enas_search *r, int *abandoned, struct enas_err *err)
{
    const int64_t n = enas__cfg_int(r->core, "derive_samples");
    const struct enas_batch *b = NULL;
    int *best = malloc((r->arch_len ? r->arch_len : 1) * sizeof *best);
    double best_r = -INFINITY;
    struct enas_search_mark mark = {0};
    enum enas_status st =
        best ? enas__search_mark_take(r, &mark, err) : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    const int64_t nb = enas__batcher_num_batches(r->eval);
    if (st == ENAS_OK)
        st = enas__batcher_start_at(r->eval, 0, nb ? r->st.epoch % nb : 0, err);
    if (st == ENAS_OK)
        st = enas__batcher_next_cycling(r->eval, &b, err);
    for (int64_t i = 0; i < n && st == ENAS_OK; i++) {
        if (enas__search_stop) { /* resumed, the derivation starts again from the mark */
            enas__batcher_release(r->eval, b);
            enas__search_mark_end(r, &mark, 1);
            free(best);
            *abandoned = 1;
            return ENAS_OK;
        }
        struct enas_ctrl_sample cs;
        double reward = 0;
        st = enas__controller_sample(r->ctrl, &r->ctrl_rng, r->arch, &cs, err);
        if (st == ENAS_OK)
            st = enas__search_score(r, b, (1ull << 61) | ((uint64_t)r->st.epoch * 100000u + (uint64_t)i),
                                    &reward, NULL, err);
        /* a NaN would never beat -inf and leave the best unset; a checkpoint holds finite numbers only */
        if (st == ENAS_OK && !isfinite(reward))
            st = numeric_value(r, "the reward of a derived architecture", reward, err);
        if (st == ENAS_OK && reward > best_r) {
            best_r = reward;
            memcpy(best, r->arch, r->arch_len * sizeof *best);
        }
    }
    enas__batcher_release(r->eval, b);
    enas__search_mark_end(r, &mark, 0);
    if (st == ENAS_OK)
        st = stats_check(r, "scoring the derived architectures", err);
    if (st == ENAS_OK) { /* the checkpoint's best_arch has room for exactly arch_len ints */
        r->st.best_reward = best_r;
        r->st.best_len = (int64_t)r->arch_len;
        for (size_t i = 0; i < r->arch_len; i++)
            r->st.best_arch[i] = best[i];
        st = enas__runlog_arch(r, best, best_r, err);
    }
    free(best);
    return st;
}

enum enas_status enas__search_checkpoint(struct enas_search *r, struct enas_err *err)
{
    char path[ENAS__PATH_MAX];
    enum enas_status st = enas__search_sync_metrics(r, err); /* sets st.metrics_bytes */
    if (st == ENAS_OK)
        st = enas__path_join(path, sizeof path, err, "%s/checkpoint.bin", r->dir);
    if (st != ENAS_OK)
        return st;
    memcpy(r->st.rng, r->ctrl_rng.s, sizeof r->st.rng);
    r->st.adam_t = *enas__controller_adam_t(r->ctrl);
    return enas__checkpoint_write(path, &r->st, r->arrays, r->n_arrays, err);
}

static enum enas_status run_epoch(struct enas_search *r, struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    if (r->st.phase == 0)
        st = phase_shared(r, err);
    if (st == ENAS_OK && !enas__search_stop)
        st = phase_ctrl(r, err);
    /* the measurements first: they change nothing, and derive's line in metrics.jsonl carries them, so
     * that a stop in either leaves no line that a resumed run would write again */
    if (st == ENAS_OK && !enas__search_stop)
        st = enas__search_evaluate(r, err);
    int abandoned = 1;
    if (st == ENAS_OK && !enas__search_stop) {
        abandoned = 0;
        st = derive(r, &abandoned, err);
    }
    /* a derivation that ran to its end (and logged its line) ends the epoch, even if a stop request came
     * in after its last sample: resumed, it must not run again */
    if (st == ENAS_OK && !abandoned) {
        enas__runlog_epoch_end(r);
        r->st.epoch++;
        r->st.batch = 0;
        r->st.phase = 0;
        r->st.ctrl_in_epoch = 0;
        st = enas__search_checkpoint(r, err);
    }
    return st;
}

enum enas_status enas__search_loop(struct enas_search *r, struct enas_err *err)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    enas__search_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    enas__log(ENAS_LOG_INFO, "search: space %s, %lld epochs, run folder %s", r->space_name,
              (long long)r->epochs, r->dir);
    const int64_t max_steps = enas__cfg_int(r->core, "max_steps");
    enum enas_status st = ENAS_OK;
    while (st == ENAS_OK && !enas__search_stop && r->st.epoch < r->epochs) {
        st = run_epoch(r, err);
        if (max_steps && r->st.global_step >= max_steps)
            break;
    }
    if (st == ENAS_OK && enas__search_stop) {
        st = enas__search_checkpoint(r, err);
        if (st == ENAS_OK)
            st = enas_err_set(err, ENAS_ERR_INTERRUPTED,
                              "interrupted at epoch %lld, step %lld; checkpoint written: "
                              "continue with --resume %s",
                              (long long)r->st.epoch, (long long)r->st.global_step, r->dir);
    }
    if (st == ENAS_OK)
        st = enas__runlog_finish(r, err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return st;
}
