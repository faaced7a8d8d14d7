/* cfg.h - the values of one settings section (struct enas_cfg): typed reads, and stand-alone sections
 * parsed from "key=value" text (op attributes). A section of the run's configuration comes from
 * enas__config_section (config.h). */
#ifndef ENAS_ENGINE_CFG_H
#define ENAS_ENGINE_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "enas/settings.h"
#include "enas/status.h"

struct enas_cfg;

/* Typed reads (also behind the host API's cfg_* members). A key the section does not declare, or of
 * another type, is a programming error: it is reported on stderr and reads as 0 / "". */
int64_t enas__cfg_int(const struct enas_cfg *s, const char *key);
double enas__cfg_float(const struct enas_cfg *s, const char *key);
int enas__cfg_bool(const struct enas_cfg *s, const char *key);
const char *enas__cfg_string(const struct enas_cfg *s, const char *key);

/* A stand-alone section (op attributes): values parsed from "key=value key=value" against table.
 * Errors name the key and what is allowed. Destroy with enas__cfg_destroy. */
enum enas_status enas__cfg_from_string(const struct enas_setting *table, size_t n, const char *text,
                                       struct enas_cfg **out, struct enas_err *err);
void enas__cfg_destroy(struct enas_cfg *s);

#endif
