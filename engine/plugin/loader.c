/* loader.c - find the plugin directories, dlopen each *.so in sorted order, check its entry
 * point, run its init, and roll back whatever a failing plugin registered before closing it.
 * This is the only file that converts a data pointer (dlsym's result) to a function pointer. */
#define _GNU_SOURCE /* RTLD_NODELETE */ /* NOLINT(bugprone-reserved-identifier) */
#include "plugin/loader.h"

#include "plugin/crash_guard.h"
#include "plugin/host.h"
#include "plugin/registry.h"
#include "util/err.h"
#include "util/log.h"

#include "enas/plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The installed plugin directory: relative to the directory of the installed program (so an install
 * made anywhere, or moved afterwards, finds its own plugins), or absolute when the build chose absolute
 * install directories. engine/CMakeLists.txt sets it from GNUInstallDirs. */
#ifndef ENAS_DEFAULT_PLUGIN_DIR
#define ENAS_DEFAULT_PLUGIN_DIR "../lib/enas/plugins"
#endif

/* ---- directories ---- */

void enas__loader_dirs_free(char **dirs, size_t n)
{
    for (size_t i = 0; dirs && i < n; i++)
        free(dirs[i]);
    free(dirs);
}

/* ENAS_OK when d opens as a directory; else why not, in the words of the system (a symlink loop, no
 * permission, not a directory), or "does not exist". */
static enum enas_status check_dir(const char *d, const char *from, struct enas_err *err)
{
    DIR *dp = opendir(d);
    if (dp) {
        closedir(dp);
        return ENAS_OK;
    }
    int e = errno;
    if (e == ENOENT)
        return enas_err_set(err, ENAS_ERR_NOT_FOUND, "plugin directory '%s' (%s) does not exist", d, from);
    return enas_err_set(err, ENAS_ERR_IO, "plugin directory '%s' (%s) cannot be opened: %s", d, from,
                        strerror(e));
}

static enum enas_status dirs_push(char ***dirs, size_t *n, const char *s, size_t len, const char *from,
                                  struct enas_err *err)
{
    char *d = strndup(s, len);
    char **grown = d ? realloc(*dirs, (*n + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(d);
        return enas_err_set(err, ENAS_ERR_NOMEM, "plugin directories: out of memory");
    }
    *dirs = grown;
    (*dirs)[(*n)++] = d;
    return check_dir(d, from, err);
}

/* <dir of exe>/plugins (the build tree's layout), if something of that name is there: into buf. A
 * `plugins` that is there but cannot be opened is taken, so that the reason is reported. */
static int exe_plugins(const char *exe, char *buf, size_t cap)
{
    const char *slash = exe ? strrchr(exe, '/') : NULL;
    struct stat st;
    if (!slash)
        return 0;
    int n = snprintf(buf, cap, "%.*s/plugins", (int)(slash - exe), exe);
    return n > 0 && (size_t)n < cap && lstat(buf, &st) == 0;
}

/* The installed plugin directory into buf: installed as is when absolute; else relative to the directory
 * of exe, each leading "../" of it taking the last component off that directory, so that
 * "/opt/enas/bin/enas" and "../lib/enas/plugins" give "/opt/enas/lib/enas/plugins". exe is the
 * program's resolved path (/proc/self/exe), whose directories are real ones, so removing a component
 * by its name is the same as going up. 0 when exe is unknown or the result does not fit. */
static int installed_dir(const char *exe, const char *installed, char *buf, size_t cap)
{
    if (installed[0] == '/') {
        int n = snprintf(buf, cap, "%s", installed);
        return n > 0 && (size_t)n < cap;
    }
    const char *slash = exe ? strrchr(exe, '/') : NULL;
    if (!slash)
        return 0;
    size_t dl = (size_t)(slash - exe);
    const char *rel = installed;
    for (;;) {
        if (strncmp(rel, "./", 2) == 0) {
            rel += 2;
        } else if (strncmp(rel, "../", 3) == 0 || strcmp(rel, "..") == 0) {
            rel += rel[2] ? 3 : 2;
            while (dl > 0 && exe[dl - 1] != '/')
                dl--;
            while (dl > 0 && exe[dl - 1] == '/')
                dl--;
        } else {
            break;
        }
    }
    int n = snprintf(buf, cap, "%.*s/%s", (int)dl, exe, rel);
    if (n > 1 && (size_t)n < cap && buf[n - 1] == '/')
        buf[--n] = '\0'; /* "bin/.." alone leaves a trailing slash */
    return n > 0 && (size_t)n < cap;
}

enum enas_status enas__loader_dirs_resolve(const char *const *flags, size_t n_flags, const char *env,
                                           const char *exe, const char *installed, char ***dirs,
                                           size_t *n_dirs, struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    *dirs = NULL;
    *n_dirs = 0;
    if (n_flags > 0) {
        for (size_t i = 0; i < n_flags && st == ENAS_OK; i++)
            st = dirs_push(dirs, n_dirs, flags[i], strlen(flags[i]), "from --plugin-dir", err);
    } else if (env && env[strspn(env, ":")]) {
        /* empty components ("a::b", a trailing ':') are skipped; a value of only those counts as unset */
        for (const char *p = env; *p && st == ENAS_OK;) {
            size_t len = strcspn(p, ":");
            if (len > 0)
                st = dirs_push(dirs, n_dirs, p, len, "from ENAS_PLUGIN_PATH", err);
            p += len + (p[len] == ':');
        }
    } else {
        char buf[PATH_MAX];
        if (exe_plugins(exe, buf, sizeof buf))
            st = dirs_push(dirs, n_dirs, buf, strlen(buf), "next to the program", err);
        else if (installed_dir(exe, installed, buf, sizeof buf))
            st = dirs_push(dirs, n_dirs, buf, strlen(buf),
                           "the installed default; use --plugin-dir or ENAS_PLUGIN_PATH", err);
        else
            st = enas_err_set(err, ENAS_ERR_NOT_FOUND,
                              "no plugin directory: the installed one is '%s' from the program's directory, "
                              "which is unknown (%s); use --plugin-dir or ENAS_PLUGIN_PATH",
                              installed, exe ? exe : "/proc/self/exe cannot be read");
    }
    if (st != ENAS_OK) {
        enas__loader_dirs_free(*dirs, *n_dirs);
        *dirs = NULL;
        *n_dirs = 0;
    }
    return st;
}

enum enas_status enas__loader_dirs(const char *const *flags, size_t n_flags, char ***dirs, size_t *n_dirs,
                                   struct enas_err *err)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0)
        exe[n] = '\0';
    return enas__loader_dirs_resolve(flags, n_flags, getenv("ENAS_PLUGIN_PATH"), n > 0 ? exe : NULL,
                                     ENAS_DEFAULT_PLUGIN_DIR, dirs, n_dirs, err);
}

/* ---- one file ---- */

void enas__loader_unload(struct enas_plugin *p)
{
    if (p->handle)
        dlclose(p->handle);
    p->handle = NULL;
    free(p->path);
    p->path = NULL;
}

void enas__loader_result_fini(struct enas_load_result *res)
{
    if (!res)
        return;
    free(res->path);
    free(res->message);
    for (size_t i = 0; i < res->n_items; i++)
        free(res->items[i]);
    free(res->items);
    memset(res, 0, sizeof *res);
}

/* "space micro", "op conv (provider ref)" for every entry of plugin id. */
static enum enas_status collect_items(const struct enas_host *h, int id, struct enas_load_result *res)
{
    size_t n = 0, total = enas__registry_count(h->reg);
    for (size_t i = 0; i < total; i++)
        n += enas__registry_entry(h->reg, i)->plugin_id == id;
    res->items = n ? calloc(n, sizeof *res->items) : NULL;
    if (n && !res->items)
        return ENAS_ERR_NOMEM;
    for (size_t i = 0; i < total && res->n_items < n; i++) {
        const struct enas_reg_entry *e = enas__registry_entry(h->reg, i);
        if (e->plugin_id != id)
            continue;
        char line[300];
        if (e->provider)
            snprintf(line, sizeof line, "%s %s (provider %s)", enas__registry_kind_name(e->kind), e->name,
                     e->provider);
        else
            snprintf(line, sizeof line, "%s %s", enas__registry_kind_name(e->kind), e->name);
        if (!(res->items[res->n_items] = strdup(line)))
            return ENAS_ERR_NOMEM;
        res->n_items++;
    }
    return ENAS_OK;
}

/* dlopen + dlsym; *init stays NULL on failure. */
static enum enas_status open_plugin(const char *path, void **handle, enas_plugin_init_fn *init,
                                    struct enas_err *err)
{
    int flags = RTLD_NOW | RTLD_LOCAL;
#ifdef ENAS_SANITIZE
    flags |= RTLD_NODELETE; /* keeps the code mapped at exit so leak reports name plugin functions */
#endif
    *init = NULL;
    enas__crash_guard_begin(path, "dlopen (the file's constructors)"); /* they run plugin code too */
    *handle = dlopen(path, flags);
    enas__crash_guard_end();
    if (!*handle) {
        const char *why = dlerror();
        return enas_err_set(err, ENAS_ERR_PLUGIN_LOAD, "plugin '%s': dlopen failed: %s", path,
                            why ? why : "unknown error");
    }
    dlerror();
    void *sym = dlsym(*handle, ENAS_PLUGIN_ENTRY);
    if (!sym) {
        dlclose(*handle);
        *handle = NULL;
        return enas_err_set(err, ENAS_ERR_PLUGIN_SYMBOL, "plugin '%s': no symbol '%s' (not an ENAS plugin?)",
                            path, ENAS_PLUGIN_ENTRY);
    }
    memcpy(init, &sym, sizeof *init); /* ISO C has no void* -> function pointer cast; POSIX guarantees this */
    return ENAS_OK;
}

/* Runs init with this plugin's identity and turns what went wrong into the loader's message. */
static enum enas_status run_init(struct enas_host *h, int id, const char *path, enas_plugin_init_fn init,
                                 struct enas_err *err)
{
    struct enas_err perr = {ENAS_OK, ""};
    enum enas_status st = ENAS_ERR_PLUGIN_SYMBOL;
    enas__host_begin_init(h, id, path);
    if (init) {
        enas__crash_guard_begin(path, ENAS_PLUGIN_ENTRY);
        st = init(h, h->api, &perr);
        enas__crash_guard_end();
    }
    enas__err_terminate(&perr); /* a plugin may have filled all of msg */
    enum enas_status reg_st = h->reg_status;
    struct enas_err reg_err = h->reg_err;
    enas__host_end_init(h);
    if (reg_st != ENAS_OK) { /* a registration failed, whatever init then returned */
        st = reg_st;
        perr = reg_err;
    } else if (st == ENAS_OK) {
        return ENAS_OK;
    }
    if (!perr.msg[0])
        snprintf(perr.msg, sizeof perr.msg, "%s", enas_status_str(st));
    if (st == ENAS_ERR_ABI)
        return enas_err_set(err, st,
                            "plugin '%s': enas_plugin_init: %s; rebuild it against this include/enas", path,
                            perr.msg);
    if (reg_st != ENAS_OK)
        return enas_err_set(err, st, "plugin '%s': %s", path, perr.msg);
    return enas_err_set(err, st, "plugin '%s': enas_plugin_init failed: %s", path, perr.msg);
}

enum enas_status enas__loader_load_one(struct enas_host *h, const char *path, struct enas_load_result *res,
                                       struct enas_err *err)
{
    struct enas_err e = {ENAS_OK, ""};
    struct enas_load_result r = {0};
    void *handle = NULL;
    enas_plugin_init_fn init;
    char *kept = NULL;
    int id = 0;
    enas__log(ENAS_LOG_DEBUG, "loading plugin '%s'", path);
    r.path = strdup(path);
    kept = strdup(path);
    enum enas_status st =
        r.path && kept ? ENAS_OK : enas_err_set(&e, ENAS_ERR_NOMEM, "plugin '%s': out of memory", path);
    if (st == ENAS_OK)
        st = open_plugin(path, &handle, &init, &e);
    if (st == ENAS_OK) {
        id = enas__host_new_plugin_id(h);
        st = run_init(h, id, kept, init, &e);
    }
    if (st == ENAS_OK && collect_items(h, id, &r) != ENAS_OK)
        st = enas_err_set(&e, ENAS_ERR_NOMEM, "plugin '%s': out of memory", path);
    if (st == ENAS_OK)
        st = enas__host_take_plugin(h, id, kept, handle, &e);
    if (st != ENAS_OK) {
        if (id)
            enas__registry_rollback(h->reg, id); /* all or nothing, before the descriptors go away */
        if (handle)
            dlclose(handle);
        free(kept);
        r.plugin_id = 0;
    } else {
        r.plugin_id = id;
    }
    r.status = st;
    r.message = strdup(st == ENAS_OK ? "" : e.msg);
    if (st != ENAS_OK)
        (void)enas__host_note_failure(h, path, e.msg); /* out of memory: the report still has it */
    if (st != ENAS_OK && err)
        *err = e;
    if (res)
        *res = r;
    else
        enas__loader_result_fini(&r);
    return st;
}

/* ---- directories of files ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A *.so that is a regular file, or a symlink that does not lead to something else (a dangling one
 * counts and fails in dlopen with the reason). Looked up relative to the open directory, so that no
 * path has to fit a fixed buffer. */
static int is_plugin_file(int dfd, const char *name)
{
    size_t len = strlen(name);
    if (len <= 3 || strcmp(name + len - 3, ".so") != 0)
        return 0;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    if (S_ISLNK(st.st_mode))
        return fstatat(dfd, name, &st, 0) != 0 || S_ISREG(st.st_mode);
    return S_ISREG(st.st_mode);
}

/* The *.so names of dir, sorted: readdir order differs between filesystems. */
static enum enas_status list_dir(const char *dir, char ***names, size_t *n, struct enas_err *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return enas_err_set(err, errno == ENOENT ? ENAS_ERR_NOT_FOUND : ENAS_ERR_IO,
                            "plugin directory '%s': %s", dir, strerror(errno));
    size_t cap = 0;
    enum enas_status st = ENAS_OK;
    int read_errno = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            read_errno = errno; /* 0 at the end; else the listing is incomplete and must not pass as whole */
            break;
        }
        if (!is_plugin_file(dirfd(d), de->d_name))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(*names, cap * sizeof *grown);
            if (!grown) {
                st = ENAS_ERR_NOMEM;
                break;
            }
            *names = grown;
        }
        if (!((*names)[*n] = strdup(de->d_name))) {
            st = ENAS_ERR_NOMEM;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (st != ENAS_OK || read_errno) {
        enas__loader_dirs_free(*names, *n);
        *names = NULL;
        *n = 0;
        if (st != ENAS_OK)
            return enas_err_set(err, st, "plugin directory '%s': out of memory", dir);
        return enas_err_set(err, ENAS_ERR_IO, "plugin directory '%s': reading it failed: %s", dir,
                            strerror(read_errno));
    }
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_str);
    return ENAS_OK;
}

static enum enas_status load_dir(struct enas_host *h, const char *dir, struct enas_load_report *rep,
                                 enum enas_status *first, struct enas_err *err)
{
    char **names;
    size_t n;
    enum enas_status st = list_dir(dir, &names, &n, err);
    if (st != ENAS_OK)
        return st;
    struct enas_load_result *grown = n ? realloc(rep->files, (rep->n_files + n) * sizeof *grown) : rep->files;
    if (n && !grown) {
        enas__loader_dirs_free(names, n);
        return enas_err_set(err, ENAS_ERR_NOMEM, "plugin directory '%s': out of memory", dir);
    }
    rep->files = grown;
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < n; i++) {
        /* the whole path, however long: one longer than the system takes fails in dlopen, named */
        size_t len = dl + 1 + strlen(names[i]) + 1;
        char *path = malloc(len);
        if (!path) {
            enas__loader_dirs_free(names, n);
            return enas_err_set(err, ENAS_ERR_NOMEM, "plugin directory '%s': out of memory", dir);
        }
        snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        struct enas_err e = {ENAS_OK, ""};
        struct enas_load_result *r = &rep->files[rep->n_files++];
        st = enas__loader_load_one(h, path, r, &e);
        free(path);
        if (st != ENAS_OK) {
            rep->n_failed++;
            if (*first == ENAS_OK && err)
                *err = e;
            if (*first == ENAS_OK)
                *first = st;
        }
    }
    enas__loader_dirs_free(names, n);
    return ENAS_OK;
}

enum enas_status enas__loader_load_all(struct enas_host *h, const char *const *dirs, size_t n_dirs,
                                       struct enas_load_report **rep, struct enas_err *err)
{
    *rep = calloc(1, sizeof **rep);
    if (!*rep)
        return enas_err_set(err, ENAS_ERR_NOMEM, "plugins: out of memory");
    enum enas_status first = ENAS_OK;
    for (size_t i = 0; i < n_dirs; i++) {
        enum enas_status st = load_dir(h, dirs[i], *rep, &first, err);
        if (st != ENAS_OK) {
            enas__loader_report_destroy(*rep);
            *rep = NULL;
            return st;
        }
    }
    return first;
}

void enas__loader_report_destroy(struct enas_load_report *rep)
{
    if (!rep)
        return;
    for (size_t i = 0; i < rep->n_files; i++)
        enas__loader_result_fini(&rep->files[i]);
    free(rep->files);
    free(rep);
}

void enas__loader_report_print(const struct enas_load_report *rep, FILE *f, int verbose)
{
    for (size_t i = 0; rep && i < rep->n_files; i++) {
        const struct enas_load_result *r = &rep->files[i];
        if (r->status != ENAS_OK) {
            fprintf(f, "enas: %s\n", r->message ? r->message : r->path);
            continue;
        }
        if (!verbose)
            continue;
        fprintf(f, "%s\n", r->path);
        for (size_t j = 0; j < r->n_items; j++)
            fprintf(f, "  %s\n", r->items[j]);
    }
}

static void print_entries(const struct enas_host *h, int id, FILE *f)
{
    for (size_t i = 0; i < enas__registry_count(h->reg); i++) {
        const struct enas_reg_entry *e = enas__registry_entry(h->reg, i);
        if (e->plugin_id != id)
            continue;
        fprintf(f, "  %s %s", enas__registry_kind_name(e->kind), e->name);
        if (e->provider)
            fprintf(f, " (provider %s)", e->provider);
        if (e->description && *e->description)
            fprintf(f, ": %s", e->description);
        fputc('\n', f);
    }
}

/* The reason of a failure without its "plugin 'PATH': " head, which the listing already shows. */
static const char *failure_reason(const struct enas_plugin_failure *fl)
{
    size_t pl = strlen(fl->path);
    const char *m = fl->message;
    if (strncmp(m, "plugin '", 8) == 0 && strncmp(m + 8, fl->path, pl) == 0 &&
        strncmp(m + 8 + pl, "': ", 3) == 0)
        return m + 8 + pl + 3;
    return m;
}

static void print_failure(const struct enas_plugin_failure *fl, FILE *f)
{
    fprintf(f, "%s\n  FAILED: %s\n", fl->path, failure_reason(fl));
}

void enas__loader_print_list(const struct enas_host *h, FILE *f)
{
    size_t k = 0; /* failures in load order, between the plugins loaded before and after them */
    for (size_t i = 0; i < h->n_plugins; i++) {
        for (; k < h->n_failures && h->failures[k].n_loaded_before <= i; k++)
            print_failure(&h->failures[k], f);
        fprintf(f, "%s\n", h->plugins[i].path);
        print_entries(h, h->plugins[i].id, f);
    }
    for (; k < h->n_failures; k++)
        print_failure(&h->failures[k], f);
    if (h->n_plugins == 0)
        fprintf(f, "(no plugins loaded)\n");
    if (h->n_failures)
        fprintf(f, "%zu plugin file(s) failed to load\n", h->n_failures);
    for (size_t i = 0; i < enas__registry_count(h->reg); i++)
        if (enas__registry_entry(h->reg, i)->plugin_id == 0) {
            fprintf(f, "(engine)\n");
            print_entries(h, 0, f);
            break;
        }
    if (h->backend)
        fprintf(f, "selected backend: %s\n", h->backend);
}

size_t enas__loader_print_failures(const struct enas_host *h, FILE *f, const char *prefix)
{
    for (size_t i = 0; i < h->n_failures; i++)
        fprintf(f, "%s%s\n", prefix ? prefix : "", h->failures[i].message);
    return h->n_failures;
}
