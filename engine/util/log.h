/* log.h - the engine's diagnostics: one line per message on stderr, prefixed "enas: ", filtered by
 * level. Plugins reach it through the host API's log member (host.c adds the plugin's file name). */
#ifndef ENAS_ENGINE_LOG_H
#define ENAS_ENGINE_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include "enas/abi.h"
#include "enas/plugin.h" /* enum enas_log_level */

/* Process-wide threshold for enas__log: messages above it are dropped. Default ENAS_LOG_INFO.
 * (--quiet = ENAS_LOG_ERROR, --verbose = ENAS_LOG_DEBUG.) */
void enas__log_set_level(enum enas_log_level level);
enum enas_log_level enas__log_get_level(void);

/* Redirects output (tests); NULL restores stderr. */
void enas__log_set_stream(FILE *f);

/* "error", "warning", "info", "debug". */
const char *enas__log_level_name(enum enas_log_level level);

/* Writes "enas: [origin: ][warning: |debug: ]message\n" when level <= threshold. origin may be NULL.
 * A trailing newline in fmt is not doubled. */
void enas__log_v(enum enas_log_level threshold, enum enas_log_level level, const char *origin,
                 const char *fmt, va_list ap);

/* enas__log_v with the process-wide threshold and no origin. */
void enas__log(enum enas_log_level level, const char *fmt, ...) ENAS_PRINTF(2, 3);

#endif
