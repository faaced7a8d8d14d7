/* main.c - the enas program: command line only. It maps statuses to exit codes:
 * 0 success, 1 runtime failure (plugins, data, not available), 2 usage or settings error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_arch.h"
#include "config.h"
#include "host.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"
#include "run.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

struct cli_opt {
    const char *name;  /* without dashes: "batch-size", "micro.num-layers" */
    const char *value; /* NULL: given bare (allowed for true/false settings only) */
};

struct cli {
    const char *command; /* "search" unless the first argument names another */
    const char **dirs;   /* --plugin-dir, in order */
    size_t n_dirs;
    const char *config_file;
    const char *resume;
    const char *file, *to, *draw; /* arch: FILE, --to FORMAT, --draw OUT */
    int help, version;
    enum enas_log_level level;
    struct cli_opt *opts;
    size_t n_opts;
};

static const char *const commands[] = {"search", "plugins", "retrain", "eval", "arch"};

static void usage(FILE *f)
{
    fputs("usage: enas [COMMAND] [--plugin-dir DIR]... [--config FILE] [--SETTING VALUE]...\n"
          "\n"
          "Efficient Neural Architecture Search (Pham et al. 2018) on CIFAR-10.\n"
          "\n"
          "commands:\n"
          "  search     run an architecture search (the default)\n"
          "  plugins    list every plugin file, what it registered, and every failure\n"
          "  retrain    train a found architecture from scratch (not available yet)\n"
          "  eval       evaluate a trained network (not available yet)\n"
          "  arch       validate an architecture FILE (TF string or NNI JSON; - = stdin), print it\n"
          "             --to tf|nni|nni-retiarii, draw it with --draw OUT.png|OUT.svg|OUT.dot\n"
          "\n"
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

static int is_command(const char *s)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(s, commands[i]) == 0)
            return 1;
    return 0;
}

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
    c->opts[c->n_opts].name = name;
    c->opts[c->n_opts].value = value;
    c->n_opts++;
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

/* A program option (not a setting): 1 handled, 0 not one of them, -1 error. */
static int program_option(struct cli *c, int argc, char **argv, int *i, const char *name, const char *eq)
{
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
#define IS(word) (len == strlen(word) && strncmp(name, word, len) == 0)
    static const char *const valued[] = {"plugin-dir", "config", "resume", "to", "draw"};
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        if (!IS(valued[k]))
            continue;
        if ((k == 3 || k == 4) && strcmp(c->command, "arch") != 0)
            return 0; /* --to and --draw belong to `enas arch` only */
        const char *v = take_value(argc, argv, i, eq, valued[k]);
        const char **slot[] = {NULL, &c->config_file, &c->resume, &c->to, &c->draw};
        if (!v || (k == 0 && add_dir(c, v) != 0))
            return -1;
        if (k > 0)
            *slot[k] = v;
        return 1;
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

static int parse_short(struct cli *c, const char *a)
{
    if (strcmp(a, "-h") == 0)
        c->help = 1;
    else if (strcmp(a, "-q") == 0)
        c->level = ENAS_LOG_ERROR;
    else if (strcmp(a, "-v") == 0)
        c->level = ENAS_LOG_DEBUG;
    else if (strcmp(a, "-c") == 0)
        return -2; /* handled by the caller: takes a value */
    else {
        fprintf(stderr, "enas: unknown option '%s' (see enas --help)\n", a);
        return -1;
    }
    return 0;
}

/* Splits argv into the command, program options and settings options. Settings are only checked later,
 * once the plugins that declare them are loaded. */
static int parse_args(int argc, char **argv, struct cli *c)
{
    int i = 1;
    c->command = "search";
    c->level = ENAS_LOG_INFO;
    if (argc > 1 && argv[1][0] != '-') {
        if (!is_command(argv[1])) {
            fprintf(stderr, "enas: unknown command '%s'; commands: search, plugins, retrain, eval, arch\n",
                    argv[1]);
            return -1;
        }
        c->command = argv[i++];
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            if (strcmp(c->command, "arch") == 0 && !c->file) {
                c->file = a; /* "-" is standard input */
                continue;
            }
            fprintf(stderr, "enas: unexpected argument '%s' (settings are given as --name value)\n", a);
            return -1;
        }
        if (a[1] != '-') {
            int r = parse_short(c, a);
            if (r == -2 && !(c->config_file = take_value(argc, argv, &i, NULL, "config")))
                return -1;
            if (r == -1)
                return -1;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        int r = program_option(c, argc, argv, &i, name, eq);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        char *n = eq ? strndup(name, (size_t)(eq - name)) : strdup(name);
        const char *value = eq ? eq + 1 : NULL;
        /* "--flag" followed by another option (or nothing) is a bare boolean */
        if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            value = argv[++i];
        if (!n || add_opt(c, n, value) != 0) {
            free(n);
            fprintf(stderr, "enas: out of memory\n");
            return -1;
        }
    }
    return 0;
}

static void cli_free(struct cli *c)
{
    for (size_t i = 0; i < c->n_opts; i++)
        free((char *)(uintptr_t)c->opts[i].name);
    free(c->opts);
    free(c->dirs);
}

/* Loads the plugins of the run. strict: any failing file fails the run (search); otherwise failures
 * are listed and the rest is used (plugins, --help). */
static int load_plugins(struct enas_host *h, const struct cli *c, int strict, struct enas_load_report **rep)
{
    struct enas_err err = {0};
    char **dirs = NULL;
    size_t n = 0;
    if (enas__plugin_dirs(c->dirs, c->n_dirs, &dirs, &n, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return EXIT_USAGE;
    }
    enas__plugins_load(h, (const char *const *)dirs, n, rep, &err);
    enas__plugin_dirs_free(dirs, n);
    if (!*rep) { /* a directory could not be read (a failing file still gives a report) */
        fprintf(stderr, "enas: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    if (strict && (*rep)->n_failed) {
        enas__load_report_print(*rep, stderr, 0);
        fprintf(stderr, "enas: %zu plugin file(s) failed to load; fix or remove them (see `enas plugins`)\n",
                (*rep)->n_failed);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* Declares every section, then applies the file and the options in order. */
static int settle_config(struct enas_host *h, struct enas_config *cfg, const struct cli *c)
{
    struct enas_err err = {0};
    if (enas__config_add_section(cfg, "", "enas", enas__core_settings, enas__n_core_settings, &err) !=
            ENAS_OK ||
        enas__registry_declare_sections(h->reg, cfg, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    enas__host_set_config(h, cfg);
    if (c->help)
        return 0;
    char resumed[4200];
    const char *file = c->config_file;
    if (c->resume) { /* a run continues with its own settings; options may still override them */
        if (c->config_file) {
            fprintf(stderr,
                    "enas: --resume uses the run's own config.cfg; give changes as options, not --config\n");
            return EXIT_USAGE;
        }
        snprintf(resumed, sizeof resumed, "%s/config.cfg", c->resume);
        file = resumed;
    }
    if (file && enas__config_load_file(cfg, file, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < c->n_opts; i++) {
        const char *v = c->opts[i].value;
        if (!v && !enas__config_option_is_bool(cfg, c->opts[i].name)) {
            /* an unknown name gets its own message (with a suggestion) from set_option */
            if (enas__config_set_option(cfg, c->opts[i].name, "", &err) == ENAS_OK ||
                err.code != ENAS_ERR_CONFIG || !strstr(err.msg, "unknown option"))
                snprintf(err.msg, sizeof err.msg, "option --%s needs a value", c->opts[i].name);
            fprintf(stderr, "enas: %s\n", err.msg);
            return EXIT_USAGE;
        }
        /* on --resume a setting that fixes what the checkpoint means may not change (run.c says which) */
        const char *val = v ? v : "true";
        if ((c->resume ? enas__run_resume_option(h, cfg, c->resume, c->opts[i].name, val, &err)
                       : enas__config_set_option(cfg, c->opts[i].name, val, &err)) != ENAS_OK) {
            fprintf(stderr, "enas: %s\n", err.msg);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static int cmd_plugins(struct enas_host *h, const struct cli *c)
{
    struct enas_load_report *rep = NULL;
    int rc = load_plugins(h, c, 0, &rep);
    if (rc == 0) {
        enas__plugins_list_main(h, stdout);
        fflush(stdout);
        if (rep->n_failed) {
            enas__load_report_print(rep, stderr, 0);
            rc = EXIT_RUNTIME;
        }
    }
    enas__load_report_destroy(rep);
    return rc;
}

/* Every name the run needs must be registered; each missing one is reported. */
static int check_names(const struct enas_host *h, const struct enas_cfg *core)
{
    struct enas_err err = {0};
    int bad = 0;
    if (!enas__registry_find_backend(h->reg, enas__cfg_string(core, "backend"), &err))
        bad = fprintf(stderr, "enas: backend: %s\n", err.msg);
    if (!enas__registry_find_space(h->reg, enas__cfg_string(core, "space"), &err))
        bad = fprintf(stderr, "enas: space: %s\n", err.msg);
    if (!enas__registry_find_loss(h->reg, enas__cfg_string(core, "loss"), &err))
        bad = fprintf(stderr, "enas: loss: %s\n", err.msg);
    if (!enas__registry_find_reward(h->reg, enas__cfg_string(core, "reward"), &err))
        bad = fprintf(stderr, "enas: reward: %s\n", err.msg);
    return bad ? EXIT_USAGE : 0;
}

static int cmd_arch(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    struct enas_load_report *rep = NULL;
    int rc = load_plugins(h, c, 0, &rep);
    if (rc == 0 && rep->n_failed)
        enas__load_report_print(rep, stderr, 0); /* a broken plugin elsewhere need not stop this */
    enas__load_report_destroy(rep);
    if (rc == 0)
        rc = settle_config(h, cfg, c);
    if (rc == 0 && c->help) {
        usage(stdout);
        return 0;
    }
    return rc ? rc : enas__cmd_arch(h, cfg, c->file, c->to, c->draw, stdout);
}

static int cmd_search(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    struct enas_load_report *rep = NULL;
    int rc = load_plugins(h, c, !c->help, &rep);
    enas__load_report_destroy(rep);
    if (rc == 0)
        rc = settle_config(h, cfg, c);
    if (rc != 0)
        return rc;
    if (c->help) {
        usage(stdout);
        fputs("\nsettings (file key = option without dashes, with '_' for '-'):\n", stdout);
        enas__config_print_help(cfg, stdout);
        /* a plugin that failed to load declared no settings: say which, where they would be listed, and on
         * stderr; the help itself is still complete for everything else, so it exits 0 */
        if (h->n_failures) {
            fputs("\nSettings missing: plugin files that failed to load (see `enas plugins`):\n", stdout);
            enas__plugins_print_failures(h, stdout, "  ");
            fflush(stdout);
            enas__plugins_print_failures(h, stderr, "enas: ");
            fprintf(stderr,
                    "enas: warning: %zu plugin file(s) failed to load; their settings are not in --help\n",
                    h->n_failures);
        }
        return 0;
    }
    if ((rc = check_names(h, enas__config_section(cfg, ""))) != 0)
        return rc;
    struct enas_run run;
    struct enas_err err = {0};
    enum enas_status st = enas__run_open(&run, h, cfg, c->resume, &err);
    if (st == ENAS_OK)
        st = enas__run_search(&run, &err);
    enas__run_close(&run);
    if (st == ENAS_OK)
        return 0;
    fprintf(stderr, "enas: %s\n", err.msg);
    return st == ENAS_ERR_INTERRUPTED ? 130 : st == ENAS_ERR_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    if (parse_args(argc, argv, &c) != 0) {
        cli_free(&c);
        return EXIT_USAGE;
    }
    if (c.version) {
        printf("enas %s (plugin ABI %d)\n", ENAS_VERSION, ENAS_ABI_VERSION);
        cli_free(&c);
        return 0;
    }
    enas__log_set_level(c.level);
    /* OpenMP threads of the compute plugins share two cores with the batch workers: spinning while
     * idle (libgomp's default) cost 2-7x in images/s here. Set before any plugin loads libgomp. */
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    struct enas_err err = {0};
    struct enas_host *h = NULL;
    struct enas_config *cfg = NULL;
    int rc;
    if (enas__host_create(&h, &err) != ENAS_OK || enas__config_create(&cfg, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        rc = EXIT_RUNTIME;
    } else if (strcmp(c.command, "plugins") == 0) {
        rc = cmd_plugins(h, &c);
    } else if (strcmp(c.command, "search") == 0) {
        rc = cmd_search(h, &c, cfg);
    } else if (strcmp(c.command, "arch") == 0) {
        rc = cmd_arch(h, &c, cfg);
    } else {
        fprintf(stderr, "enas: %s: not available yet (it lands with the search-space and trainer work)\n",
                c.command);
        rc = EXIT_RUNTIME;
    }
    /* the config borrows settings tables that live in the plugins: free it before they are closed */
    enas__config_destroy(cfg);
    enas__host_destroy(h);
    cli_free(&c);
    return rc;
}
