/* settings.h - how a plugin declares its settings, and the read-only view it gets of their values.
 * The engine validates every value (type, range, allowed words) before a plugin sees it, turns each
 * key into a command-line option, and lists them in `enas --help`. */
#ifndef ENAS_SETTINGS_H
#define ENAS_SETTINGS_H

#include <math.h>
#include <stddef.h>

enum enas_setting_type {
    ENAS_SET_INT,   /* 64-bit integer */
    ENAS_SET_FLOAT, /* double; an integer literal is accepted too */
    ENAS_SET_BOOL,  /* true/false */
    ENAS_SET_STRING /* free text, or one of `choices` when that is set */
};

/* Use for a bound that does not exist. */
#define ENAS_UNBOUNDED INFINITY

/* One setting. Arrays of these are static const data in the plugin. */
struct enas_setting {
    const char *key; /* [a-z0-9_]+, e.g. "num_layers"; option --<section>.num-layers */
    enum enas_setting_type type;
    double def;          /* default for INT, FLOAT, BOOL (0/1) */
    const char *def_str; /* default for STRING; NULL means "" */
    double min, max;     /* inclusive range for INT and FLOAT: use -ENAS_UNBOUNDED/ENAS_UNBOUNDED */
    const char *choices; /* STRING only, optional: allowed words separated by '|', e.g. "half|tf" */
    const char *help;    /* one line for --help */
};

/* Validated values of one section (a plugin's settings, or an op instance's attributes).
 * Opaque; read through the host API's cfg_* members. Borrowed: valid while the plugin's object lives. */
struct enas_cfg;

#endif
