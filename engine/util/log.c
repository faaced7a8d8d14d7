/* log.c - "enas: " lines on stderr, filtered by level.
 * Each message is formatted into one buffer and written with a single fputs, so that lines from two
 * threads do not interleave mid-line. */
#include "util/log.h"

#include <string.h>

static enum enas_log_level log_level = ENAS_LOG_INFO;
static FILE *log_stream;

void enas__log_set_level(enum enas_log_level level)
{
    log_level = level;
}

enum enas_log_level enas__log_get_level(void)
{
    return log_level;
}

void enas__log_set_stream(FILE *f)
{
    log_stream = f;
}

const char *enas__log_level_name(enum enas_log_level level)
{
    switch (level) {
    case ENAS_LOG_ERROR:
        return "error";
    case ENAS_LOG_WARN:
        return "warning";
    case ENAS_LOG_INFO:
        return "info";
    case ENAS_LOG_DEBUG:
        return "debug";
    }
    return "log";
}

void enas__log_v(enum enas_log_level threshold, enum enas_log_level level, const char *origin,
                 const char *fmt, va_list ap)
{
    if (level > threshold || !fmt)
        return;
    char line[2048];
    size_t used = 0;
    int n = snprintf(line, sizeof line, "enas: %s%s%s", origin ? origin : "", origin ? ": " : "",
                     level == ENAS_LOG_WARN    ? "warning: "
                     : level == ENAS_LOG_DEBUG ? "debug: "
                                               : "");
    if (n > 0)
        used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    n = vsnprintf(line + used, sizeof line - used, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    if (n > 0)
        used += (size_t)n < sizeof line - used ? (size_t)n : sizeof line - used - 1;
    /* one newline at the end, whether or not fmt had one; a truncated line still ends with one */
    if (used > 0 && line[used - 1] == '\n')
        used--;
    if (used > sizeof line - 2)
        used = sizeof line - 2;
    line[used] = '\n';
    line[used + 1] = '\0';
    fputs(line, log_stream ? log_stream : stderr);
}

void enas__log(enum enas_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enas__log_v(log_level, level, NULL, fmt, ap);
    va_end(ap);
}
