/* test_config_io.c - settings output: `--help` text, the write -> load round trip (every value exactly,
 * floats bit for bit), and the presets in configs/ loading cleanly. Argument: the configs folder. */
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"

#include "check.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct enas_setting micro_table[] = {
    {"num_layers", ENAS_SET_INT, 6, NULL, 1, 100, NULL, "layers"},
    {"keep_prob", ENAS_SET_FLOAT, 0.9, NULL, 0, 1, NULL, "dropout keep probability"},
    {"use_aux", ENAS_SET_BOOL, 0, NULL, 0, 1, NULL, "aux head"},
    {"op", ENAS_SET_STRING, 0, "sep3x3", 0, 0, "sep3x3|sep5x5|avg3x3", "an op"},
};
#define N_MICRO (sizeof micro_table / sizeof micro_table[0])

static struct enas_config *make_config(int with_micro)
{
    struct enas_config *c = NULL;
    struct enas_err err = {0};
    CHECK(enas__config_create(&c, &err) == ENAS_OK);
    CHECK_ERR(enas__config_add_section(c, "", "engine", enas__core_settings, enas__core_n_settings, &err),
              err, ENAS_OK, NULL);
    if (with_micro)
        CHECK_ERR(enas__config_add_section(c, "micro", "micro.so", micro_table, N_MICRO, &err), err, ENAS_OK,
                  NULL);
    return c;
}

static void kebab(char *dst, const char *src)
{
    for (; *src; src++)
        *dst++ = *src == '_' ? '-' : *src;
    *dst = '\0';
}

static void test_help(void)
{
    struct enas_config *c = make_config(1);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    enas__config_print_help(c, f);
    fclose(f);
    CHECK(strstr(text, "Core settings (from engine") != NULL);
    CHECK(strstr(text, "Settings of 'micro' (from micro.so") != NULL);
    for (size_t k = 0; k < enas__core_n_settings; k++) {
        const struct enas_setting *d = &enas__core_settings[k];
        char opt[96] = "--", want[96];
        kebab(opt + 2, d->key);
        strcat(opt, " ");
        const char *line = strstr(text, opt);
        CHECK_MSG(line != NULL, "help lacks %s", opt);
        if (!line)
            continue;
        const char *eol = strchr(line, '\n');
        if (d->type == ENAS_SET_INT)
            snprintf(want, sizeof want, "default %.0f ", d->def);
        else if (d->type == ENAS_SET_FLOAT)
            snprintf(want, sizeof want, "default %g ", d->def);
        else if (d->type == ENAS_SET_BOOL)
            snprintf(want, sizeof want, "default %s ", d->def != 0.0 ? "true" : "false");
        else
            snprintf(want, sizeof want, "default %s ", d->def_str[0] ? d->def_str : "\"\"");
        const char *at = strstr(line, want);
        CHECK_MSG(at && (!eol || at < eol), "help line of %s lacks '%s'", opt, want);
    }
    CHECK(strstr(text, "--batch-size N") != NULL);
    CHECK(strstr(text, "[1, 65536]") != NULL);
    CHECK(strstr(text, "--split half|tf") != NULL);
    CHECK(strstr(text, "--nesterov true|false") != NULL);
    CHECK(strstr(text, "--grad-clip X") != NULL);
    CHECK(strstr(text, "--micro.num-layers N") != NULL);
    free(text);
    enas__config_destroy(c);
}

/* A value different from the default, in range, and awkward to print: non-terminating binary fractions,
 * integral floats, the largest integers, quotes and backslashes. */
static void set_odd_value(struct enas_config *c, const char *sec, const struct enas_setting *d, size_t k)
{
    static const double floats[] = {2.0, 0.1 + 0.2, 1.0 / 3e5, 1.2345678901234567e12, 0.7, 1e-300};
    char name[160], text[128];
    struct enas_err err = {0};
    snprintf(name, sizeof name, "%s%s%s", sec, sec[0] ? "." : "", d->key);
    if (d->type == ENAS_SET_INT) {
        double v = isfinite(d->max) ? d->max : d->min + 7;
        snprintf(text, sizeof text, "%.0f", v == d->def ? d->min : v);
    } else if (d->type == ENAS_SET_FLOAT) {
        double v = d->def;
        for (size_t i = 0; i < 6 && v == d->def; i++) {
            double cand = floats[(k + i) % 6];
            if (cand >= d->min && cand <= d->max && cand != d->def)
                v = cand;
        }
        snprintf(text, sizeof text, "%.17g", v);
    } else if (d->type == ENAS_SET_BOOL) {
        snprintf(text, sizeof text, "%s", d->def != 0.0 ? "false" : "true");
    } else if (d->choices) {
        snprintf(text, sizeof text, "%s", strrchr(d->choices, '|') + 1);
    } else {
        snprintf(text, sizeof text, "odd \"quoted\" \\path\\ %s\ttab\x01", d->key);
    }
    CHECK_ERR(enas__config_set_option(c, name, text, &err), err, ENAS_OK, NULL);
}

static void check_same(const struct enas_cfg *a, const struct enas_cfg *b, const struct enas_setting *t,
                       size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const char *key = t[k].key;
        switch (t[k].type) {
        case ENAS_SET_INT:
            CHECK_MSG(enas__cfg_int(a, key) == enas__cfg_int(b, key), "%s", key);
            break;
        case ENAS_SET_FLOAT:
            CHECK_MSG(enas__cfg_float(a, key) == enas__cfg_float(b, key), "%s: %.17g vs %.17g", key,
                      enas__cfg_float(a, key), enas__cfg_float(b, key));
            break;
        case ENAS_SET_BOOL:
            CHECK_MSG(enas__cfg_bool(a, key) == enas__cfg_bool(b, key), "%s", key);
            break;
        case ENAS_SET_STRING:
            CHECK_MSG(strcmp(enas__cfg_string(a, key), enas__cfg_string(b, key)) == 0, "%s: '%s' vs '%s'",
                      key, enas__cfg_string(a, key), enas__cfg_string(b, key));
            break;
        }
    }
}

/* Every FLOAT line of the written file has a '.' or an exponent, so libconfig reads it as a float. */
static void check_float_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    CHECK(f != NULL);
    while (f && fgets(line, sizeof line, f)) {
        for (size_t k = 0; k < enas__core_n_settings; k++) {
            const struct enas_setting *d = &enas__core_settings[k];
            size_t kl = strlen(d->key);
            if (d->type != ENAS_SET_FLOAT || strncmp(line, d->key, kl) != 0 ||
                strncmp(line + kl, " = ", 3) != 0)
                continue;
            CHECK_MSG(strpbrk(line + kl + 3, ".eE") != NULL, "float written as an integer: %s", line);
        }
    }
    if (f)
        fclose(f);
}

static void test_round_trip(void)
{
    char dir[] = "/tmp/enas_test_config_XXXXXX", path[128], tmp[160];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/run.cfg", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct enas_config *a = make_config(1), *b = make_config(1);
    struct enas_err err = {0};
    for (size_t k = 0; k < enas__core_n_settings; k++)
        set_odd_value(a, "", &enas__core_settings[k], k);
    for (size_t k = 0; k < N_MICRO; k++)
        set_odd_value(a, "micro", &micro_table[k], k);
    CHECK_ERR(enas__config_write(a, path, &err), err, ENAS_OK, NULL);
    CHECK(access(tmp, F_OK) != 0);
    CHECK_ERR(enas__config_load_file(b, path, &err), err, ENAS_OK, NULL);
    check_same(enas__config_section(a, ""), enas__config_section(b, ""), enas__core_settings,
               enas__core_n_settings);
    check_same(enas__config_section(a, "micro"), enas__config_section(b, "micro"), micro_table, N_MICRO);
    /* The odd values really differ from the defaults, or the comparison above proves nothing. */
    CHECK(enas__cfg_int(enas__config_section(b, ""), "seed") == INT64_C(9007199254740992));
    CHECK(enas__cfg_float(enas__config_section(b, ""), "grad_clip") != 5.0);
    check_float_lines(path);

    snprintf(tmp, sizeof tmp, "%s/no/such/dir/run.cfg", dir);
    CHECK_ERR(enas__config_write(a, tmp, &err), err, ENAS_ERR_IO, "no/such/dir/run.cfg.tmp");
    unlink(path);
    rmdir(dir);
    enas__config_destroy(a);
    enas__config_destroy(b);
}

/* The presets name the in-tree spaces' sections, so they load against the real plugins. */
static void test_presets(const char *configs, const char *plugins)
{
    struct enas_host *h = NULL;
    struct enas_load_report *rep = NULL;
    struct enas_err herr = {0};
    const char *dirs[] = {plugins};
    CHECK(enas__host_create(&h, &herr) == ENAS_OK);
    enas__loader_load_all(h, dirs, 1, &rep, &herr);
    CHECK(rep && rep->n_failed == 0);
    static const char *const expected[] = {"macro_search.cfg", "micro_search.cfg", "macro_final.cfg",
                                           "micro_final.cfg"};
    DIR *d = opendir(configs);
    CHECK_MSG(d != NULL, "cannot open %s", configs);
    int found[4] = {0}, n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".cfg") != 0)
            continue;
        char path[4096], space[64];
        snprintf(path, sizeof path, "%s/%s", configs, e->d_name);
        struct enas_config *c = make_config(0);
        struct enas_err err = {0};
        CHECK_ERR(enas__registry_declare_sections(h->reg, c, &err), err, ENAS_OK, NULL);
        CHECK_ERR(enas__config_load_file(c, path, &err), err, ENAS_OK, NULL);
        /* The file's name says which space it is for: <space>_<what>.cfg, or nni_<space>.cfg. */
        const char *stem = strncmp(e->d_name, "nni_", 4) == 0 ? e->d_name + 4 : e->d_name;
        snprintf(space, sizeof space, "%.*s", (int)strcspn(stem, "_."), stem);
        CHECK_MSG(strcmp(enas__cfg_string(enas__config_section(c, ""), "space"), space) == 0, "%s", path);
        /* TF ramps drop path over all training steps: a final micro preset that starts it at full strength
         * (drop_path_steps 0) is not TF's */
        if (strcmp(e->d_name, "micro_final.cfg") == 0)
            CHECK_MSG(enas__cfg_int(enas__config_section(c, "micro"), "drop_path_steps") > 0,
                      "%s: drop_path_steps is 0", path);
        for (int i = 0; i < 4; i++)
            found[i] |= strcmp(e->d_name, expected[i]) == 0;
        n++;
        enas__config_destroy(c);
    }
    if (d)
        closedir(d);
    for (int i = 0; i < 4; i++)
        CHECK_MSG(found[i], "missing preset %s", expected[i]);
    CHECK(n >= 4);
    enas__loader_report_destroy(rep);
    enas__host_destroy(h);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CONFIGS_DIR PLUGIN_DIR\n", argv[0]);
        return 2;
    }
    test_help();
    test_round_trip();
    test_presets(argv[1], argv[2]);
    return check_exit("test_config_io");
}
