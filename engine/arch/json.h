/* json.h - a small JSON reader (RFC 8259 values; numbers as double) with errors that give the line and
 * column, for architecture files. One allocation block per document. */
#ifndef ENAS_ENGINE_JSON_H
#define ENAS_ENGINE_JSON_H

#include <stddef.h>

#include "enas/status.h"

enum enas_json_type {
    ENAS_JSON_NULL,
    ENAS_JSON_BOOL,
    ENAS_JSON_NUMBER,
    ENAS_JSON_STRING,
    ENAS_JSON_ARRAY,
    ENAS_JSON_OBJECT
};

struct enas_json {
    enum enas_json_type type;
    int line, col;           /* where the value starts (1-based) */
    double num;              /* NUMBER; BOOL: 0/1 */
    char *str;               /* STRING (NUL-terminated, escapes decoded); OBJECT members: key in keys[] */
    struct enas_json *items; /* ARRAY elements / OBJECT values */
    char **keys;             /* OBJECT keys, in document order */
    size_t n;                /* elements or members */
};

/* Parses text (NUL-terminated). On error: ENAS_ERR_DATA "NAME:LINE:COL: <what>", *out NULL. */
enum enas_status enas__json_parse(const char *text, const char *name, struct enas_json **out,
                                  struct enas_err *err);
void enas__json_free(struct enas_json *j); /* accepts NULL */

/* The member `key` of an object, or NULL. */
const struct enas_json *enas__json_get(const struct enas_json *obj, const char *key);

#endif
