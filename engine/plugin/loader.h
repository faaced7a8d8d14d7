/* loader.h - finding plugin directories, dlopen-ing every *.so in them (sorted), running each
 * enas_plugin_init, and reporting per file what it registered or why it failed. */
#ifndef ENAS_ENGINE_LOADER_H
#define ENAS_ENGINE_LOADER_H

#include <stddef.h>
#include <stdio.h>

#include "enas/status.h"

struct enas_host;

/* A loaded plugin, kept by the host until it is destroyed. */
struct enas_plugin {
    int id;       /* the tag of its registrations */
    char *path;   /* as loaded: "<dir>/<file>.so" */
    void *handle; /* dlopen handle */
};

/* What happened to one file. */
struct enas_load_result {
    char *path;
    int plugin_id;           /* 0 when it failed */
    enum enas_status status; /* ENAS_OK: loaded and kept */
    char *message;           /* failure: "plugin 'PATH': ..." (no "enas: " prefix); "" when loaded */
    char **items;            /* what it registered: "space micro", "op conv (provider ref)" */
    size_t n_items;
};

struct enas_load_report {
    struct enas_load_result *files; /* in load order */
    size_t n_files;
    size_t n_failed;
};

/* The plugin directories of a run (*dirs: malloc'd strings, free with enas__loader_dirs_free):
 * the --plugin-dir values when any were given; else ENAS_PLUGIN_PATH (colon-separated; empty counts as
 * unset); else <dir of the running program>/plugins when it exists (a build tree); else the installed
 * plugin directory, found from the program's own location (/proc/self/exe), so an install anywhere, or
 * moved after installing, finds its plugins. A directory that does not exist is ENAS_ERR_NOT_FOUND
 * "plugin directory 'D' (WHERE FROM) does not exist"; one that cannot be opened otherwise is
 * ENAS_ERR_IO "... cannot be opened: <strerror>" (a symlink loop, no permission, not a directory). */
enum enas_status enas__loader_dirs(const char *const *flags, size_t n_flags, char ***dirs, size_t *n_dirs,
                                   struct enas_err *err);
/* The same with the environment spelled out (tests): env = ENAS_PLUGIN_PATH's value or NULL, exe = the
 * program's resolved path or NULL, installed = the installed plugin directory: absolute, or relative to
 * the program's directory ("../lib/enas/plugins"; needs exe). */
enum enas_status enas__loader_dirs_resolve(const char *const *flags, size_t n_flags, const char *env,
                                           const char *exe, const char *installed, char ***dirs,
                                           size_t *n_dirs, struct enas_err *err);
void enas__loader_dirs_free(char **dirs, size_t n);

/* Loads one file into h: dlopen (RTLD_NOW | RTLD_LOCAL), enas_plugin_init, registrations. While the
 * init runs, a fatal signal names the file on stderr before the process dies (crash_guard.h). On
 * failure its registrations are rolled back, the handle is closed, h records the failure
 * (enas__loader_print_failures), and err says
 *
 *   ENAS_ERR_PLUGIN_LOAD     plugin 'PATH': dlopen failed: <dlerror>
 *   ENAS_ERR_PLUGIN_SYMBOL   plugin 'PATH': no symbol 'enas_plugin_init' (not an ENAS plugin?)
 *   ENAS_ERR_ABI             plugin 'PATH': enas_plugin_init: ABI mismatch (...); rebuild it against
 *                            this include/enas
 *   (the plugin's status)    plugin 'PATH': enas_plugin_init failed: <plugin's message>
 *   (the registration's)     plugin 'PATH': <registration error>, e.g. op 'x' (provider 'y') already
 *                            registered by 'OTHER'
 *
 * res (may be NULL) is filled either way; free it with enas__loader_result_fini. */
enum enas_status enas__loader_load_one(struct enas_host *h, const char *path, struct enas_load_result *res,
                                       struct enas_err *err);
void enas__loader_result_fini(struct enas_load_result *res);

/* Loads every *.so (regular file or symlink) of each dir, each dir in strcmp order. A failing file does
 * not stop the others. *rep (destroy with enas__loader_report_destroy) lists every file; it is NULL only
 * when a directory cannot be read or memory runs out. Returns ENAS_OK when every file loaded, else the
 * first failure's status and message (the report has them all). */
enum enas_status enas__loader_load_all(struct enas_host *h, const char *const *dirs, size_t n_dirs,
                                       struct enas_load_report **rep, struct enas_err *err);
void enas__loader_report_destroy(struct enas_load_report *rep); /* accepts NULL */

/* Prints failures as "enas: plugin 'PATH': ..." lines; verbose also prints each loaded file's path
 * followed by its registrations, one "  space micro" line each. */
void enas__loader_report_print(const struct enas_load_report *rep, FILE *f, int verbose);

/* `enas plugins`: every plugin file in load order, a loaded one with what it registered (descriptions
 * included), a failed one as "PATH" and "  FAILED: <why>", then the number of failures and the selected
 * backend. */
void enas__loader_print_list(const struct enas_host *h, FILE *f);

/* Every file that failed to load into h (by any enas__loader_load_one), one "<prefix>plugin 'PATH': why"
 * line each; returns how many. */
size_t enas__loader_print_failures(const struct enas_host *h, FILE *f, const char *prefix);

/* dlclose (skipped when the handle is NULL) and frees path. */
void enas__loader_unload(struct enas_plugin *p);

#endif
