/* test_loader.c - the plugin loader against the fixtures: `test_loader FIXTURE_ROOT CASE` (or
 * all_cases). Every failure asserts the status, the whole message shape, and the file's path. */
#define _XOPEN_SOURCE 700 /* sigaltstack, SIGSYS, SIGTRAP */ /* NOLINT(bugprone-reserved-identifier) */
#include "check.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;

/* Loads root/<name> into a fresh host. */
static enum enas_status load_case(const char *name, struct enas_host **h, struct enas_load_report **rep,
                                  struct enas_err *err)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    enas_err_clear(err);
    *rep = NULL;
    if (enas__host_create(h, err) != ENAS_OK)
        return err->code;
    const char *dirs[] = {dir};
    return enas__loader_load_all(*h, dirs, 1, rep, err);
}

static void done(struct enas_host *h, struct enas_load_report *rep)
{
    enas__loader_report_destroy(rep);
    enas__host_destroy(h);
}

static void path_of(char *buf, size_t cap, const char *dir, const char *file)
{
    snprintf(buf, cap, "%s/%s/%s", root, dir, file);
}

/* Reads what f got into buf. */
static void slurp(FILE *f, char *buf, size_t cap)
{
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

/* A one-file case that must fail with exactly "plugin 'PATH': <rest>" and leave nothing behind. */
static void expect_failure(const char *dir, const char *file, enum enas_status want, const char *rest)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    char path[1024], want_msg[2048];
    path_of(path, sizeof path, dir, file);
    snprintf(want_msg, sizeof want_msg, "plugin '%s': %s", path, rest);
    enum enas_status st = load_case(dir, &h, &rep, &err);
    CHECK_ERR(st, err, want, path);
    CHECK_MSG(strncmp(err.msg, want_msg, strlen(want_msg)) == 0, "got '%s', want prefix '%s'", err.msg,
              want_msg);
    CHECK(rep && rep->n_files == 1 && rep->n_failed == 1);
    if (rep && rep->n_files == 1) {
        CHECK(rep->files[0].status == want);
        CHECK(strcmp(rep->files[0].message, err.msg) == 0);
        CHECK(strcmp(rep->files[0].path, path) == 0);
        CHECK(rep->files[0].n_items == 0);
    }
    CHECK_MSG(enas__registry_count(h->reg) == 0, "%zu entries left after a failed plugin",
              enas__registry_count(h->reg));
    CHECK(h->n_plugins == 0);
    done(h, rep);
}

static void case_good(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    char path[1024];
    path_of(path, sizeof path, "good", "good.so");
    CHECK_ERR(load_case("good", &h, &rep, &err), err, ENAS_OK, NULL);
    CHECK(rep && rep->n_files == 1 && rep->n_failed == 0);
    CHECK(h->n_plugins == 1 && strcmp(h->plugins[0].path, path) == 0);
    if (rep && rep->n_files == 1) {
        const struct enas_load_result *r = &rep->files[0];
        CHECK(r->status == ENAS_OK && r->plugin_id > 0 && r->n_items == 5);
        const char *want[] = {"backend good_be", "op good_conv (provider good_be)", "space good_space",
                              "loss good_loss", "reward good_reward"};
        for (size_t i = 0; i < 5 && i < r->n_items; i++)
            CHECK_MSG(strcmp(r->items[i], want[i]) == 0, "item %zu: '%s'", i, r->items[i]);
    }
    CHECK(enas__registry_find_space(h->reg, "good_space", &err) != NULL);
    CHECK(enas__registry_find_loss(h->reg, "good_loss", &err) != NULL);
    CHECK(enas__registry_find_reward(h->reg, "good_reward", &err) != NULL);
    CHECK(enas__registry_find_backend(h->reg, "good_be", &err) != NULL);
    const struct enas_reg_entry *e = enas__registry_find(h->reg, ENAS_KIND_SPACE, "good_space");
    CHECK(e && strcmp(e->owner, path) == 0);
    CHECK(enas__registry_find_space(h->reg, "micro", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND, "no space named 'micro'; registered spaces: good_space");
    CHECK(enas__registry_find_loss(h->reg, "xent", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND, "registered losses: good_loss");
    CHECK(enas__registry_find_reward(h->reg, "acc", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND, "registered rewards: good_reward");
    CHECK(enas__registry_find_backend(h->reg, "onednn", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND, "no backend named 'onednn'; registered backends: good_be");

    /* config sections: declared once after loading; a second declaration names the owner */
    struct enas_config *c = NULL;
    CHECK_ERR(enas__config_create(&c, &err), err, ENAS_OK, NULL);
    if (c) {
        CHECK_ERR(enas__registry_declare_sections(h->reg, c, &err), err, ENAS_OK, NULL);
        const struct enas_cfg *s = enas__config_section(c, "good_space");
        CHECK(s != NULL);
        if (s) {
            CHECK(h->api->cfg_int(s, "num_layers") == 2);
            CHECK_NEAR(h->api->cfg_float(s, "keep_prob"), 0.9, 1e-12);
            CHECK(strcmp(h->api->cfg_string(s, "mode"), "a") == 0);
        }
        CHECK(enas__config_section(c, "good_loss") == NULL); /* no settings, no section */
        CHECK_ERR(enas__registry_declare_sections(h->reg, c, &err), err, err.code, "good_space");
        CHECK(err.code != ENAS_OK);
        enas__config_destroy(c);
    }
    done(h, rep);
}

static void case_symlink(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    char path[1024];
    path_of(path, sizeof path, "symlink", "linked.so");
    CHECK_ERR(load_case("symlink", &h, &rep, &err), err, ENAS_OK, NULL);
    /* subdir.so is a directory and readme.txt is not *.so: neither counts */
    CHECK(rep && rep->n_files == 1 && rep->n_failed == 0);
    if (rep && rep->n_files == 1)
        CHECK(strcmp(rep->files[0].path, path) == 0);
    CHECK(enas__registry_find_space(h->reg, "good_space", &err) != NULL);
    done(h, rep);
}

static void case_order(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    CHECK_ERR(load_case("order", &h, &rep, &err), err, ENAS_OK, NULL);
    const char *files[] = {"Order_0.so", "order_1.so", "order_2.so", "order_3.so"};
    const char *names[] = {"ord0", "ord1", "ord2", "ord3"};
    CHECK(rep && rep->n_files == 4);
    CHECK(enas__registry_count(h->reg) == 4);
    for (size_t i = 0; rep && i < 4 && i < rep->n_files; i++) {
        const char *base = strrchr(rep->files[i].path, '/');
        CHECK_MSG(base && strcmp(base + 1, files[i]) == 0, "file %zu is %s", i, rep->files[i].path);
        const struct enas_reg_entry *e = enas__registry_entry(h->reg, i);
        CHECK_MSG(e && strcmp(e->name, names[i]) == 0, "entry %zu is %s", i, e ? e->name : "(none)");
        CHECK(e && e->plugin_id == rep->files[i].plugin_id);
    }
    for (size_t i = 1; i < h->n_plugins; i++)
        CHECK(h->plugins[i].id > h->plugins[i - 1].id);
    done(h, rep);
}

static void case_dup(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    char a[1024], b[1024], want[2600];
    path_of(a, sizeof a, "dup", "dup_a.so");
    path_of(b, sizeof b, "dup", "dup_b.so");
    snprintf(want, sizeof want, "plugin '%s': loss 'dup_loss' already registered by '%s'", b, a);
    enum enas_status st = load_case("dup", &h, &rep, &err);
    CHECK_ERR(st, err, ENAS_ERR_INVALID_ARG, want);
    CHECK(strcmp(err.msg, want) == 0);
    CHECK(rep && rep->n_files == 2 && rep->n_failed == 1);
    if (rep && rep->n_files == 2)
        CHECK(rep->files[0].status == ENAS_OK && rep->files[1].status != ENAS_OK);
    const struct enas_reg_entry *e = enas__registry_find(h->reg, ENAS_KIND_LOSS, "dup_loss");
    CHECK(e && strcmp(e->owner, a) == 0);
    /* dup_b registered its reward before the duplicate: rolled back with it */
    CHECK(enas__registry_find_reward(h->reg, "dup_b_reward", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND, "no reward named 'dup_b_reward'");
    CHECK(enas__registry_count(h->reg) == 1 && h->n_plugins == 1);
    done(h, rep);
}

static void case_dup_op(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    char a[1024], b[1024], want[2600];
    path_of(a, sizeof a, "dup_op", "dup_op_a.so");
    path_of(b, sizeof b, "dup_op", "dup_op_b.so");
    snprintf(want, sizeof want, "plugin '%s': op 'dup_op' (provider 'dupx') already registered by '%s'", b,
             a);
    /* dup_op's init ignores the failed registration and returns OK: the loader fails it anyway */
    CHECK_ERR(load_case("dup_op", &h, &rep, &err), err, ENAS_ERR_INVALID_ARG, want);
    CHECK(strcmp(err.msg, want) == 0);
    CHECK(rep && rep->n_failed == 1 && h->n_plugins == 1);
    done(h, rep);
}

static void case_all(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    char good[1024], first[1024];
    path_of(good, sizeof good, "all", "good.so");
    path_of(first, sizeof first, "all", "bad_abi.so");
    /* the first failure (sorted: bad_abi.so) is returned; loading went on after it */
    CHECK_ERR(load_case("all", &h, &rep, &err), err, ENAS_ERR_ABI, first);
    CHECK(rep && rep->n_files == 13 && rep->n_failed == 10);
    CHECK(h->n_plugins == 3); /* good, dup_a, dup_op_a */
    CHECK(enas__registry_find_space(h->reg, "good_space", &err) != NULL);
    /* the host keeps the failures after the report is gone: `enas plugins` lists them with the rest, in
     * load order, and --help names them */
    CHECK_MSG(h->n_failures == 10, "%zu failures kept", h->n_failures);
    FILE *lf = tmpfile();
    if (lf) {
        char out[16384], want[1200];
        enas__loader_print_list(h, lf);
        slurp(lf, out, sizeof out);
        snprintf(
            want, sizeof want,
            "%s\n  FAILED: enas_plugin_init: ABI mismatch (plugin 99, engine 1); rebuild it against this "
            "include/enas\n",
            first);
        CHECK_MSG(strncmp(out, want, strlen(want)) == 0, "listing starts:\n%.600s", out);
        path_of(want, sizeof want, "all", "dup_b.so");
        const char *dup_a = strstr(out, "all/dup_a.so\n  loss dup_loss\n"), *dup_b = strstr(out, want);
        CHECK_MSG(dup_a && dup_b && dup_a < dup_b &&
                      strstr(dup_b, "\n  FAILED: loss 'dup_loss' already registered by"),
                  "%s", out);
        CHECK(strstr(out, "all/init_fails.so\n  FAILED: enas_plugin_init failed: needs setting foo\n"));
        CHECK(strstr(out, "\n10 plugin file(s) failed to load\n"));
        int n_failed = 0;
        for (const char *p = out; (p = strstr(p, "\n  FAILED: ")); p++)
            n_failed++;
        CHECK_MSG(n_failed == 10, "%d FAILED lines", n_failed);
        fclose(lf);
    }
    lf = tmpfile();
    if (lf) {
        char out[16384], want[1200];
        CHECK(enas__loader_print_failures(h, lf, "> ") == 10);
        slurp(lf, out, sizeof out);
        snprintf(want, sizeof want, "> plugin '%s': enas_plugin_init: ABI mismatch", first);
        CHECK_MSG(strncmp(out, want, strlen(want)) == 0, "%s", out);
        fclose(lf);
    }
    FILE *f = tmpfile();
    if (f && rep) {
        char out[16384];
        enas__loader_report_print(rep, f, 1);
        slurp(f, out, sizeof out);
        int lines = 0;
        for (const char *p = out; (p = strstr(p, "enas: plugin '")); p++)
            lines++;
        CHECK_MSG(lines == 10, "%d failure lines in:\n%s", lines, out);
        CHECK(strstr(out, good) && strstr(out, "\n  space good_space\n") &&
              strstr(out, "\n  op good_conv (provider good_be)\n"));
        CHECK(strstr(out, "no symbol 'enas_plugin_init' (not an ENAS plugin?)"));
        fclose(f);
    }
    f = tmpfile();
    if (f && rep) { /* not verbose: failures only */
        char out[16384];
        enas__loader_report_print(rep, f, 0);
        slurp(f, out, sizeof out);
        CHECK(!strstr(out, "  space good_space") && strstr(out, "enas: plugin '"));
        fclose(f);
    }
    done(h, rep);
}

static void case_list(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    char path[1024], out[8192];
    path_of(path, sizeof path, "good", "good.so");
    CHECK_ERR(load_case("good", &h, &rep, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__host_set_backend(h, "onednn", &err), err, ENAS_ERR_NOT_FOUND,
              "no backend named 'onednn'; registered backends: good_be");
    CHECK_ERR(enas__host_set_backend(h, "good_be", &err), err, ENAS_OK, NULL);
    CHECK(enas__host_backend(h) && strcmp(enas__host_backend(h), "good_be") == 0);
    FILE *f = tmpfile();
    if (f) {
        enas__loader_print_list(h, f);
        slurp(f, out, sizeof out);
        CHECK_MSG(strstr(out, path) && strstr(out, "  space good_space: fixture space\n") &&
                      strstr(out, "  op good_conv (provider good_be)\n") &&
                      strstr(out, "selected backend: good_be"),
                  "%s", out);
        fclose(f);
    }
    done(h, rep);
}

static void check_dirs(const char *const *flags, size_t nf, const char *env, const char *exe,
                       const char *want0, size_t want_n)
{
    char **dirs;
    size_t n;
    struct enas_err err;
    enum enas_status st =
        enas__loader_dirs_resolve(flags, nf, env, exe, "/nonexistent/enas/plugins", &dirs, &n, &err);
    CHECK_ERR(st, err, ENAS_OK, NULL);
    CHECK_MSG(st != ENAS_OK || (n == want_n && strcmp(dirs[0], want0) == 0), "got %zu dirs, first '%s'", n,
              st == ENAS_OK && n ? dirs[0] : "");
    enas__loader_dirs_free(dirs, n);
}

/* As check_dirs, with the installed directory given. */
static void check_dirs_installed(const char *const *flags, size_t nf, const char *env, const char *exe,
                                 const char *installed, const char *want0, size_t want_n)
{
    char **dirs;
    size_t n;
    struct enas_err err;
    enum enas_status st = enas__loader_dirs_resolve(flags, nf, env, exe, installed, &dirs, &n, &err);
    CHECK_ERR(st, err, ENAS_OK, NULL);
    CHECK_MSG(st != ENAS_OK || (n == want_n && strcmp(dirs[0], want0) == 0),
              "installed '%s': got '%s', want '%s'", installed, st == ENAS_OK && n ? dirs[0] : "", want0);
    enas__loader_dirs_free(dirs, n);
}

static void case_dirs(void)
{
    char good[1024], order[1024], env[2200];
    snprintf(good, sizeof good, "%s/good", root);
    snprintf(order, sizeof order, "%s/order", root);
    snprintf(env, sizeof env, "%s::%s:", order, good);
    const char *flags[] = {good, order};
    check_dirs(flags, 2, env, NULL, good, 2); /* --plugin-dir wins over the environment */
    check_dirs(NULL, 0, env, NULL, order, 2); /* else ENAS_PLUGIN_PATH, empty parts skipped */

    /* empty ENAS_PLUGIN_PATH counts as unset: the directory next to the program */
    char tmpl[] = "/tmp/enas_dirs_XXXXXX", exe[64], plug[64];
    if (mkdtemp(tmpl)) {
        snprintf(exe, sizeof exe, "%s/enas", tmpl);
        snprintf(plug, sizeof plug, "%s/plugins", tmpl);
        CHECK(mkdir(plug, 0700) == 0);
        check_dirs(NULL, 0, "", exe, plug, 1);
        check_dirs(NULL, 0, ":", exe, plug, 1);
        check_dirs(NULL, 0, NULL, exe, plug, 1);
        rmdir(plug);
        rmdir(tmpl);
    }
    char **dirs;
    size_t n;
    struct enas_err err;
    /* ... and without one, the installed default, which must exist */
    CHECK_ERR(enas__loader_dirs_resolve(NULL, 0, "", "/nonexistent/bin/enas", "/nonexistent/enas/plugins",
                                        &dirs, &n, &err),
              err, ENAS_ERR_NOT_FOUND, "plugin directory '/nonexistent/enas/plugins' (the installed default");
    CHECK(dirs == NULL && n == 0);
    const char *bad[] = {good, "/no/such/dir"};
    CHECK_ERR(enas__loader_dirs_resolve(bad, 2, NULL, NULL, good, &dirs, &n, &err), err, ENAS_ERR_NOT_FOUND,
              "plugin directory '/no/such/dir' (from --plugin-dir) does not exist");
    snprintf(env, sizeof env, "%s:/no/such/env_dir", good);
    CHECK_ERR(enas__loader_dirs_resolve(NULL, 0, env, NULL, good, &dirs, &n, &err), err, ENAS_ERR_NOT_FOUND,
              "plugin directory '/no/such/env_dir' (from ENAS_PLUGIN_PATH) does not exist");

    /* the installed directory follows the program: relative to its directory, so an install anywhere,
     * or moved, finds its plugins; a `plugins` beside the program (a build tree) comes first */
    char inst[] = "/tmp/enas_inst_XXXXXX";
    if (mkdtemp(inst)) {
        char bin[64], lib[64], libenas[80], plugs[100], prog[80], beside[80];
        snprintf(bin, sizeof bin, "%s/bin", inst);
        snprintf(lib, sizeof lib, "%s/lib", inst);
        snprintf(libenas, sizeof libenas, "%s/lib/enas", inst);
        snprintf(plugs, sizeof plugs, "%s/lib/enas/plugins", inst);
        snprintf(prog, sizeof prog, "%s/bin/enas", inst);
        snprintf(beside, sizeof beside, "%s/bin/plugins", inst);
        CHECK(mkdir(bin, 0700) == 0 && mkdir(lib, 0700) == 0 && mkdir(libenas, 0700) == 0 &&
              mkdir(plugs, 0700) == 0);
        const char *forms[] = {"../lib/enas/plugins", "./../lib/enas/plugins"};
        check_dirs_installed(NULL, 0, "", prog, forms[0], plugs, 1);
        check_dirs_installed(NULL, 0, NULL, prog, forms[1], plugs, 1);
        check_dirs_installed(NULL, 0, "", prog, plugs, plugs, 1); /* an absolute one as it is */
        CHECK(mkdir(beside, 0700) == 0);
        check_dirs_installed(NULL, 0, "", prog, forms[0], beside, 1);
        rmdir(beside);
        /* an installed directory that is not there names the path it looked at */
        char other[80];
        snprintf(other, sizeof other, "%s/bin/sub/enas", inst);
        CHECK_ERR(enas__loader_dirs_resolve(NULL, 0, "", other, "../../nothing/here", &dirs, &n, &err), err,
                  ENAS_ERR_NOT_FOUND, "/nothing/here' (the installed default");
        CHECK_MSG(strstr(err.msg, inst) && !strstr(err.msg, ".."), "%s", err.msg);
        /* without the program's path a relative installed directory cannot be found: said so */
        CHECK_ERR(
            enas__loader_dirs_resolve(NULL, 0, "", NULL, forms[0], &dirs, &n, &err), err, ENAS_ERR_NOT_FOUND,
            "no plugin directory: the installed one is '../lib/enas/plugins' from the program's directory");
        rmdir(plugs);
        rmdir(libenas);
        rmdir(lib);
        rmdir(bin);
        rmdir(inst);
    }

    /* every way a directory cannot be opened is reported as what it is */
    char bad_dirs[] = "/tmp/enas_baddirs_XXXXXX";
    if (mkdtemp(bad_dirs)) {
        char loop[64], file[64], noperm[64], missing[64], want[256];
        snprintf(loop, sizeof loop, "%s/loop", bad_dirs);
        snprintf(file, sizeof file, "%s/file", bad_dirs);
        snprintf(noperm, sizeof noperm, "%s/noperm", bad_dirs);
        snprintf(missing, sizeof missing, "%s/missing", bad_dirs);
        CHECK(symlink(loop, loop) == 0);
        FILE *f = fopen(file, "w");
        CHECK(f != NULL);
        if (f)
            fclose(f);
        CHECK(mkdir(noperm, 0) == 0);
        const char *one[1] = {loop};
        snprintf(want, sizeof want, "plugin directory '%s' (from --plugin-dir) cannot be opened: %s", loop,
                 strerror(ELOOP));
        CHECK_ERR(enas__loader_dirs_resolve(one, 1, NULL, NULL, good, &dirs, &n, &err), err, ENAS_ERR_IO,
                  want);
        snprintf(want, sizeof want, "plugin directory '%s' (from ENAS_PLUGIN_PATH) cannot be opened: %s",
                 file, strerror(ENOTDIR));
        CHECK_ERR(enas__loader_dirs_resolve(NULL, 0, file, NULL, good, &dirs, &n, &err), err, ENAS_ERR_IO,
                  want);
        one[0] = missing;
        snprintf(want, sizeof want, "plugin directory '%s' (from --plugin-dir) does not exist", missing);
        CHECK_ERR(enas__loader_dirs_resolve(one, 1, NULL, NULL, good, &dirs, &n, &err), err,
                  ENAS_ERR_NOT_FOUND, want);
        if (geteuid() != 0) { /* root opens it anyway; tests/cli/test_plugins_cli.sh checks it as nobody */
            one[0] = noperm;
            snprintf(want, sizeof want, "plugin directory '%s' (from --plugin-dir) cannot be opened: %s",
                     noperm, strerror(EACCES));
            CHECK_ERR(enas__loader_dirs_resolve(one, 1, NULL, NULL, good, &dirs, &n, &err), err, ENAS_ERR_IO,
                      want);
        }
        unlink(loop);
        unlink(file);
        rmdir(noperm);
        rmdir(missing);
        rmdir(bad_dirs);
    }

    /* the real environment */
    CHECK(setenv("ENAS_PLUGIN_PATH", order, 1) == 0);
    CHECK_ERR(enas__loader_dirs(NULL, 0, &dirs, &n, &err), err, ENAS_OK, NULL);
    CHECK(n == 1 && strcmp(dirs[0], order) == 0);
    enas__loader_dirs_free(dirs, n);
    CHECK_ERR(enas__loader_dirs(flags, 1, &dirs, &n, &err), err, ENAS_OK, NULL);
    CHECK(n == 1 && strcmp(dirs[0], good) == 0);
    enas__loader_dirs_free(dirs, n);
    CHECK(setenv("ENAS_PLUGIN_PATH", "", 1) == 0);
    enum enas_status st = enas__loader_dirs(NULL, 0, &dirs, &n, &err);
    CHECK_MSG(st == ENAS_OK ? n == 1 : strstr(err.msg, "installed default") != NULL, "%s", err.msg);
    enas__loader_dirs_free(dirs, n);
}

static void case_empty_dir(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    CHECK_ERR(load_case("empty", &h, &rep, &err), err, ENAS_OK, NULL);
    CHECK(rep && rep->n_files == 0 && rep->n_failed == 0);
    done(h, rep);
    CHECK_ERR(load_case("no_such_case", &h, &rep, &err), err, ENAS_ERR_NOT_FOUND, "no_such_case");
    CHECK(rep == NULL);
    done(h, rep);
}

/* A plugin that fills err->msg to its last byte without a NUL: the message is cut at the buffer's end,
 * never read past it (a sanitizer build reports the overread). */
static void case_msg_no_nul(void)
{
    char path[1024], want[2048];
    path_of(path, sizeof path, "msg_no_nul", "msg_no_nul.so");
    snprintf(want, sizeof want, "plugin '%s': enas_plugin_init failed: xxxxxxxx", path);
    expect_failure("msg_no_nul", "msg_no_nul.so", ENAS_ERR_INVALID_ARG, "enas_plugin_init failed: xxxxxxxx");
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    load_case("msg_no_nul", &h, &rep, &err);
    CHECK(strnlen(err.msg, sizeof err.msg) < sizeof err.msg);
    CHECK_MSG(strncmp(err.msg, want, strlen(want)) == 0 && err.msg[strlen(err.msg) - 1] == 'x', "%s",
              err.msg);
    CHECK(h->n_failures == 1 && strcmp(h->failures[0].message, err.msg) == 0);
    done(h, rep);
}

/* Descriptor strings without a NUL or absurdly long: each file refused, naming what is wrong, nothing
 * registered (str_11 registered a good reward first: rolled back). Then everything that prints plugin
 * strings runs over what is left, which a sanitizer build checks for overreads. */
static void case_strings(void)
{
    static const char *const want[] = {
        "reward name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 63 "
        "bytes",
        "reward name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 63 "
        "bytes",
        "reward name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 63 "
        "bytes",
        "reward 'strings_reward': description is longer than 1024 bytes (or has no terminating NUL)",
        "reward 'strings_reward': description is longer than 1024 bytes (or has no terminating NUL)",
        "reward 'strings_reward': description has a control character (byte 0x0a at offset 10)",
        "reward 'strings_reward': setting 0: key "
        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' "
        "is longer than 63 bytes",
        "reward 'strings_reward': setting 'mode': help is longer than 1024 bytes",
        "reward 'strings_reward': setting 'mode': def_str is longer than 1024 bytes",
        "reward 'strings_reward': setting 'mode': choices is longer than 1024 bytes",
        "op 'strings_op': provider 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is "
        "longer than 63 "
        "bytes",
    };
    const size_t n = sizeof want / sizeof want[0];
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    CHECK_ERR(load_case("strings", &h, &rep, &err), err, ENAS_ERR_INVALID_ARG, NULL);
    CHECK(rep && rep->n_files == n && rep->n_failed == n);
    for (size_t i = 0; rep && i < n && i < rep->n_files; i++) {
        char file[32], path[1024], full[2048];
        snprintf(file, sizeof file, "str_%02zu.so", i + 1);
        path_of(path, sizeof path, "strings", file);
        snprintf(full, sizeof full, "plugin '%s': %s", path, want[i]);
        CHECK_MSG(strcmp(rep->files[i].path, path) == 0, "%s", rep->files[i].path);
        CHECK_MSG(rep->files[i].status == ENAS_ERR_INVALID_ARG &&
                      strncmp(rep->files[i].message, full, strlen(full)) == 0,
                  "%s:\n  got  %s\n  want %s", file, rep->files[i].message, full);
    }
    CHECK_MSG(enas__registry_count(h->reg) == 0, "%zu entries", enas__registry_count(h->reg));
    FILE *f = tmpfile();
    struct enas_config *c = NULL;
    if (f && enas__config_create(&c, &err) == ENAS_OK) {
        enas__loader_print_list(h, f);
        enas__loader_report_print(rep, f, 1);
        CHECK_ERR(enas__registry_declare_sections(h->reg, c, &err), err, ENAS_OK, NULL);
        enas__config_print_help(c, f);
    }
    if (f)
        fclose(f);
    enas__config_destroy(c);
    done(h, rep);
}

/* 300 settings of one plugin: declared, each an option and a --help line, written and read back. */
static void case_many(void)
{
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    CHECK_ERR(load_case("many", &h, &rep, &err), err, ENAS_OK, NULL);
    struct enas_config *c = NULL, *back = NULL;
    CHECK_ERR(enas__config_create(&c, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__config_create(&back, &err), err, ENAS_OK, NULL);
    if (!c || !back) {
        enas__config_destroy(c);
        enas__config_destroy(back);
        done(h, rep);
        return;
    }
    CHECK_ERR(enas__registry_declare_sections(h->reg, c, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__registry_declare_sections(h->reg, back, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__config_set_option(c, "many.s299", "7", &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__config_set_option(c, "many.s150", "150", &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__config_set_option(c, "many.s300", "1", &err), err, ENAS_ERR_CONFIG, "many.s300");
    const struct enas_cfg *s = enas__config_section(c, "many");
    CHECK(s && enas__cfg_int(s, "s0") == 0 && enas__cfg_int(s, "s298") == 298 &&
          enas__cfg_int(s, "s299") == 7);
    FILE *f = tmpfile();
    if (f) {
        static char out[1 << 16];
        enas__config_print_help(c, f);
        slurp(f, out, sizeof out);
        int lines = 0;
        for (const char *p = out; (p = strstr(p, "--many.s")); p++)
            lines++;
        CHECK_MSG(lines == 300, "%d help lines for many", lines);
        fclose(f);
    }
    char tmpl[] = "/tmp/enas_many_XXXXXX", file[64];
    if (mkdtemp(tmpl)) {
        snprintf(file, sizeof file, "%s/config.cfg", tmpl);
        CHECK_ERR(enas__config_write(c, file, &err), err, ENAS_OK, NULL);
        CHECK_ERR(enas__config_load_file(back, file, &err), err, ENAS_OK, NULL);
        const struct enas_cfg *b = enas__config_section(back, "many");
        CHECK(b && enas__cfg_int(b, "s299") == 7 && enas__cfg_int(b, "s1") == 1);
        unlink(file);
        rmdir(tmpl);
    }
    enas__config_destroy(back);
    enas__config_destroy(c);
    done(h, rep);
}

/* A plugin directory whose path is near PATH_MAX and a file whose path is past it: listed and reported
 * (dlopen names the file as too long), not silently skipped; no fixed path buffer is overrun. */
static void case_long_path(void)
{
    char tmpl[] = "/tmp/enas_long_XXXXXX";
    if (!mkdtemp(tmpl)) {
        CHECK_MSG(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    static char dir[8192];
    char comp[201];
    memset(comp, 'd', 200);
    comp[200] = '\0';
    int n = snprintf(dir, sizeof dir, "%s", tmpl), depth = 0;
    while (n + 201 < 4050 &&
           mkdir((snprintf(dir + n, sizeof dir - (size_t)n, "/%s", comp), dir), 0700) == 0) {
        n += 201;
        depth++;
    }
    dir[n] = '\0';
    char name[250];
    memset(name, 'p', 240);
    memcpy(name + 240, ".so", 4); /* dir (over 4000 bytes) + "/" + name is longer than PATH_MAX */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    int fd = dfd >= 0 ? openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    CHECK_MSG(fd >= 0, "creating the long file: %s", strerror(errno));
    if (fd >= 0) {
        CHECK(write(fd, "not ELF\n", 8) == 8);
        close(fd);
    }
    struct enas_host *h;
    struct enas_load_report *rep = NULL;
    struct enas_err err;
    if (enas__host_create(&h, &err) == ENAS_OK) {
        const char *dirs[] = {dir};
        /* (the message is the path, cut at ENAS_ERRMSG_SIZE, before dlopen's reason) */
        CHECK_ERR(enas__loader_load_all(h, dirs, 1, &rep, &err), err, ENAS_ERR_PLUGIN_LOAD,
                  "plugin '/tmp/enas_long_");
        CHECK_MSG(rep && rep->n_files == 1 && rep->n_failed == 1, "%zu files", rep ? rep->n_files : 0);
        if (rep && rep->n_files == 1)
            CHECK_MSG(strlen(rep->files[0].path) == (size_t)n + 1 + 243 &&
                          strncmp(rep->files[0].path, dir, (size_t)n) == 0,
                      "%s", rep->files[0].path);
        done(h, rep);
    }
    if (dfd >= 0) {
        unlinkat(dfd, name, 0);
        close(dfd);
    }
    for (; depth >= 0; depth--) { /* the deepest first */
        dir[n] = '\0';
        rmdir(dir);
        n -= 201;
    }
}

/* The guard around enas_plugin_init gives every signal back as it was. */
static void case_guard(void)
{
    const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};
    struct sigaction before[7], after;
    for (size_t i = 0; i < 7; i++)
        sigaction(sigs[i], NULL, &before[i]);
    stack_t ss_before, ss_after;
    sigaltstack(NULL, &ss_before);
    struct enas_host *h;
    struct enas_load_report *rep;
    struct enas_err err;
    CHECK_ERR(load_case("good", &h, &rep, &err), err, ENAS_OK, NULL);
    done(h, rep);
    for (size_t i = 0; i < 7; i++) {
        sigaction(sigs[i], NULL, &after);
        /* the C library may add its own flags (SA_RESTORER) when a handler is set back */
        CHECK_MSG(after.sa_handler == before[i].sa_handler &&
                      (after.sa_flags & SA_SIGINFO) == (before[i].sa_flags & SA_SIGINFO),
                  "signal %d not restored", sigs[i]);
    }
    sigaltstack(NULL, &ss_after);
    CHECK(ss_after.ss_flags == ss_before.ss_flags && ss_after.ss_sp == ss_before.ss_sp);
}

static int run(const char *c)
{
    int all = strcmp(c, "all_cases") == 0, ran = 0;
#define CASE(name, call)                                                                                     \
    if (all || strcmp(c, name) == 0) {                                                                       \
        call;                                                                                                \
        ran++;                                                                                               \
    }
    CASE("good", case_good());
    CASE("symlink", case_symlink());
    CASE("order", case_order());
    CASE("bad_abi",
         expect_failure("bad_abi", "bad_abi.so", ENAS_ERR_ABI,
                        "enas_plugin_init: ABI mismatch (plugin 99, engine 1); rebuild it against this "
                        "include/enas"));
    CASE("bad_desc_abi",
         expect_failure("bad_desc_abi", "bad_desc_abi.so", ENAS_ERR_ABI,
                        "enas_plugin_init: loss descriptor: ABI mismatch (plugin 99, engine 1); "
                        "rebuild it against this include/enas"));
    CASE("no_entry", expect_failure("no_entry", "no_entry.so", ENAS_ERR_PLUGIN_SYMBOL,
                                    "no symbol 'enas_plugin_init' (not an ENAS plugin?)"));
    CASE("init_fails", expect_failure("init_fails", "init_fails.so", ENAS_ERR_INVALID_ARG,
                                      "enas_plugin_init failed: needs setting foo"));
    CASE("dup", case_dup());
    CASE("dup_op", case_dup_op());
    CASE("missing_member", expect_failure("missing_member", "missing_member.so", ENAS_ERR_INVALID_ARG,
                                          "space 'mm_space': missing required member 'forward'"));
    CASE("bad_name", expect_failure("bad_name", "bad_name.so", ENAS_ERR_INVALID_ARG,
                                    "loss name 'Bad-Name' is not a valid name ([a-z0-9_]+)"));
    CASE("undefined_symbol",
         expect_failure("undefined_symbol", "undefined_symbol.so", ENAS_ERR_PLUGIN_LOAD, "dlopen failed: "));
    CASE("undefined_symbol", {
        struct enas_host *h;
        struct enas_load_report *rep;
        struct enas_err err;
        load_case("undefined_symbol", &h, &rep, &err);
        CHECK_MSG(strstr(err.msg, "enas_fixture_missing_function"), "dlerror text missing: %s", err.msg);
        done(h, rep);
    });
    CASE("not_a_plugin",
         expect_failure("not_a_plugin", "not_a_plugin.so", ENAS_ERR_PLUGIN_LOAD, "dlopen failed: "));
    CASE("all", case_all());
    CASE("dirs", case_dirs());
    CASE("empty_dir", case_empty_dir());
    CASE("list", case_list());
    CASE("msg_no_nul", case_msg_no_nul());
    CASE("strings", case_strings());
    CASE("many", case_many());
    CASE("too_many", expect_failure("too_many", "too_many.so", ENAS_ERR_INVALID_ARG,
                                    "reward 'too_many': 100000 settings; at most 1024 are allowed"));
    CASE("long_path", case_long_path());
    CASE("guard", case_guard());
#undef CASE
    if (!ran) {
        fprintf(stderr, "test_loader: unknown case '%s'\n", c);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_loader FIXTURE_ROOT CASE|all_cases\n");
        return 2;
    }
    root = argv[1];
    if (!run(argv[2]))
        return 2;
    return check_exit(argv[2]);
}
