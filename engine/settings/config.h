/* config.h - settings: one schema per section (the engine's top level, and one per plugin that
 * declares settings), values from defaults, a libconfig file and command-line options, in that order.
 * Only config_file.c includes <libconfig.h>; one section's values are cfg.h's. */
#ifndef ENAS_ENGINE_CONFIG_H
#define ENAS_ENGINE_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "enas/settings.h"
#include "enas/status.h"
#include "settings/cfg.h"

struct enas_config;

/* The engine's own settings (top level of the file, options without a section prefix). */
extern const struct enas_setting enas__core_settings[];
extern const size_t enas__core_n_settings;

enum enas_status enas__config_create(struct enas_config **out, struct enas_err *err);
void enas__config_destroy(struct enas_config *c);

/* Declares a section. name "" is the top level. owner names who declared it (a plugin file) for
 * messages. The table is borrowed and must outlive c. A name declared twice is an error naming both
 * owners. Values start at the defaults. */
enum enas_status enas__config_add_section(struct enas_config *c, const char *name, const char *owner,
                                          const struct enas_setting *table, size_t n, struct enas_err *err);

/* Reads a libconfig file: top-level scalars are core settings, groups are sections. Unknown keys,
 * unknown sections, wrong types and out-of-range values are errors of the form
 *     FILE:LINE: key 'KEY': <what is wrong>; <what is allowed>
 * The file and every file it includes must be a regular file of at most 1 MiB (4 MiB together) without NUL
 * bytes, and an integer literal must fit the 32 bits libconfig keeps (64 with the L suffix) instead of
 * wrapping. `@include "NAME"` is resolved here: NAME relative to the including file's folder, nested at most
 * 10 deep, 256 in all, no cycles; a bad one is an error naming the including file and line. FILE:LINE always
 * names the file the line is in. On error no value is changed. */
enum enas_status enas__config_load_file(struct enas_config *c, const char *path, struct enas_err *err);

/* Applies one command-line option: name is "batch-size", "batch_size" or "micro.num-layers" (no
 * leading dashes), value is its text. Errors name the option. Later calls override earlier ones and
 * the file. */
enum enas_status enas__config_set_option(struct enas_config *c, const char *name, const char *value,
                                         struct enas_err *err);

/* What the option name (as for set_option) is: no setting, a BOOL setting (a bare `--flag` means true),
 * or a setting that needs a value. */
enum enas_option_kind { ENAS_OPTION_UNKNOWN, ENAS_OPTION_BOOL, ENAS_OPTION_VALUED };
enum enas_option_kind enas__config_option_kind(const struct enas_config *c, const char *name);

/* The values of one section, or NULL if no such section was declared. */
const struct enas_cfg *enas__config_section(const struct enas_config *c, const char *name);

/* `enas --help` text for every declared section: option, type, default, range/choices, help. */
void enas__config_print_help(const struct enas_config *c, FILE *f);

/* Writes every value (all sections) as a libconfig file that reproduces the run when loaded
 * with --config. Written to a temporary file and renamed, so a failure leaves no half file. */
enum enas_status enas__config_write(const struct enas_config *c, const char *path, struct enas_err *err);

/* Writes the settings of section `name` ("" the top level) as option lines, "micro.num_layers=15", each
 * readable back by enas__config_set_option(name before '=', value after it); with keys, only those keys.
 * A string value holding a line break is refused (ENAS_ERR_INVALID_ARG, naming the setting). */
enum enas_status enas__config_write_options(const struct enas_config *c, const char *name,
                                            const char *const *keys, size_t n_keys, FILE *f,
                                            struct enas_err *err);

#endif
