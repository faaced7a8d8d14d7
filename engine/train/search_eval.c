/* search_eval.c - what each epoch's end measures, so that a user can see whether the search searches:
 * controller samples against uniformly random architectures, scored on the same validation batches with
 * the same shared weights, and the validation accuracy of controller samples over the controller half (TF
 * evaluates it every epoch, one sampled architecture per batch). The measurements have random streams of
 * their own and put back what scoring changes (search.h), so that turning them on or off leaves the search
 * bit for bit as it was. */
#include "train/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "data/batcher.h"
#include "settings/cfg.h"
#include "util/rng.h"

/* Random streams of the measurements: apart from the search's, one per epoch. */
#define EVAL_STREAM (3ull << 60)

/* Every decision uniformly: a choice among its candidates, or each candidate of a subset on or off. */
static void random_arch(const struct enas_run *r, struct enas_rng *rng, int *arch)
{
    const size_t n = r->space.desc->n_decisions(r->space.state);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const struct enas_decision *d = r->space.desc->decision(r->space.state, i);
        if (d->kind == ENAS_CHOICE_ONE)
            arch[at++] = (int)enas__rng_below(rng, d->n_candidates);
        else
            for (unsigned j = 0; j < d->n_candidates; j++)
                arch[at++] = (int)enas__rng_below(rng, 2);
    }
}

/* The top-1 accuracy of r->arch over `count` eval batches from batch `first` on (wrapping around), each
 * image counted once. */
static enum enas_status accuracy_over(struct enas_run *r, int64_t first, int64_t count, uint64_t stream,
                                      double *acc, struct enas_err *err)
{
    double correct = 0, seen = 0;
    enum enas_status st = enas__batcher_start_at(r->eval, 0, first, err);
    for (int64_t i = 0; i < count && st == ENAS_OK && !enas__run_stop; i++) {
        const struct enas_batch *b = NULL;
        double a = 0;
        st = enas__batcher_next_cycling(r->eval, &b, err);
        if (st == ENAS_OK)
            st = enas__run_score(r, b, stream + (uint64_t)i, NULL, &a, err);
        if (st == ENAS_OK) {
            correct += a * (double)b->n;
            seen += (double)b->n;
        }
        enas__batcher_release(r->eval, b);
    }
    *acc = seen > 0 ? correct / seen : 0.0;
    return st;
}

/* compare_samples controller samples and as many random architectures, each on the same
 * compare_batches batches (the epoch's turn of the controller half). */
static enum enas_status compare(struct enas_run *r, struct enas_rng *rng, struct enas_err *err)
{
    struct enas_eval_result *e = &r->eval_res;
    const int64_t k = enas__cfg_int(r->core, "compare_samples"), nb = enas__batcher_num_batches(r->eval);
    const int64_t count =
        enas__cfg_int(r->core, "compare_batches") < nb ? enas__cfg_int(r->core, "compare_batches") : nb;
    const int64_t first = nb ? (r->st.epoch * count) % nb : 0;
    double sum[2] = {0, 0}, best[2] = {-INFINITY, -INFINITY};
    enum enas_status st = ENAS_OK;
    for (int64_t i = 0; i < 2 * k && st == ENAS_OK && !enas__run_stop; i++) {
        const int random = (int)(i % 2); /* alternate, so that a stop leaves no half-measured kind */
        struct enas_ctrl_sample cs;
        double acc = 0;
        if (random)
            random_arch(r, rng, r->arch);
        else
            st = enas__controller_sample(r->ctrl, rng, r->arch, &cs, err);
        if (st == ENAS_OK)
            st = accuracy_over(r, first, count, EVAL_STREAM | ((uint64_t)i << 20), &acc, err);
        sum[random] += acc;
        best[random] = acc > best[random] ? acc : best[random];
    }
    e->compared = k;
    e->ctrl_mean = k ? sum[0] / (double)k : 0;
    e->random_mean = k ? sum[1] / (double)k : 0;
    e->ctrl_max = k ? best[0] : 0;
    e->random_max = k ? best[1] : 0;
    return st;
}

/* The validation accuracy of controller samples, a new one per batch, over the first valid_eval_batches
 * batches of the controller half (0: all of them). */
static enum enas_status validate(struct enas_run *r, struct enas_rng *rng, struct enas_err *err)
{
    const int64_t nb = enas__batcher_num_batches(r->eval),
                  want = enas__cfg_int(r->core, "valid_eval_batches");
    const int64_t count = want == 0 || want > nb ? nb : want;
    double correct = 0;
    int64_t seen = 0;
    enum enas_status st = enas__batcher_start_at(r->eval, 0, 0, err);
    for (int64_t i = 0; i < count && st == ENAS_OK && !enas__run_stop; i++) {
        const struct enas_batch *b = NULL;
        struct enas_ctrl_sample cs;
        double a = 0;
        st = enas__controller_sample(r->ctrl, rng, r->arch, &cs, err);
        if (st == ENAS_OK)
            st = enas__batcher_next(r->eval, &b, err);
        if (st == ENAS_OK && b)
            st = enas__run_score(r, b, EVAL_STREAM | (1ull << 59) | (uint64_t)i, NULL, &a, err);
        if (st == ENAS_OK && b) {
            correct += a * (double)b->n;
            seen += b->n;
        }
        enas__batcher_release(r->eval, b);
    }
    r->eval_res.valid_images = seen;
    r->eval_res.valid_accuracy = seen ? correct / (double)seen : 0.0;
    return st;
}

enum enas_status enas__search_evaluate(struct enas_run *r, struct enas_err *err)
{
    memset(&r->eval_res, 0, sizeof r->eval_res);
    const int do_compare = enas__cfg_int(r->core, "compare_samples") > 0,
              do_valid = enas__cfg_int(r->core, "valid_eval_batches") >= 0;
    if (!do_compare && !do_valid)
        return ENAS_OK;
    struct enas_run_mark mark;
    enum enas_status st = enas__run_mark_take(r, &mark, err);
    if (st != ENAS_OK)
        return st;
    struct enas_rng rng;
    enas__rng_seed(&rng, r->st.seed, EVAL_STREAM | (uint64_t)r->st.epoch);
    if (do_compare)
        st = compare(r, &rng, err);
    if (st == ENAS_OK && do_valid && !enas__run_stop)
        st = validate(r, &rng, err);
    enas__run_mark_end(r, &mark, 1); /* the baseline and statistics as the search left them */
    return st;
}
