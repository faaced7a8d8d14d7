/* retrain.h - `enas retrain`: one architecture trained from scratch in the space's final mode, tested on the
 * test images, saved as model.enas. The run itself is opened as any run (run.h) with the arch setting set. */
#ifndef ENAS_ENGINE_RETRAIN_H
#define ENAS_ENGINE_RETRAIN_H

#include "train/run.h"

/* Epochs of training with test passes, checkpoints and model.enas in the run folder. ENAS_ERR_INTERRUPTED
 * after SIGINT/SIGTERM (a checkpoint and the model were written); ENAS_ERR_NUMERIC on a NaN (the last good
 * ones stay). */
enum enas_status enas__retrain_loop(struct enas_run *r, struct enas_err *err);

/* What rebuilds the network, as option lines (model.enas's settings): space, arch and the space's section.
 * *text is malloc'd. */
enum enas_status enas__retrain_settings(const struct enas_config *cfg, char **text, struct enas_err *err);

#endif
