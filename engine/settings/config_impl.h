/* config_impl.h - what the files of settings/ share and no other folder sees: the layout of a section's
 * values (cfg.c) and of the whole configuration (config.c, config_file.c), and the helpers they share. */
#ifndef ENAS_ENGINE_CONFIG_IMPL_H
#define ENAS_ENGINE_CONFIG_IMPL_H

#include <stddef.h>

#include "settings/config.h"
#include "settings/schema.h"

struct enas_cfg {
    const char *name;                 /* section name for messages: "" top level, NULL attributes */
    const struct enas_setting *table; /* borrowed from the declarer */
    size_t n;
    union enas_value *vals; /* vals[k] is table[k]'s value */
};

struct cfg_section {
    char *name, *owner;
    struct enas_cfg cfg;
};

struct enas_config {
    struct cfg_section **secs; /* pointers, so that an enas_cfg handed out stays put when adding */
    size_t n, cap;
};

/* ---- cfg.c ---- */

/* Sets up s over table t (borrowed) with every value at its default; name is for messages ("" top level,
 * NULL attributes). */
enum enas_status enas__cfg_init(struct enas_cfg *s, const char *name, const struct enas_setting *t, size_t n,
                                struct enas_err *err);
/* The index of key in s's table, or -1. */
long enas__cfg_find_key(const struct enas_cfg *s, const char *key);
/* A copy of s's values (strings duplicated), or NULL when out of memory; freed with enas__cfg_values_free. */
union enas_value *enas__cfg_values_copy(const struct enas_cfg *s);
void enas__cfg_values_free(const struct enas_cfg *s, union enas_value *v);
/* Parses text by d's type into *out (a fresh string for STRING); err gets "<what>; allowed: ...". */
enum enas_status enas__cfg_value_from_text(const struct enas_setting *d, const char *text,
                                           union enas_value *out, struct enas_err *err);
/* Puts v into slot, freeing the string it replaces. */
void enas__cfg_store(const struct enas_setting *d, union enas_value *slot, union enas_value v);
/* "sec." (or "" for the top level and attributes) in buf, so that messages say 'micro.num_layers'. */
const char *enas__cfg_prefix(const struct enas_cfg *s, char *buf, size_t cap);

/* ---- config.c ---- */

/* The section called name, or NULL. */
struct cfg_section *enas__config_find_section(const struct enas_config *c, const char *name);

#endif
