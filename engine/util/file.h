/* file.h - opening the files a user hands enas (settings, architectures, CIFAR-10 batches, checkpoints)
 * as untrusted input: regular files only (a FIFO would block, /dev/zero never ends, a directory is not
 * data), of a bounded size, with errors that name the file and the reason. */
#ifndef ENAS_ENGINE_FILE_H
#define ENAS_ENGINE_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "enas/status.h"

/* Opens path for reading when it is a regular file of at most max_bytes; *size gets its size (may be NULL).
 * Never blocks on a FIFO. what names the file's role in messages ("settings file", "checkpoint"):
 *   "<what> '<path>': No such file or directory" (or Permission denied, ...: strerror),
 *   "<what> '<path>': is a directory", "<what> '<path>': not a regular file (a FIFO)",
 *   "<what> '<path>': too large (N bytes; at most M)". ENAS_ERR_IO, or ENAS_ERR_DATA for the size. */
enum enas_status enas__file_open(const char *path, const char *what, uint64_t max_bytes, FILE **f,
                                 uint64_t *size, struct enas_err *err);

/* The whole file (checked as by enas__file_open) in a malloc'd buffer with a NUL after its len bytes. */
enum enas_status enas__file_read(const char *path, const char *what, uint64_t max_bytes, char **buf,
                                 size_t *len, struct enas_err *err);

/* Reads all of f (standard input, say) up to max_bytes, as enas__file_read; name is used in messages. */
enum enas_status enas__file_read_stream(FILE *f, const char *name, const char *what, uint64_t max_bytes,
                                        char **buf, size_t *len, struct enas_err *err);

/* Replaces path with len bytes of data atomically: written to "<path>.tmp", flushed (and fsync'ed when
 * durable), then renamed over path. On failure the old file stays, no .tmp is left, and the error
 * (ENAS_ERR_IO) names the file and the system's reason (a full disk, a file-size limit). */
enum enas_status enas__file_replace(const char *path, const void *data, size_t len, int durable,
                                    struct enas_err *err);

#endif
