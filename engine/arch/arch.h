/* arch.h - architectures of any space, read and written in the exchange formats of ENAS.md §10:
 * the TF integer string (the engine's own encoding: one int per single choice, one 0/1 per candidate
 * of an any-subset choice, in decision order) and NNI's JSON, keyed by the decisions' labels. */
#ifndef ENAS_ENGINE_ARCH_H
#define ENAS_ENGINE_ARCH_H

#include <stddef.h>

#include "enas/plugin.h"

/* A space instance, as far as architectures are concerned. */
struct enas_arch_space {
    const struct enas_space_desc *desc;
    void *state;
};

enum enas_arch_format {
    ENAS_ARCH_TF,          /* "0 3 0 0 1 0 ..." */
    ENAS_ARCH_NNI,         /* NNI-v1 ArchitectureCheckpoint JSON: sorted keys, indent 2, skip names */
    ENAS_ARCH_NNI_RETIARII /* NNI Retiarii export(): candidate indices, single choices collapsed */
};

/* Ints in an architecture of this space. */
size_t enas__arch_len(const struct enas_arch_space *s);

/* Reads an architecture; the format is recognised from the content ('{' starts JSON). `name` is
 * used in errors ("FILE: position 5 (InputChoice3): 2 is not 0 or 1", "FILE:3:7: ..." for JSON,
 * "FILE: unknown key 'X'", "FILE: missing key 'Y'", "FILE: 77 values; this space takes 78").
 * The result is validated (ranges, then the space's own rules). *arch is malloc'd. */
enum enas_status enas__arch_parse(const struct enas_arch_space *s, const char *text, const char *name,
                                  int **arch, size_t *len, struct enas_err *err);

/* Checks text as read (len bytes) before enas__arch_parse, which reads up to the first NUL byte: a NUL
 * byte inside it is ENAS_ERR_DATA "NAME:LINE:COL: a NUL byte (byte N of the file); an architecture file is
 * text". */
enum enas_status enas__arch_check_text(const char *text, size_t len, const char *name, struct enas_err *err);

/* Checks ranges and the space's validate(); errors name the position and the decision's label. */
enum enas_status enas__arch_validate(const struct enas_arch_space *s, const int *arch, size_t len,
                                     struct enas_err *err);

/* Writes arch in a format; returns malloc'd text ending in a newline, or NULL when out of memory. */
char *enas__arch_format(const struct enas_arch_space *s, const int *arch, size_t len,
                        enum enas_arch_format f);

#endif
