/* err.h - the engine's one way to add context to an error on its way up, and the guard for messages that
 * plugin code wrote. */
#ifndef ENAS_ENGINE_ERR_H
#define ENAS_ENGINE_ERR_H

#include "enas/abi.h"
#include "enas/status.h"

/* Puts the formatted head in front of err->msg, truncating the end of the whole; keeps err->code.
 * enas__err_prefix(err, "space '%s': ", name). err may be NULL. The engine uses this instead of status.h's
 * enas_err_prefix (the plugins' copy), whose snprintf of two full-size buffers trips gcc 12's
 * -Wformat-truncation under -Werror. */
void enas__err_prefix(struct enas_err *err, const char *fmt, ...) ENAS_PRINTF(2, 3);

/* Ends err->msg at its last byte. Call it on an err that plugin code filled before the engine reads the
 * message: a plugin that wrote all ENAS_ERRMSG_SIZE bytes without a NUL would otherwise have the engine
 * read past the buffer. err may be NULL. */
void enas__err_terminate(struct enas_err *err);

#endif
