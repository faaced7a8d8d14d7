/* schema.h - settings tables (struct enas_setting[], the engine's, a plugin's, an op's attributes): the one
 * home of their rules. What a name is, what a choice list means, what a table must hold, whether a value
 * is allowed, and the words that say what is allowed in messages and in --help. */
#ifndef ENAS_ENGINE_SCHEMA_H
#define ENAS_ENGINE_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "enas/settings.h"
#include "enas/status.h"

/* How much of a plugin's table (and descriptor) the engine reads. Its strings are read at most this far
 * (one byte more, to see the end), so a string without its NUL or an absurd one is refused with its owner
 * named instead of being read past its end, or printed a megabyte at a time; the count bounds a table
 * whose n_settings does not match it. */
#define ENAS__NAME_MAX     63   /* names, providers, setting keys and section names */
#define ENAS__TEXT_MAX     1024 /* a description, a setting's help, string default or choices list */
#define ENAS__SETTINGS_MAX 1024 /* settings (or op attributes) of one table */

/* One setting's value; which member is meant is the setting's type. */
union enas_value {
    int64_t i;
    double f;
    int b;
    char *s; /* owned by whoever holds the value */
};

/* 1 if s is a non-empty [a-z0-9_]+ word of at most ENAS__NAME_MAX bytes (read no further). */
int enas__schema_is_name(const char *s);

/* The error for a name that enas__schema_is_name refused: what names it ("loss name") and what is wrong
 * with it. Returns ENAS_ERR_INVALID_ARG. */
enum enas_status enas__schema_bad_name(const char *what, const char *s, struct enas_err *err);

/* A table's or descriptor's text (a description, help, a default, choices): NULL or at most
 * ENAS__TEXT_MAX bytes; one line (no control characters) when one_line. owner and member name it in the
 * error ("space 'micro': setting 'mode'", "help"). */
enum enas_status enas__schema_check_text(const char *owner, const char *member, const char *t, int one_line,
                                         struct enas_err *err);

/* 1 if word is one of the '|'-separated words of choices ("half|tf"). */
int enas__schema_is_choice(const char *choices, const char *word);

/* Checks a table before anything reads it: at most ENAS__SETTINGS_MAX entries, keys names and unique,
 * help one line and texts at most ENAS__TEXT_MAX, types known, ranges not empty, and every default a
 * value the table itself accepts. what names the table's owner in messages ("space 'micro'", a file). */
enum enas_status enas__schema_validate(const struct enas_setting *t, size_t n, const char *what,
                                       struct enas_err *err);

/* Range, finiteness and choices of a value already of d's type (str: its text, for STRING).
 * err gets "<what is wrong>; allowed: <enas__schema_allowed>" with ENAS_ERR_CONFIG. */
enum enas_status enas__schema_check_value(const struct enas_setting *d, const char *str,
                                          const union enas_value *v, struct enas_err *err);

/* "an integer in [1, 65536]", "a number >= 0", "true or false", "one of half|tf", "any text". */
void enas__schema_allowed(const struct enas_setting *d, char *buf, size_t cap);

/* "[1, 65536]", ">= 1", "<= 5" or "" (unbounded, or not a number). */
void enas__schema_range(const struct enas_setting *d, char *buf, size_t cap);

/* The default as --help shows it: "128", "0.05", "true", "\"\"". */
void enas__schema_default(const struct enas_setting *d, char *buf, size_t cap);

/* "Did you mean": struct enas_suggestion sg = {.query = q, .dist = SIZE_MAX}; then enas__schema_suggest for
 * each candidate name; sg.best is then the closest one, or empty when none is close (at most 2 edits, and
 * fewer edits than the query has letters, so that a two-letter typo does not match every short key). */
struct enas_suggestion {
    const char *query;
    size_t dist;
    char best[2 * ENAS__NAME_MAX + 2];
};
void enas__schema_suggest(struct enas_suggestion *sg, const char *cand);

/* Copies src into dst (cap bytes) with every `from` replaced by `to` (option and file spellings of a key:
 * '-' and '_'); 0 if it does not fit. */
int enas__schema_swap(char *dst, size_t cap, const char *src, char from, char to);

#endif
