/* runlog.h - what a run shows and leaves behind: the progress bar (or log lines), metrics.jsonl, the
 * architectures chosen each epoch (TF string, NNI JSON, DOT, PNG), best_arch.*, learning curves. */
#ifndef ENAS_ENGINE_RUNLOG_H
#define ENAS_ENGINE_RUNLOG_H

#include <stdint.h>

#include "controller/controller.h"
#include "enas/plugin.h"

struct enas_run;

/* Shared-weight steps since the last metrics line. */
struct enas_runlog_window {
    double t0;
    int64_t images;
    double loss_sum, acc_sum;
    int64_t steps;
};

/* Controller samples of one update. */
struct enas_runlog_ctrl {
    double reward, baseline, entropy, log_prob, skip_rate;
    int64_t n;
};

void enas__runlog_window_add(struct enas_runlog_window *w, const struct enas_loss_result *res,
                             int64_t images);
/* A metrics line for the window (then restarted at now) and the progress display. */
void enas__runlog_train(struct enas_run *r, struct enas_runlog_window *w, double lr, double now);
void enas__runlog_ctrl_add(struct enas_runlog_ctrl *c, double reward, double baseline,
                           const struct enas_ctrl_sample *s);
void enas__runlog_ctrl(struct enas_run *r, const struct enas_runlog_ctrl *c);
/* The epoch's chosen architecture: arch/epoch_<e>.{tf,json,dot,png} and a metrics line. */
enum enas_status enas__runlog_arch(struct enas_run *r, const int *arch, double score, struct enas_err *err);
/* A retrain's test pass: a metrics line ("test": the epoch) and a log line. */
struct enas_test_result;
void enas__runlog_test(struct enas_run *r, const struct enas_test_result *t);
/* base.tf, base.json (NNI), base.dot and base.png (Graphviz) of arch. */
enum enas_status enas__runlog_write_arch(const struct enas_run *r, const int *arch, const char *base,
                                         struct enas_err *err);
/* Learning curves (train.tsv, ctrl.tsv, eval.tsv, test.tsv; curves.png when gnuplot is installed). */
void enas__runlog_epoch_end(struct enas_run *r);
/* best_arch.json (NNI), best_arch.tf, best_arch.dot/.png: the last epoch's chosen architecture. */
enum enas_status enas__runlog_finish(struct enas_run *r, struct enas_err *err);

#endif
