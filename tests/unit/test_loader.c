/* test_loader.c - the plugin loader against the fixtures: `test_loader FIXTURE_ROOT CASE` (or
 * all_cases). Every failure asserts the status, the whole message shape, and the file's path. */
#include "check.h"
#include "config.h"
#include "host.h"
#include "log.h"
#include "plugin_loader.h"
#include "registry.h"

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
    return enas__plugins_load(*h, dirs, 1, rep, err);
}

static void done(struct enas_host *h, struct enas_load_report *rep)
{
    enas__load_report_destroy(rep);
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
    FILE *f = tmpfile();
    if (f && rep) {
        char out[16384];
        enas__load_report_print(rep, f, 1);
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
        enas__load_report_print(rep, f, 0);
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
        enas__plugins_list_main(h, f);
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
        enas__plugin_dirs_resolve(flags, nf, env, exe, "/nonexistent/enas/plugins", &dirs, &n, &err);
    CHECK_ERR(st, err, ENAS_OK, NULL);
    CHECK_MSG(st != ENAS_OK || (n == want_n && strcmp(dirs[0], want0) == 0), "got %zu dirs, first '%s'", n,
              st == ENAS_OK && n ? dirs[0] : "");
    enas__plugin_dirs_free(dirs, n);
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
    CHECK_ERR(enas__plugin_dirs_resolve(NULL, 0, "", "/nonexistent/bin/enas", "/nonexistent/enas/plugins",
                                        &dirs, &n, &err),
              err, ENAS_ERR_NOT_FOUND, "plugin directory '/nonexistent/enas/plugins' (the installed default");
    CHECK(dirs == NULL && n == 0);
    const char *bad[] = {good, "/no/such/dir"};
    CHECK_ERR(enas__plugin_dirs_resolve(bad, 2, NULL, NULL, good, &dirs, &n, &err), err, ENAS_ERR_NOT_FOUND,
              "plugin directory '/no/such/dir' (from --plugin-dir) does not exist");
    snprintf(env, sizeof env, "%s:/no/such/env_dir", good);
    CHECK_ERR(enas__plugin_dirs_resolve(NULL, 0, env, NULL, good, &dirs, &n, &err), err, ENAS_ERR_NOT_FOUND,
              "plugin directory '/no/such/env_dir' (from ENAS_PLUGIN_PATH) does not exist");

    /* the real environment */
    CHECK(setenv("ENAS_PLUGIN_PATH", order, 1) == 0);
    CHECK_ERR(enas__plugin_dirs(NULL, 0, &dirs, &n, &err), err, ENAS_OK, NULL);
    CHECK(n == 1 && strcmp(dirs[0], order) == 0);
    enas__plugin_dirs_free(dirs, n);
    CHECK_ERR(enas__plugin_dirs(flags, 1, &dirs, &n, &err), err, ENAS_OK, NULL);
    CHECK(n == 1 && strcmp(dirs[0], good) == 0);
    enas__plugin_dirs_free(dirs, n);
    CHECK(setenv("ENAS_PLUGIN_PATH", "", 1) == 0);
    enum enas_status st = enas__plugin_dirs(NULL, 0, &dirs, &n, &err);
    CHECK_MSG(st == ENAS_OK ? n == 1 : strstr(err.msg, "installed default") != NULL, "%s", err.msg);
    enas__plugin_dirs_free(dirs, n);
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
