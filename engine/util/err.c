/* err.c - context in front of error messages (err.h). */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void enas__err_prefix(struct enas_err *err, const char *fmt, ...)
{
    if (!err || !fmt)
        return;
    char head[ENAS_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    const size_t cap = sizeof err->msg;
    size_t hl = strlen(head), ol = strnlen(err->msg, cap - 1);
    if (hl > cap - 1)
        hl = cap - 1;
    if (hl + ol > cap - 1)
        ol = cap - 1 - hl;
    memmove(err->msg + hl, err->msg, ol);
    memcpy(err->msg, head, hl);
    err->msg[hl + ol] = '\0';
}

void enas__err_terminate(struct enas_err *err)
{
    if (err)
        err->msg[sizeof err->msg - 1] = '\0';
}
