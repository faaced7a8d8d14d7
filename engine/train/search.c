/* search.c - the ENAS search loop (ENAS.md §5): each epoch, phase 1 trains the shared weights on the
 * training half with a fresh architecture per minibatch; phase 2 updates the controller with REINFORCE
 * on validation minibatches; then N sampled architectures are scored and the best is written out, and
 * a checkpoint is taken. Every random stream is a function of (seed, position) or is checkpointed, so
 * a resumed run continues exactly where the interrupted one was. */
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

/* The first controller weight or Adam moment that is not finite after an update. */
static enum enas_status ctrl_check(struct enas_run *r, struct enas_err *err)
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
                return enas__run_numeric_fault(r, w, err);
            }
        }
    }
    return ENAS_OK;
}

/* One controller update: ctrl_steps_aggregate samples, each rewarded on its own validation batch. A stop
 * request between samples abandons the update, back to the mark taken before it, so that the checkpoint
 * taken next resumes with the same update (and the same samples) and a deterministic run still ends bit for
 * bit as an uninterrupted one. */
static enum enas_status ctrl_update(struct enas_run *r, struct enas_runlog_ctrl *acc, int *abandoned,
                                    struct enas_err *err)
{
    const double decay = enas__cfg_float(r->core, "baseline_decay"),
                 ew = enas__cfg_float(r->core, "entropy_weight");
    const double sw = enas__cfg_float(r->core, "skip_weight");
    struct enas_run_mark mark;
    enum enas_status st = enas__run_mark_take(r, &mark, err);
    int64_t from[2] = {-1, -1}, to[2] = {-1, -1}; /* (pass, batch) of the first and last batch, for -v */
    enas__controller_zero_grad(r->ctrl);
    for (int64_t k = 0; k < r->samples_per_update && st == ENAS_OK; k++) {
        if (enas__run_stop) {
            enas__run_mark_end(r, &mark, 1);
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
            st = enas__run_score(r, b, stream, &reward, NULL, err);
        enas__batcher_release(r->valid, b);
        if (st == ENAS_OK && !isfinite(reward))
            st = enas__run_numeric_value(r, "the reward", reward, err);
        if (st != ENAS_OK)
            break;
        reward += ew * (r->entropy_exact ? cs.entropy : cs.entropy_sampled);
        r->st.baseline = decay * r->st.baseline + (1 - decay) * reward; /* from 0, as the reference */
        st = enas__controller_backward(r->ctrl, (reward - r->st.baseline) / (double)r->samples_per_update,
                                       sw / (double)r->samples_per_update, err);
        enas__runlog_ctrl_add(acc, reward, r->st.baseline, &cs);
    }
    enas__run_mark_end(r, &mark, 0);
    enas__log(ENAS_LOG_DEBUG,
              "controller update %lld: validation batches from pass %lld batch %lld to pass %lld batch %lld",
              (long long)r->st.ctrl_updates + 1, (long long)from[0], (long long)from[1], (long long)to[0],
              (long long)to[1]);
    if (st == ENAS_OK)
        st = enas__run_stats_check(r, "scoring the controller's samples", err);
    if (st == ENAS_OK)
        st = enas__controller_step(
            r->ctrl, enas__cfg_float(r->core, "ctrl_lr"), enas__cfg_float(r->core, "ctrl_adam_beta1"),
            enas__cfg_float(r->core, "ctrl_adam_beta2"), enas__cfg_float(r->core, "ctrl_adam_eps"),
            enas__cfg_float(r->core, "ctrl_grad_clip"), NULL, err);
    return st == ENAS_OK ? ctrl_check(r, err) : st;
}

/* Phase 2: the controller, from update st.ctrl_in_epoch of the epoch to ctrl_steps. */
static enum enas_status phase_ctrl(struct enas_run *r, struct enas_err *err)
{
    /* the epoch's own passes (run_open.c); an absurd product saturates instead of wrapping */
    const int64_t pass = r->valid_passes && r->st.epoch > INT64_MAX / r->valid_passes
                             ? INT64_MAX
                             : r->st.epoch * r->valid_passes;
    enum enas_status st = enas__batcher_start_epoch(r->valid, pass, err);
    if (st == ENAS_OK)
        st = enas__run_skip_batches(r->valid, r->st.ctrl_in_epoch * r->samples_per_update, 1, err);
    while (st == ENAS_OK && !enas__run_stop && r->st.ctrl_in_epoch < r->ctrl_steps) {
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
static enum enas_status derive(struct enas_run *r, int *abandoned, struct enas_err *err)
{
    const int64_t n = enas__cfg_int(r->core, "derive_samples");
    const struct enas_batch *b = NULL;
    int *best = malloc((r->arch_len ? r->arch_len : 1) * sizeof *best);
    double best_r = -INFINITY;
    struct enas_run_mark mark = {0};
    enum enas_status st =
        best ? enas__run_mark_take(r, &mark, err) : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    const int64_t nb = enas__batcher_num_batches(r->eval);
    if (st == ENAS_OK)
        st = enas__batcher_start_at(r->eval, 0, nb ? r->st.epoch % nb : 0, err);
    if (st == ENAS_OK)
        st = enas__batcher_next_cycling(r->eval, &b, err);
    for (int64_t i = 0; i < n && st == ENAS_OK; i++) {
        if (enas__run_stop) { /* resumed, the derivation starts again from the mark */
            enas__batcher_release(r->eval, b);
            enas__run_mark_end(r, &mark, 1);
            free(best);
            *abandoned = 1;
            return ENAS_OK;
        }
        struct enas_ctrl_sample cs;
        double reward = 0;
        st = enas__controller_sample(r->ctrl, &r->ctrl_rng, r->arch, &cs, err);
        if (st == ENAS_OK)
            st = enas__run_score(r, b, (1ull << 61) | ((uint64_t)r->st.epoch * 100000u + (uint64_t)i),
                                 &reward, NULL, err);
        /* a NaN would never beat -inf and leave the best unset; a checkpoint holds finite numbers only */
        if (st == ENAS_OK && !isfinite(reward))
            st = enas__run_numeric_value(r, "the reward of a derived architecture", reward, err);
        if (st == ENAS_OK && reward > best_r) {
            best_r = reward;
            memcpy(best, r->arch, r->arch_len * sizeof *best);
        }
    }
    enas__batcher_release(r->eval, b);
    enas__run_mark_end(r, &mark, 0);
    if (st == ENAS_OK)
        st = enas__run_stats_check(r, "scoring the derived architectures", err);
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

static enum enas_status run_epoch(struct enas_run *r, struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    if (r->st.phase == 0)
        st = enas__run_train_epoch(r, err);
    if (st == ENAS_OK && !enas__run_stop)
        st = phase_ctrl(r, err);
    /* the measurements first: they change nothing, and derive's line in metrics.jsonl carries them, so
     * that a stop in either leaves no line that a resumed run would write again */
    if (st == ENAS_OK && !enas__run_stop)
        st = enas__search_evaluate(r, err);
    int abandoned = 1;
    if (st == ENAS_OK && !enas__run_stop) {
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
        st = enas__run_checkpoint(r, err);
    }
    return st;
}

enum enas_status enas__search_loop(struct enas_run *r, struct enas_err *err)
{
    enas__run_signals(1);
    enas__log(ENAS_LOG_INFO, "search: space %s, %lld epochs, run folder %s", r->space_name,
              (long long)r->epochs, r->dir);
    const int64_t max_steps = enas__cfg_int(r->core, "max_steps");
    enum enas_status st = ENAS_OK;
    while (st == ENAS_OK && !enas__run_stop && r->st.epoch < r->epochs) {
        st = run_epoch(r, err);
        if (max_steps && r->st.global_step >= max_steps)
            break;
    }
    if (st == ENAS_OK && enas__run_stop) {
        st = enas__run_checkpoint(r, err);
        if (st == ENAS_OK)
            st = enas_err_set(err, ENAS_ERR_INTERRUPTED,
                              "interrupted at epoch %lld, step %lld; checkpoint written: "
                              "continue with --resume %s",
                              (long long)r->st.epoch, (long long)r->st.global_step, r->dir);
    }
    if (st == ENAS_OK)
        st = enas__runlog_finish(r, err);
    enas__run_signals(0);
    return st;
}
