/* retrain.c - training one architecture from scratch, as the references' final mode does (ENAS.md §1.1,
 * §2, §3.3): only the fixed network exists, it trains on every training image, and its test accuracy is
 * measured every eval_every epochs. Each epoch ends with a checkpoint and model.enas; a stop request or a
 * NaN keeps the last good ones, and a resumed run continues bit for bit (--deterministic). */
#include "train/retrain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host.h"
#include "settings/config.h"
#include "train/model.h"
#include "train/runlog.h"
#include "util/err.h"
#include "util/log.h"
#include "util/path.h"

enum enas_status enas__retrain_settings(const struct enas_config *cfg, char **text, struct enas_err *err)
{
    static const char *const top[] = {"space", "arch"};
    size_t len = 0;
    *text = NULL;
    FILE *f = open_memstream(text, &len);
    if (!f)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    const char *space = enas__cfg_string(enas__config_section(cfg, ""), "space");
    enum enas_status st = enas__config_write_options(cfg, "", top, 2, f, err);
    if (st == ENAS_OK && enas__config_section(cfg, space))
        st = enas__config_write_options(cfg, space, NULL, 0, f, err);
    if (fclose(f) != 0 && st == ENAS_OK)
        st = enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    if (st != ENAS_OK) {
        free(*text);
        *text = NULL;
    }
    return st;
}

static enum enas_status write_model(struct enas_run *r, struct enas_err *err)
{
    char path[ENAS__PATH_MAX], *text = NULL;
    size_t np;
    struct enas_param *const *ps = enas__host_params(r->h, &np);
    enum enas_status st = enas__path_join(path, sizeof path, err, "%s/model.enas", r->dir);
    if (st == ENAS_OK)
        st = enas__retrain_settings(r->cfg, &text, err);
    if (st == ENAS_OK)
        st = enas__model_write(path, text, ps, np, err);
    free(text);
    return st;
}

/* The checkpoint, then the model it holds the weights of. */
static enum enas_status save(struct enas_run *r, struct enas_err *err)
{
    enum enas_status st = enas__run_checkpoint(r, err);
    return st == ENAS_OK ? write_model(r, err) : st;
}

static int test_due(const struct enas_run *r)
{
    const int64_t every = enas__cfg_int(r->core, "eval_every");
    return r->st.epoch + 1 == r->epochs || (every > 0 && (r->st.epoch + 1) % every == 0);
}

/* The rest of epoch st.epoch: its batches, its test pass when due, then the epoch's end and a save. A test
 * pass cut short by a stop request is run again on resume (it changes nothing); one that finished ends the
 * epoch even if the request came in after its last batch, so that its line is not written twice. */
static enum enas_status run_epoch(struct enas_run *r, struct enas_err *err)
{
    enum enas_status st = r->st.phase == 0 ? enas__run_train_epoch(r, err) : ENAS_OK;
    if (st != ENAS_OK || r->st.phase == 0)
        return st; /* stopped, or max_steps reached, inside the epoch */
    int end = !enas__run_stop;
    if (end && test_due(r)) {
        struct enas_test_result t;
        st = enas__run_test(r, &t, err);
        end = st == ENAS_OK && t.complete;
        if (end)
            enas__runlog_test(r, &t);
    }
    if (st == ENAS_OK && end) {
        enas__runlog_epoch_end(r);
        r->st.epoch++;
        r->st.batch = 0;
        r->st.phase = 0;
        st = save(r, err);
    }
    return st;
}

enum enas_status enas__retrain_loop(struct enas_run *r, struct enas_err *err)
{
    struct enas_child_info info = {0};
    enum enas_status st = r->space.desc->info(r->space.state, r->arch, r->arch_len, &info, err);
    if (st != ENAS_OK) {
        enas__err_terminate(err);
        return st;
    }
    char base[ENAS__PATH_MAX];
    if ((st = enas__path_join(base, sizeof base, err, "%s/arch", r->dir)) == ENAS_OK && r->st.epoch == 0 &&
        r->st.batch == 0)
        st = enas__runlog_write_arch(r, r->arch, base, err);
    if (st != ENAS_OK)
        return st;
    enas__log(
        ENAS_LOG_INFO,
        "retrain: space %s, %.3f M parameters, %.1f M multiply-adds per image, %lld epochs, run folder %s",
        r->space_name, (double)info.child_params / 1e6, info.child_madds / 1e6, (long long)r->epochs, r->dir);
    enas__run_signals(1);
    const int64_t max_steps = enas__cfg_int(r->core, "max_steps");
    while (st == ENAS_OK && !enas__run_stop && r->st.epoch < r->epochs) {
        st = run_epoch(r, err);
        if (max_steps && r->st.global_step >= max_steps)
            break;
    }
    if (st == ENAS_OK && (enas__run_stop || r->st.epoch < r->epochs)) {
        st = save(r, err); /* stopped (or max_steps) inside an epoch: where it is */
        if (st == ENAS_OK && enas__run_stop)
            st = enas_err_set(err, ENAS_ERR_INTERRUPTED,
                              "interrupted at epoch %lld, step %lld; checkpoint and model written: continue "
                              "with enas retrain --resume %s",
                              (long long)r->st.epoch, (long long)r->st.global_step, r->dir);
    }
    if (st == ENAS_OK)
        enas__log(ENAS_LOG_INFO, "retrain finished: %s/model.enas (test it with enas eval %s)", r->dir,
                  r->dir);
    enas__run_signals(0);
    return st;
}
