/* path.c - paths that fit or say so (path.h). */
#include "util/path.h"

#include <stdarg.h>
#include <stdio.h>

enum enas_status enas__path_join(char *out, size_t cap, struct enas_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const int n = cap ? vsnprintf(out, cap, fmt, ap) : -1;
    va_end(ap);
    if (n >= 0 && (size_t)n < cap)
        return ENAS_OK;
    enum enas_status st = enas_err_set(err, ENAS_ERR_INVALID_ARG, "path '%.100s...' is longer than %zu bytes",
                                       cap ? out : "", cap ? cap - 1 : 0);
    if (cap)
        out[0] = '\0';
    return st;
}
