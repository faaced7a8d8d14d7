/* run.h - one run, a search or a retrain: the plugins it uses, the network (a search's supergraph, or the
 * fixed network of one architecture), the controller (a search's), optimizer, data and its run folder, and
 * the position in the run that checkpoints save. */
#ifndef ENAS_ENGINE_SEARCH_H
#define ENAS_ENGINE_SEARCH_H

#include <signal.h>
#include <stdio.h>

#include "arch/arch.h"
#include "controller/controller.h"
#include "data/batcher.h"
#include "data/cifar10.h"
#include "enas/plugin.h"
#include "tape/step.h"
#include "train/checkpoint.h"
#include "train/optim.h"
#include "util/path.h"

struct enas_config;

struct enas_run {
    int retrain;   /* 1: the fixed network of the `arch` setting, trained on every training image and tested
                      on the test set; no controller, no validation half */
    int eval_only; /* enas eval: the fixed network and the test images only; no folder, no optimizer */
    const char *arch_name; /* what the arch setting's text came from, for messages (NULL: the setting) */
    struct enas_host *h;
    struct enas_config *cfg;
    const struct enas_cfg *core;
    const char *space_name;
    struct enas_arch_space space;
    const struct enas_loss_desc *loss_d;
    void *loss;
    const struct enas_reward_desc *reward_d;
    void *reward;
    struct enas_controller *ctrl;
    struct enas_sgd *sgd;
    struct enas_step *step;
    struct enas_cifar10 data;
    struct enas_cifar10 test; /* a retrain's test images */
    struct enas_cifar10_split split;
    struct enas_batcher *train, *valid; /* the two halves, for the shared weights and the controller */
    struct enas_batcher *eval; /* a search: the controller half in order, not augmented (the epoch end's);
                                  a retrain: the test images in order */
    int threads;
    int64_t epochs, steps_per_epoch, ctrl_steps, samples_per_update;
    int64_t valid_passes; /* passes over the controller half that one epoch's controller phase starts */
    struct enas_eval_result {
        int64_t compared;               /* architectures of each kind compared (0: off) */
        double ctrl_mean, ctrl_max;     /* top-1 accuracy of the controller's samples */
        double random_mean, random_max; /* of uniformly random architectures, on the same batches */
        int64_t valid_images;           /* images of the validation accuracy (0: off) */
        double valid_accuracy;          /* of controller samples, one per batch */
    } eval_res;
    int entropy_exact; /* entropy_mode exact: the reward adds the exact entropy, else the sampled CE*exp(-CE)
                        */
    size_t arch_len;
    int *arch;   /* the architecture being trained or scored */
    float *grad; /* loss gradients of the logits (main, then aux) */
    size_t grad_cap;
    char dir[ENAS__PATH_MAX]; /* run folder (at most ENAS__PATH_MAX - 64 bytes, for the names in it) */
    FILE *metrics;            /* metrics.jsonl, appended */
    struct enas_ckpt_state st;
    int32_t *best; /* the best architecture so far: arch_len ints, st.best_arch */
    struct enas_rng ctrl_rng;
    struct enas_ckpt_array *arrays; /* everything a checkpoint holds (names owned) */
    size_t n_arrays;
    int lock_fd; /* run.lock, locked while this run uses the folder; -1 when not held */
    int tty;     /* progress bar on a terminal, log lines otherwise */
};

/* Builds everything from the settings. resume_dir: continue the run in that folder from its checkpoint
 * (the settings must be the run's own, loaded from its config.cfg, changed only through
 * enas__run_resume_option); every field of the checkpoint is checked against them before anything changes,
 * then config.cfg records the settings. Without resume_dir the folder must hold no checkpoint, and outputs
 * of an earlier start that never reached one are removed. Either way the folder is locked (run.lock) for
 * as long as the run is open: a second run on it is refused with the holder's pid. Errors name what is
 * wrong. */
enum enas_status enas__run_open(struct enas_run *r, struct enas_host *h, struct enas_config *cfg,
                                const char *resume_dir, const char *arch_name, struct enas_err *err);
/* With a non-empty arch setting the run is a retrain: the setting's text (a TF string or NNI JSON, from
 * arch_name: a file's name for messages, or NULL) is read against the space and written back as the TF
 * string. enas eval's variant: the fixed network of the arch setting and the test images of the data
 * setting (a folder or one CIFAR-10-format file) in r->eval, or the images given when there are any (taken
 * over: *images is left empty); no run folder, no checkpoint, nothing written.
 */
enum enas_status enas__run_open_eval(struct enas_run *r, struct enas_host *h, struct enas_config *cfg,
                                     struct enas_cifar10 *images, struct enas_err *err);
void enas__run_close(struct enas_run *r);

/* Reads an architecture (TF string or NNI JSON text; name for messages) against the decisions of the space
 * that cfg names, with its settings. The host's backend must be initialised; the supergraph made to read
 * the decisions is gone again afterwards, its parameters too. *arch is malloc'd. */
enum enas_status enas__run_parse_arch(struct enas_host *h, struct enas_config *cfg, const char *text,
                                      const char *name, int **arch, size_t *len, struct enas_err *err);

/* Applies a command-line option (as enas__config_set_option) to the settings of a run resumed from
 * resume_dir, whose config.cfg is loaded. Refused (ENAS_ERR_CONFIG, naming the option and why): --output,
 * and a new value for a setting that fixes what the checkpoint's position or weights mean: the space and
 * its settings, seed, batch_size, train_subset, split, ctrl_steps, ctrl_steps_aggregate, lstm_size,
 * lstm_layers. The same value again is accepted. Everything else may change and is recorded. */
enum enas_status enas__run_resume_option(struct enas_host *h, struct enas_config *cfg, const char *resume_dir,
                                         const char *name, const char *value, struct enas_err *err);

/* The search (search.c): epochs of shared-weight training and controller updates, with checkpoints,
 * architectures and metrics in the run folder. ENAS_ERR_INTERRUPTED after SIGINT/SIGTERM (a checkpoint
 * was written); ENAS_ERR_NUMERIC when a loss or reward is not finite (the last good checkpoint stays). */
enum enas_status enas__search_loop(struct enas_run *r, struct enas_err *err);

/* ---- run_step.c: shared by the search (search.c, search_eval.c) and the retrain loop (retrain.c) ---- */

/* Installs (on) the SIGINT/SIGTERM handlers that set enas__run_stop, clearing it; or puts the previous
 * handlers back (!on). */
void enas__run_signals(int on);
/* Seconds on a monotonic clock. */
double enas__run_now(void);

/* One training step (forward, loss of the main and aux heads, backward, clip, SGD) of r->arch on a training
 * batch; the step's random stream is (seed, global_step). A NaN stops the run (enas__run_numeric_fault). */
enum enas_status enas__run_train_step(struct enas_run *r, const struct enas_batch *b, double lr,
                                      struct enas_loss_result *res, struct enas_err *err);

/* A NaN or infinity: stop with what it was ("the training loss is nan"), the step, the epoch and the
 * architecture; the run's last checkpoint, written before it, stays as it is. */
enum enas_status enas__run_numeric_fault(struct enas_run *r, const char *what, struct enas_err *err);
enum enas_status enas__run_numeric_value(struct enas_run *r, const char *what, double v,
                                         struct enas_err *err);
/* After scoring: the first statistic buffer that training-mode scoring made non-finite. */
enum enas_status enas__run_stats_check(struct enas_run *r, const char *when, struct enas_err *err);

/* Batches already done before a resume, drawn and dropped; a stop request ends it. */
enum enas_status enas__run_skip_batches(struct enas_batcher *b, int64_t n, int cycling, struct enas_err *err);
/* The training batches of epoch st.epoch from batch st.batch to its end (or max_steps), one step each (a
 * search samples each batch's architecture from the controller), logged every log_frequency steps; st.phase
 * becomes 1 when the epoch's batches are done. Returns early on a stop request. */
enum enas_status enas__run_train_epoch(struct enas_run *r, struct enas_err *err);

/* A test pass (a retrain's, and enas eval's): r->arch in inference mode over every batch of r->eval, in
 * order. */
struct enas_test_result {
    int64_t images;
    double loss, accuracy; /* mean cross-entropy (the loss plugin's) and top-1, over the images */
    int64_t confusion[ENAS_CIFAR10_CLASSES][ENAS_CIFAR10_CLASSES]; /* [true class][predicted class] */
    int complete;                                                  /* 0: a stop request cut it short */
};
enum enas_status enas__run_test(struct enas_run *r, struct enas_test_result *res, struct enas_err *err);
/* The logits of every image of r->eval, in order: logits holds r->test.n x ENAS_CIFAR10_CLASSES floats. */
enum enas_status enas__run_logits(struct enas_run *r, float *logits, struct enas_err *err);

/* The learning rate of the epoch r->st.epoch (lr_schedule). */
double enas__run_epoch_lr(const struct enas_run *r);

/* The reward (may be NULL: not computed) and the top-1 accuracy (may be NULL) of r->arch on one
 * validation batch, without a tape; the pass's random stream is (seed, stream). */
enum enas_status enas__run_score(struct enas_run *r, const struct enas_batch *b, uint64_t stream,
                                 double *reward, double *accuracy, struct enas_err *err);

/* What scoring may change: the controller's random stream, the baseline, and the statistic buffers that
 * training-mode scoring updates. Taken before scoring; enas__run_mark_end puts them back (restore) or
 * keeps the new values, and frees the mark either way. */
struct enas_run_mark {
    struct enas_rng rng;
    double baseline;
    float *stats;
};
enum enas_status enas__run_mark_take(struct enas_run *r, struct enas_run_mark *m, struct enas_err *err);
void enas__run_mark_end(struct enas_run *r, struct enas_run_mark *m, int restore);

/* Set by SIGINT/SIGTERM while enas__run_signals(1) holds: long loops stop at the next sample or batch. */
extern volatile sig_atomic_t enas__run_stop;

/* The epoch end's measurements (search_eval.c) into r->eval_res: controller samples against uniformly
 * random architectures on the same validation batches, and the validation accuracy of controller samples.
 * Changes nothing the search uses (its random streams are its own; the baseline and statistics are put
 * back). The epoch's derivation logs them (enas__runlog_arch). Returns early when a stop is requested. */
enum enas_status enas__search_evaluate(struct enas_run *r, struct enas_err *err);

/* Writes the checkpoint of the current position (run folder/checkpoint.bin). */
enum enas_status enas__run_checkpoint(struct enas_run *r, struct enas_err *err);

/* Flushes metrics.jsonl and sets st.metrics_bytes to its length on disk. A line that could not be written
 * (a full disk) is an error naming the file: a checkpoint must not count it. */
enum enas_status enas__run_sync_metrics(struct enas_run *r, struct enas_err *err);

#endif
