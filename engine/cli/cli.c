/* cli.c - the command table, the command line's parsing and usage, and what every command shares (cli.h). */
#include "cli/cli.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "train/run.h"
#include "util/path.h"

static const struct enas_command commands[] = {
    {.name = "search", .summary = "run an architecture search (the default)", .run = enas__cmd_search},
    {.name = "plugins",
     .summary = "list every plugin file, what it registered, and every failure",
     .run = enas__cmd_plugins},
    {.name = "retrain",
     .summary = "train the architecture ARCH (TF string or NNI JSON file, or a search run folder)\n"
                "from scratch in the space's final mode: test accuracy, checkpoints, model.enas",
     .takes_file = 1,
     .run = enas__cmd_retrain},
    {.name = "eval",
     .summary = "test a trained MODEL (model.enas or a retrain run folder): accuracy, per class,\n"
                "confusion matrix; --data FILE|DIR another test set, --json OUT;\n"
                "--images FILE... the top 3 classes of each picture (PNG, JPEG, ...)",
     .takes_file = 1,
     .run = enas__cmd_eval},
    {.name = "export",
     .summary = "write a trained MODEL (model.enas or a retrain run folder) as another format:\n"
                "--to onnx OUT.onnx (opset 13, NCHW input in [0, 1], the logits as output)",
     .takes_file = 1,
     .run = enas__cmd_export},
    {.name = "arch",
     .summary = "validate an architecture FILE (TF string or NNI JSON; - = stdin), print it\n"
                "--to tf|nni|nni-retiarii, draw it with --draw OUT.png|OUT.svg|OUT.dot",
     .takes_file = 1,
     .run = enas__cmd_arch},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static const struct enas_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

void enas__cli_usage(FILE *f)
{
    fputs("usage: enas [COMMAND] [--plugin-dir DIR]... [--config FILE] [--SETTING VALUE]...\n"
          "\n"
          "Efficient Neural Architecture Search (Pham et al. 2018) on CIFAR-10.\n"
          "\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *s = commands[i].summary, *nl = strchr(s, '\n');
        fprintf(f, "  %-10s %.*s\n", commands[i].name, nl ? (int)(nl - s) : (int)strlen(s), s);
        for (; nl; nl = strchr(s, '\n')) {
            s = nl + 1;
            const char *end = strchr(s, '\n');
            fprintf(f, "  %-10s %.*s\n", "", end ? (int)(end - s) : (int)strlen(s), s);
        }
    }
    fputs("\n"
          "program options:\n"
          "  --plugin-dir DIR   load every *.so in DIR (repeatable; default: $ENAS_PLUGIN_PATH,\n"
          "                     else <program dir>/plugins, else the installed plugin directory)\n"
          "  --config FILE      libconfig settings file; options below override it\n"
          "  --resume DIR       continue the run in DIR\n"
          "  -q, --quiet        errors only;  -v, --verbose  debug messages\n"
          "  -h, --help         this text, with every setting of the loaded plugins\n"
          "  --version          print the version and the plugin ABI version\n"
          "\n"
          "Every setting is also an option in kebab case (--batch-size 64); a plugin's settings\n"
          "take its name as a prefix (--efficient-accuracy.weight 0.05).\n",
          f);
}

/* ---- parsing ---- */

/* Takes the value of a program option: "--x=V" or "--x V". */
static const char *take_value(int argc, char **argv, int *i, const char *eq, const char *name)
{
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "enas: option --%s needs a value\n", name);
        return NULL;
    }
    return argv[++*i];
}

static int add_opt(struct cli *c, const char *name, const char *value)
{
    struct cli_opt *o = realloc(c->opts, (c->n_opts + 1) * sizeof *o);
    if (!o)
        return -1;
    c->opts = o;
    c->opts[c->n_opts++] = (struct cli_opt){.name = name, .value = value};
    return 0;
}

/* eval --images FILE...: the files after --images, up to the next option. */
static int add_image(struct cli *c, const char *file)
{
    const char **d = realloc(c->images, (c->n_images + 1) * sizeof *d);
    if (!d)
        return -1;
    c->images = d;
    c->images[c->n_images++] = file;
    return 0;
}

static int add_dir(struct cli *c, const char *dir)
{
    const char **d = realloc(c->dirs, (c->n_dirs + 1) * sizeof *d);
    if (!d)
        return -1;
    c->dirs = d;
    c->dirs[c->n_dirs++] = dir;
    return 0;
}

/* The program options that take a value: where it goes, and the one command that has it (NULL: all). */
enum valued_kind {
    VALUED_DIR,
    VALUED_CONFIG,
    VALUED_RESUME,
    VALUED_TO,
    VALUED_DRAW,
    VALUED_JSON,
    VALUED_IMAGES
};
static const struct {
    const char *name;
    enum valued_kind kind;
    const char *command;
} valued[] = {
    {"plugin-dir", VALUED_DIR, NULL}, {"config", VALUED_CONFIG, NULL},   {"resume", VALUED_RESUME, NULL},
    {"to", VALUED_TO, "arch"},        {"to", VALUED_TO, "export"},       {"draw", VALUED_DRAW, "arch"},
    {"json", VALUED_JSON, "eval"},    {"images", VALUED_IMAGES, "eval"},
};

static int set_valued(struct cli *c, enum valued_kind kind, const char *v)
{
    switch (kind) {
    case VALUED_DIR:
        return add_dir(c, v);
    case VALUED_CONFIG:
        c->config_file = v;
        break;
    case VALUED_RESUME:
        c->resume = v;
        break;
    case VALUED_TO:
        c->to = v;
        break;
    case VALUED_DRAW:
        c->draw = v;
        break;
    case VALUED_JSON:
        c->json = v;
        break;
    case VALUED_IMAGES:
        return add_image(c, v);
    }
    return 0;
}

/* A program option (not a setting): 1 handled, 0 not one of them, -1 error. */
static int program_option(struct cli *c, int argc, char **argv, int *i, const char *name, const char *eq)
{
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
#define IS(word) (len == strlen(word) && strncmp(name, word, len) == 0)
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        if (!IS(valued[k].name))
            continue;
        if (valued[k].command && strcmp(c->command->name, valued[k].command) != 0)
            continue; /* --to, --draw, --json, --images belong to their commands: elsewhere they are unknown
                         settings */
        const char *v = take_value(argc, argv, i, eq, valued[k].name);
        return v && set_valued(c, valued[k].kind, v) == 0 ? 1 : -1;
    }
    if (eq && (IS("help") || IS("version") || IS("quiet") || IS("verbose"))) {
        fprintf(stderr, "enas: option --%.*s takes no value\n", (int)len, name);
        return -1;
    }
    if (IS("help"))
        c->help = 1;
    else if (IS("version"))
        c->version = 1;
    else if (IS("quiet"))
        c->level = ENAS_LOG_ERROR;
    else if (IS("verbose"))
        c->level = ENAS_LOG_DEBUG;
    else
        return 0;
    return 1;
#undef IS
}

/* -h, -q, -v; -c FILE is --config FILE. 0 handled, -1 error. */
static int short_option(struct cli *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "-h") == 0)
        c->help = 1;
    else if (strcmp(a, "-q") == 0)
        c->level = ENAS_LOG_ERROR;
    else if (strcmp(a, "-v") == 0)
        c->level = ENAS_LOG_DEBUG;
    else if (strcmp(a, "-c") == 0)
        return (c->config_file = take_value(argc, argv, i, NULL, "config")) ? 0 : -1;
    else {
        fprintf(stderr, "enas: unknown option '%s' (see enas --help)\n", a);
        return -1;
    }
    return 0;
}

static int unknown_command(const char *name)
{
    fprintf(stderr, "enas: unknown command '%s'; commands:", name);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(stderr, "%s %s", i ? "," : "", commands[i].name);
    fputc('\n', stderr);
    return ENAS_EXIT_USAGE;
}

/* A setting given as an option: --name value, --name=value, or a bare --name (true) when the next
 * argument is another option or there is none. */
static int setting_option(struct cli *c, int argc, char **argv, int *i, const char *name, const char *eq)
{
    char *n = eq ? strndup(name, (size_t)(eq - name)) : strdup(name);
    const char *value = eq ? eq + 1 : NULL;
    if (!eq && *i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0)
        value = argv[++*i];
    if (!n || add_opt(c, n, value) != 0) {
        free(n);
        fprintf(stderr, "enas: out of memory\n");
        return -1;
    }
    return 0;
}

int enas__cli_parse(int argc, char **argv, struct cli *c)
{
    int i = 1;
    c->command = &commands[0];
    c->level = ENAS_LOG_INFO;
    if (argc > 1 && argv[1][0] != '-') {
        if (!(c->command = find_command(argv[1])))
            return unknown_command(argv[1]);
        i++;
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            if (c->command->takes_file && !c->file) {
                c->file = a; /* "-" is standard input */
                continue;
            }
            if (strcmp(c->command->name, "export") == 0 && !c->out) { /* export MODEL --to onnx OUT */
                c->out = a;
                continue;
            }
            if (c->n_images) { /* eval --images A B C */
                if (add_image(c, a) != 0)
                    return ENAS_EXIT_RUNTIME;
                continue;
            }
            fprintf(stderr, "enas: unexpected argument '%s' (settings are given as --name value)\n", a);
            return ENAS_EXIT_USAGE;
        }
        if (a[1] != '-') {
            if (short_option(c, argc, argv, &i) != 0)
                return ENAS_EXIT_USAGE;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        int r = program_option(c, argc, argv, &i, name, eq);
        if (r < 0 || (r == 0 && setting_option(c, argc, argv, &i, name, eq) != 0))
            return ENAS_EXIT_USAGE;
    }
    return ENAS_EXIT_OK;
}

void enas__cli_free(struct cli *c)
{
    for (size_t i = 0; i < c->n_opts; i++)
        free((char *)(uintptr_t)c->opts[i].name);
    free(c->opts);
    free(c->dirs);
    free(c->images);
}

/* ---- what the commands share ---- */

/* enas --help: a plugin that failed to load declared no settings; say which, where they would be listed,
 * and on stderr. The help is still complete for everything else, so it exits 0. */
static int full_help(const struct enas_host *h, const struct enas_config *cfg)
{
    enas__cli_usage(stdout);
    fputs("\nsettings (file key = option without dashes, with '_' for '-'):\n", stdout);
    enas__config_print_help(cfg, stdout);
    if (h->n_failures) {
        fputs("\nSettings missing: plugin files that failed to load (see `enas plugins`):\n", stdout);
        enas__loader_print_failures(h, stdout, "  ");
        fflush(stdout);
        enas__loader_print_failures(h, stderr, "enas: ");
        fprintf(stderr,
                "enas: warning: %zu plugin file(s) failed to load; their settings are not in --help\n",
                h->n_failures);
    }
    return ENAS_EXIT_OK;
}

int enas__cli_load_plugins(struct enas_host *h, const struct cli *c, int strict,
                           struct enas_load_report **rep)
{
    struct enas_err err = {0};
    char **dirs = NULL;
    size_t n = 0;
    if (enas__loader_dirs(c->dirs, c->n_dirs, &dirs, &n, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return ENAS_EXIT_USAGE;
    }
    enas__loader_load_all(h, (const char *const *)dirs, n, rep, &err);
    enas__loader_dirs_free(dirs, n);
    if (!*rep) { /* a directory could not be read (a failing file still gives a report) */
        fprintf(stderr, "enas: %s\n", err.msg);
        return ENAS_EXIT_RUNTIME;
    }
    if (strict && (*rep)->n_failed) {
        enas__loader_report_print(*rep, stderr, 0);
        fprintf(stderr, "enas: %zu plugin file(s) failed to load; fix or remove them (see `enas plugins`)\n",
                (*rep)->n_failed);
        return ENAS_EXIT_RUNTIME;
    }
    return ENAS_EXIT_OK;
}

/* One settings option. On --resume a setting that fixes what the checkpoint means may not change
 * (run_open.c says which). */
static int apply_option(struct enas_host *h, struct enas_config *cfg, const struct cli *c,
                        const struct cli_opt *o)
{
    struct enas_err err = {0};
    if (!o->value) {
        const enum enas_option_kind kind = enas__config_option_kind(cfg, o->name);
        if (kind == ENAS_OPTION_VALUED) {
            fprintf(stderr, "enas: option --%s needs a value\n", o->name);
            return ENAS_EXIT_USAGE;
        }
        if (kind == ENAS_OPTION_UNKNOWN) { /* the unknown name gets its message (with a suggestion) */
            enas__config_set_option(cfg, o->name, "", &err);
            fprintf(stderr, "enas: %s\n", err.msg);
            return ENAS_EXIT_USAGE;
        }
    }
    const char *val = o->value ? o->value : "true";
    if ((c->resume ? enas__run_resume_option(h, cfg, c->resume, o->name, val, &err)
                   : enas__config_set_option(cfg, o->name, val, &err)) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return ENAS_EXIT_USAGE;
    }
    return ENAS_EXIT_OK;
}

int enas__cli_settle_config(struct enas_host *h, struct enas_config *cfg, const struct cli *c)
{
    struct enas_err err = {0};
    if (enas__config_add_section(cfg, "", "enas", enas__core_settings, enas__core_n_settings, &err) !=
            ENAS_OK ||
        enas__registry_declare_sections(h->reg, cfg, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return ENAS_EXIT_RUNTIME;
    }
    enas__host_set_config(h, cfg);
    if (c->help)
        return ENAS_EXIT_OK;
    char resumed[ENAS__PATH_MAX];
    const char *file = c->config_file;
    if (c->resume) { /* a run continues with its own settings; options may still override them */
        if (c->config_file) {
            fprintf(stderr,
                    "enas: --resume uses the run's own config.cfg; give changes as options, not --config\n");
            return ENAS_EXIT_USAGE;
        }
        if (enas__path_join(resumed, sizeof resumed, &err, "%s/config.cfg", c->resume) != ENAS_OK) {
            fprintf(stderr, "enas: --resume: %s\n", err.msg);
            return ENAS_EXIT_USAGE;
        }
        file = resumed;
    }
    if (file && enas__config_load_file(cfg, file, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return ENAS_EXIT_USAGE;
    }
    for (size_t i = 0; i < c->n_opts; i++) {
        const int rc = apply_option(h, cfg, c, &c->opts[i]);
        if (rc != ENAS_EXIT_OK)
            return rc;
    }
    return ENAS_EXIT_OK;
}

int enas__cli_start(struct enas_host *h, const struct cli *c, struct enas_config *cfg, int strict, int *done)
{
    struct enas_load_report *rep = NULL;
    int rc = enas__cli_load_plugins(h, c, strict && !c->help, &rep);
    if (rc == ENAS_EXIT_OK && !strict && rep->n_failed)
        enas__loader_report_print(rep, stderr, 0); /* a broken plugin elsewhere need not stop this */
    enas__loader_report_destroy(rep);
    if (rc == ENAS_EXIT_OK)
        rc = enas__cli_settle_config(h, cfg, c);
    *done = rc != ENAS_EXIT_OK || c->help;
    if (rc == ENAS_EXIT_OK && c->help && strict)
        return full_help(h, cfg);
    if (rc == ENAS_EXIT_OK && c->help)
        enas__cli_usage(stdout);
    return rc;
}

int enas__cli_exit(enum enas_status st, const struct enas_err *err)
{
    if (st == ENAS_OK)
        return ENAS_EXIT_OK;
    fprintf(stderr, "enas: %s\n", err->msg);
    return st == ENAS_ERR_INTERRUPTED ? ENAS_EXIT_INTERRUPTED
           : st == ENAS_ERR_CONFIG    ? ENAS_EXIT_USAGE
                                      : ENAS_EXIT_RUNTIME;
}
