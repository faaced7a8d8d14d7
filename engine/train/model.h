/* model.h - a trained network in one file, model.enas: what rebuilds it (the space, its settings and the
 * architecture, as option lines) and its weights and statistic buffers by name, with a format version and a
 * checksum. `enas retrain` writes it at every checkpoint and at the end; `enas eval` and `enas export` read
 * it. Written atomically (temporary file, fsync, rename); read as untrusted input: every check runs before
 * anything is used, and errors name the file and what is wrong. */
#ifndef ENAS_ENGINE_MODEL_H
#define ENAS_ENGINE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "enas/param.h"
#include "enas/status.h"

#define ENAS_MODEL_VERSION 1
/* The settings text and the weights together at most (the final macro network is 38.0 M floats). */
#define ENAS_MODEL_MAX_BYTES ((uint64_t)4 << 30)

struct enas_model_array {
    char *name;
    int64_t numel;
    float *data;
};

struct enas_model {
    char *settings; /* option lines "space=micro", "arch=0 1 ...", "micro.num_layers=15" */
    struct enas_model_array *arrays;
    size_t n;
};

/* Writes path atomically from the settings text and every parameter and buffer in ps. A NaN or an infinity
 * is refused (ENAS_ERR_NUMERIC, naming the parameter and index) before anything is written; a failed write
 * keeps the previous file (ENAS_ERR_IO, with the reason). */
enum enas_status enas__model_write(const char *path, const char *settings, struct enas_param *const *ps,
                                   size_t np, struct enas_err *err);

/* Reads and checks path: size, magic, version, checksum, lengths, names, finite numbers. On error *m is
 * empty. Free with enas__model_free. */
enum enas_status enas__model_read(const char *path, struct enas_model *m, struct enas_err *err);
void enas__model_free(struct enas_model *m);

/* Copies the model's arrays into the parameters of a network built from its settings: every parameter
 * must have an array of its name and size, and every array a parameter (errors name the array and the
 * file, path). */
enum enas_status enas__model_apply(const struct enas_model *m, const char *path, struct enas_param *const *ps,
                                   size_t np, struct enas_err *err);

#endif
