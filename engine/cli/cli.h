/* cli.h - the enas program: its parsed command line, its command table, and what every command shares
 * (loading the plugins, settling the settings). One file per command, cmd_<name>.c; a new command is a
 * row of the table in cli.c and its file. */
#ifndef ENAS_ENGINE_CLI_H
#define ENAS_ENGINE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "enas/plugin.h" /* enum enas_log_level */

struct enas_host;
struct enas_config;
struct enas_load_report;

/* Exit codes: success, a runtime failure (plugins, data, disk), a usage or settings error, Ctrl-C. */
enum { ENAS_EXIT_OK = 0, ENAS_EXIT_RUNTIME = 1, ENAS_EXIT_USAGE = 2, ENAS_EXIT_INTERRUPTED = 130 };

struct cli_opt {
    const char *name;  /* without dashes: "batch-size", "micro.num-layers" (owned) */
    const char *value; /* NULL: given bare (allowed for true/false settings only) */
};

struct cli {
    const struct enas_command *command; /* search unless the first argument names another */
    const char **dirs;                  /* --plugin-dir, in order */
    size_t n_dirs;
    const char *config_file;
    const char *resume;
    const char *file, *to, *draw; /* arch: FILE, --to FORMAT, --draw OUT; retrain ARCH; eval MODEL */
    const char *json;             /* eval --json OUT */
    const char *out;              /* export: OUT */
    const char **images;          /* eval --images FILE... */
    size_t n_images;
    int help, version;
    enum enas_log_level level;
    struct cli_opt *opts;
    size_t n_opts;
};

/* A command: its name, its line in the usage text (a '\n' continues it on an indented line), whether it
 * takes a FILE argument, and what runs it (returns an exit code). */
struct enas_command {
    const char *name;
    const char *summary;
    int takes_file;
    int (*run)(struct enas_host *h, const struct cli *c, struct enas_config *cfg);
};

/* Splits argv into the command, program options and settings options (checked later, once the plugins
 * that declare them are loaded). A usage error is printed; returns ENAS_EXIT_OK or ENAS_EXIT_USAGE. */
int enas__cli_parse(int argc, char **argv, struct cli *c);
void enas__cli_free(struct cli *c);

/* The usage text: the command table's lines and the program options. */
void enas__cli_usage(FILE *f);

/* Loads the plugins of --plugin-dir (or the default directories). strict: any failing file fails the
 * command (search); otherwise failures are listed by the caller and the rest is used. *rep is the
 * loader's report (destroy it), NULL when a directory could not be read. Returns an exit code. */
int enas__cli_load_plugins(struct enas_host *h, const struct cli *c, int strict,
                           struct enas_load_report **rep);

/* Declares every section (the engine's and the loaded plugins'), then applies --config (or, on --resume,
 * the run's config.cfg) and the options in order. Returns an exit code; errors are printed. */
int enas__cli_settle_config(struct enas_host *h, struct enas_config *cfg, const struct cli *c);

/* enas eval's and enas export's start (cmd_eval.c): the model file (file, or file/model.enas for a folder,
 * into path) read, its settings applied to cfg, its network built (enas__run_open_eval with images: empty
 * for the data setting's test images) and its weights loaded. *opened says whether run must be closed, also
 * on error. Errors name the file. */
struct enas_cifar10;
struct enas_run;
enum enas_status enas__cli_open_model(struct enas_host *h, struct enas_config *cfg, const char *file,
                                      struct enas_cifar10 *images, struct enas_run *run, char *path,
                                      size_t cap, int *opened, struct enas_err *err);

/* What every command does first: loads the plugins (strict: any failing file fails the command, as a
 * search or a retrain needs; otherwise failures are printed and the rest is used), settles the settings,
 * and answers --help (strict: the usage and every setting; otherwise the usage). *done is set when the
 * command has nothing more to do (an error, or --help); the exit code is returned. */
int enas__cli_start(struct enas_host *h, const struct cli *c, struct enas_config *cfg, int strict, int *done);

/* A run's end as an exit code: 0, or its message printed ("enas: ...") and 130 after an interruption, 2
 * for a settings error, 1 otherwise. */
int enas__cli_exit(enum enas_status st, const struct enas_err *err);

/* The commands (cmd_<name>.c). */
int enas__cmd_search(struct enas_host *h, const struct cli *c, struct enas_config *cfg);
int enas__cmd_plugins(struct enas_host *h, const struct cli *c, struct enas_config *cfg);
int enas__cmd_arch(struct enas_host *h, const struct cli *c, struct enas_config *cfg);
int enas__cmd_retrain(struct enas_host *h, const struct cli *c, struct enas_config *cfg);
int enas__cmd_eval(struct enas_host *h, const struct cli *c, struct enas_config *cfg);
int enas__cmd_export(struct enas_host *h, const struct cli *c, struct enas_config *cfg);

#endif
