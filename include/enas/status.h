/* status.h - status codes and the error buffer that every fallible call takes last. */
#ifndef ENAS_STATUS_H
#define ENAS_STATUS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "enas/abi.h"

enum enas_status {
    ENAS_OK = 0,
    ENAS_ERR_NOMEM,
    ENAS_ERR_INVALID_ARG,
    ENAS_ERR_CONFIG,
    ENAS_ERR_NOT_FOUND,
    ENAS_ERR_PLUGIN_LOAD,
    ENAS_ERR_PLUGIN_SYMBOL,
    ENAS_ERR_ABI,
    ENAS_ERR_UNSUPPORTED,
    ENAS_ERR_BACKEND,
    ENAS_ERR_IO,
    ENAS_ERR_DATA,    /* malformed input data (a record, a file's size) */
    ENAS_ERR_NUMERIC, /* NaN or Inf where a finite number is required */
    ENAS_ERR_INTERRUPTED
};

#define ENAS_ERRMSG_SIZE 512

/* The last parameter of every fallible call; may be NULL when the caller only wants the status. */
struct enas_err {
    enum enas_status code;
    char msg[ENAS_ERRMSG_SIZE];
};

/* Static text for a status; never NULL. */
static inline const char *enas_status_str(enum enas_status s)
{
    switch (s) {
    case ENAS_OK:
        return "ok";
    case ENAS_ERR_NOMEM:
        return "out of memory";
    case ENAS_ERR_INVALID_ARG:
        return "invalid argument";
    case ENAS_ERR_CONFIG:
        return "configuration error";
    case ENAS_ERR_NOT_FOUND:
        return "not found";
    case ENAS_ERR_PLUGIN_LOAD:
        return "plugin load failed";
    case ENAS_ERR_PLUGIN_SYMBOL:
        return "plugin symbol missing";
    case ENAS_ERR_ABI:
        return "ABI mismatch";
    case ENAS_ERR_UNSUPPORTED:
        return "unsupported";
    case ENAS_ERR_BACKEND:
        return "backend error";
    case ENAS_ERR_IO:
        return "I/O error";
    case ENAS_ERR_DATA:
        return "bad data";
    case ENAS_ERR_NUMERIC:
        return "numerical fault";
    case ENAS_ERR_INTERRUPTED:
        return "interrupted";
    }
    return "unknown status";
}

/* Sets err (when not NULL) and returns code, so that failing is one line:
 *     return enas_err_set(err, ENAS_ERR_CONFIG, "%s:%d: unknown key '%s'", file, line, key); */
static inline ENAS_PRINTF(3, 4) enum enas_status
    enas_err_set(struct enas_err *err, enum enas_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Adds context in front of an existing message on the way up: enas_err_prefix(err, "space '%s': ", n). */
static inline ENAS_PRINTF(2, 3) void enas_err_prefix(struct enas_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[ENAS_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t hl = (size_t)n < sizeof head ? (size_t)n : sizeof head - 1;
    size_t ml = strlen(err->msg);
    if (hl + ml > sizeof err->msg - 1)
        ml = sizeof err->msg - 1 - hl;
    memmove(err->msg + hl, err->msg, ml); /* the old text moves right, then the head goes in front */
    memcpy(err->msg, head, hl);
    err->msg[hl + ml] = '\0';
}

static inline void enas_err_clear(struct enas_err *err)
{
    if (err) {
        err->code = ENAS_OK;
        err->msg[0] = '\0';
    }
}

#endif
