/* cifar10.h - the CIFAR-10 binary files: finding them, loading them, and splitting the training set
 * between shared-weight training and the controller. Records stay uint8 CHW exactly as in the file;
 * augment.h turns them into float NHWC. */
#ifndef ENAS_ENGINE_CIFAR10_H
#define ENAS_ENGINE_CIFAR10_H

#include <stddef.h>
#include <stdint.h>

#include "enas/status.h"

#define ENAS_CIFAR10_SIDE         32
#define ENAS_CIFAR10_CHANNELS     3
#define ENAS_CIFAR10_IMAGE_BYTES  3072 /* 3 planes of 32 x 32: R, then G, then B, rows top to bottom */
#define ENAS_CIFAR10_RECORD_BYTES 3073 /* one label byte, then the image */
#define ENAS_CIFAR10_CLASSES      10
#define ENAS_CIFAR10_TRAIN_FILES  5 /* data_batch_1.bin .. data_batch_5.bin */
#define ENAS_CIFAR10_SUBDIR       "cifar-10-batches-bin"
/* Records in one batch file at most: each official file holds 10,000. A larger file is not CIFAR-10, and the
 * bound keeps every size computed from a file's length far from overflow. */
#define ENAS_CIFAR10_MAX_RECORDS    10000
#define ENAS_CIFAR10_MAX_FILE_BYTES ((uint64_t)ENAS_CIFAR10_MAX_RECORDS * ENAS_CIFAR10_RECORD_BYTES)

/* A loaded set. pixels holds n records of ENAS_CIFAR10_IMAGE_BYTES, labels n bytes in 0..9. Owned;
 * free with enas__cifar10_fini. A zeroed struct is a valid empty set. */
struct enas_cifar10 {
    int64_t n;
    uint8_t *pixels;
    uint8_t *labels;
};

/* Loads the training set (data_batch_1..5.bin, in that order) or, with test_set != 0, test_batch.bin
 * from dir. limit > 0 keeps only the first limit images and reads no file, and no byte, beyond them; a
 * limit above what the files hold gives all of them. limit 0 means all. Each file read must be a regular file
 * (never a FIFO or device: enas__file_open) of 1 to ENAS_CIFAR10_MAX_RECORDS whole records. Errors name the
 * file: missing or unreadable file, not a regular file (ENAS_ERR_IO, with the reason), short read
 * (ENAS_ERR_IO), empty, too large, size not a whole number of records, label above 9 (ENAS_ERR_DATA, with the
 * record number, from 0). On error *out is zeroed and nothing is left allocated. */
enum enas_status enas__cifar10_load(const char *dir, int test_set, int64_t limit, struct enas_cifar10 *out,
                                    struct enas_err *err);

/* One file in the same binary layout (a user's own test file, say), checked as load checks each file; limit
 * as for load. */
enum enas_status enas__cifar10_load_file(const char *path, int64_t limit, struct enas_cifar10 *out,
                                         struct enas_err *err);

/* Frees what load allocated and zeroes d; accepts NULL and a zeroed struct. */
void enas__cifar10_fini(struct enas_cifar10 *d);

/* Resolves the data directory into out (cap bytes). Candidates, in order: setting (the `data` setting
 * or --data) if non-empty, else $ENAS_DATA if set and non-empty, else ./data. A candidate X holds the
 * data if X/data_batch_1.bin exists, or X/cifar-10-batches-bin/data_batch_1.bin (the layout that
 * tools/get_cifar10.sh X produces); out gets the directory that holds the files. A non-empty setting is
 * the only candidate: if it lacks the data that is the error, the others are not tried (ENAS_ERR_IO when
 * permission to look into it is denied, naming the directory). Otherwise the ENAS_ERR_NOT_FOUND message lists
 * every place looked at and why it failed (permission denied included), and how to get the data. */
enum enas_status enas__cifar10_find_dir(const char *setting, char *out, size_t cap, struct enas_err *err);

/* Index ranges of the training set: [train_begin, train_end) trains the shared weights,
 * [valid_begin, valid_end) feeds the controller (and validation). No shuffling happens before the
 * split, as in both references. */
struct enas_cifar10_split {
    int64_t train_begin, train_end;
    int64_t valid_begin, valid_end;
};

/* mode "half": NNI's EnasTrainer, the first n - n/2 images train, the last n/2 go to the controller
 *              (25,000 / 25,000 for CIFAR-10).
 * mode "tf":   the TF code, the last 5,000 images are validation (45,000 / 5,000). For n < 10,000, as
 *              with a small train_subset, a fixed 5,000 would leave too little to train on, so the
 *              last n/10 (at least 1) are validation instead.
 * n must be at least 2 (both parts non-empty); an unknown mode is ENAS_ERR_INVALID_ARG listing both. */
enum enas_status enas__cifar10_split(int64_t n, const char *mode, struct enas_cifar10_split *out,
                                     struct enas_err *err);

#endif
