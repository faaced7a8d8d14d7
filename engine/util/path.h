/* path.h - file paths built in buffers of one size, with truncation reported instead of silently opening
 * a shorter path. */
#ifndef ENAS_ENGINE_PATH_H
#define ENAS_ENGINE_PATH_H

#include <stddef.h>

#include "enas/abi.h"
#include "enas/status.h"

/* Bytes of every path buffer of the engine, the NUL included (Linux's PATH_MAX). */
#define ENAS__PATH_MAX 4096

/* Formats a path into out (cap bytes): enas__path_join(p, sizeof p, err, "%s/checkpoint.bin", dir).
 * A result that does not fit is an ENAS_ERR_INVALID_ARG that shows its start, and out is left empty. */
enum enas_status enas__path_join(char *out, size_t cap, struct enas_err *err, const char *fmt, ...)
    ENAS_PRINTF(4, 5);

#endif
