/* test_config.c - settings: file loading, options, declarations, validation messages and op attributes.
 * test_config_io.c covers help, the write/load round trip and the presets. Argument: tests/data. */
#include "settings/config.h"

#include "check.h"
#include "rm_tree.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *data_dir;

/* A stand-in for a space plugin's section. */
static const struct enas_setting micro_table[] = {
    {"num_layers", ENAS_SET_INT, 6, NULL, 1, 100, NULL, "layers"},
    {"keep_prob", ENAS_SET_FLOAT, 0.9, NULL, 0, 1, NULL, "dropout keep probability"},
    {"use_aux", ENAS_SET_BOOL, 0, NULL, 0, 1, NULL, "aux head"},
    {"op", ENAS_SET_STRING, 0, "sep3x3", 0, 0, "sep3x3|sep5x5|avg3x3", "an op"},
};
#define N_MICRO (sizeof micro_table / sizeof micro_table[0])

static const char *data(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", data_dir, name);
    return buf;
}

static struct enas_config *make_config(void)
{
    struct enas_config *c = NULL;
    struct enas_err err = {0};
    CHECK(enas__config_create(&c, &err) == ENAS_OK);
    CHECK(enas__config_add_section(c, "", "engine", enas__core_settings, enas__core_n_settings, &err) ==
          ENAS_OK);
    CHECK(enas__config_add_section(c, "micro", "micro.so", micro_table, N_MICRO, &err) == ENAS_OK);
    return c;
}

static void test_defaults(void)
{
    struct enas_config *c = make_config();
    const struct enas_cfg *core = enas__config_section(c, ""), *m = enas__config_section(c, "micro");
    CHECK(core && m);
    CHECK(enas__config_section(c, "macro") == NULL);
    CHECK(enas__cfg_int(core, "batch_size") == 128);
    CHECK(enas__cfg_float(core, "baseline_decay") == 0.999);
    CHECK(enas__cfg_float(core, "ctrl_lr") == 3.5e-4);
    CHECK(enas__cfg_bool(core, "nesterov") == 0);
    CHECK(strcmp(enas__cfg_string(core, "lr_schedule"), "cosine") == 0);
    CHECK(strcmp(enas__cfg_string(core, "data"), "") == 0);
    CHECK(strcmp(enas__cfg_string(core, "backend"), "onednn") == 0);
    CHECK(enas__cfg_int(m, "num_layers") == 6);
    CHECK(strcmp(enas__cfg_string(m, "op"), "sep3x3") == 0);
    /* Programming errors read as 0 / "" (and say so on stderr). */
    CHECK(enas__cfg_int(core, "no_such_key") == 0);
    CHECK(enas__cfg_float(core, "batch_size") == 0.0);
    CHECK(strcmp(enas__cfg_string(core, "batch_size"), "") == 0);
    CHECK(enas__cfg_int(NULL, "batch_size") == 0);
    enas__config_destroy(c);
}

static void test_good_file(void)
{
    struct enas_config *c = make_config();
    struct enas_err err = {0};
    CHECK_ERR(enas__config_load_file(c, data("good.cfg"), &err), err, ENAS_OK, NULL);
    const struct enas_cfg *core = enas__config_section(c, ""), *m = enas__config_section(c, "micro");
    CHECK(enas__cfg_int(core, "batch_size") == 64);
    CHECK(enas__cfg_float(core, "lr_max") == 0.1);
    CHECK(enas__cfg_float(core, "lr_min") == 1.0);
    CHECK(enas__cfg_bool(core, "nesterov") == 1);
    CHECK(strcmp(enas__cfg_string(core, "split"), "tf") == 0);
    CHECK(strcmp(enas__cfg_string(core, "output"), "runs/x") == 0);
    CHECK(enas__cfg_int(core, "seed") == INT64_C(9007199254740992));
    CHECK(enas__cfg_int(core, "workers") == 4); /* absent: default */
    CHECK(enas__cfg_int(m, "num_layers") == 12);
    CHECK(enas__cfg_float(m, "keep_prob") == 0.75);
    CHECK(enas__cfg_bool(m, "use_aux") == 1);
    CHECK(strcmp(enas__cfg_string(m, "op"), "sep5x5") == 0);

    /* A big literal with its suffix, hex, an empty file. */
    CHECK_ERR(enas__config_load_file(c, data("big_int.cfg"), &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(core, "seed") == INT64_C(4294967296));
    CHECK(enas__cfg_int(core, "cutout") == 16);
    CHECK(enas__cfg_float(core, "lr_max") == 0.0);
    CHECK_ERR(enas__config_load_file(c, data("empty.cfg"), &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(core, "seed") == INT64_C(4294967296));
    CHECK(enas__cfg_int(core, "batch_size") == 64);

    /* Literals at the ends of libconfig's ranges; digits in comments and strings are not literals. */
    CHECK_ERR(enas__config_load_file(c, data("literals.cfg"), &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(core, "seed") == INT32_MAX);
    CHECK(enas__cfg_int(core, "cutout") == 16);
    CHECK(strcmp(enas__cfg_string(core, "output"), "runs/99999999999999999999") == 0);
    CHECK(enas__cfg_int(m, "num_layers") == 12 && enas__cfg_float(m, "keep_prob") == 0.0);
    CHECK(enas__cfg_int(core, "log_frequency") == INT64_MAX);
    CHECK(enas__cfg_int(core, "max_steps") == INT32_MAX);
    CHECK(enas__cfg_float(core, "lr_max") == 1000.0);
    CHECK_ERR(enas__config_load_file(c, data("good.cfg"), &err), err, ENAS_OK, NULL);

    /* Options override the file, in kebab or snake case, with or without a section. */
    CHECK_ERR(enas__config_set_option(c, "batch-size", "256", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(core, "batch_size") == 256);
    CHECK_ERR(enas__config_set_option(c, "batch_size", "32", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(core, "batch_size") == 32);
    CHECK_ERR(enas__config_set_option(c, "micro.num-layers", "20", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(m, "num_layers") == 20);
    CHECK_ERR(enas__config_set_option(c, "micro.keep_prob", "0.5", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_float(m, "keep_prob") == 0.5);
    CHECK_ERR(enas__config_set_option(c, "lr-schedule", "constant", &err), err, ENAS_OK, NULL);
    CHECK(strcmp(enas__cfg_string(core, "lr_schedule"), "constant") == 0);
    CHECK_ERR(enas__config_set_option(c, "nesterov", "off", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_bool(core, "nesterov") == 0);
    CHECK_ERR(enas__config_set_option(c, "micro.use-aux", "No", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_bool(m, "use_aux") == 0);
    CHECK_ERR(enas__config_set_option(c, "deterministic", "1", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_bool(core, "deterministic") == 1);
    CHECK_ERR(enas__config_set_option(c, "grad-clip", "3", &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_float(core, "grad_clip") == 3.0);
    CHECK(enas__config_option_kind(c, "nesterov") == ENAS_OPTION_BOOL);
    CHECK(enas__config_option_kind(c, "micro.use-aux") == ENAS_OPTION_BOOL);
    CHECK(enas__config_option_kind(c, "batch-size") == ENAS_OPTION_VALUED);
    CHECK(enas__config_option_kind(c, "no-such") == ENAS_OPTION_UNKNOWN);
    enas__config_destroy(c);
}

struct bad_file {
    const char *file;
    enum enas_status want;
    const char *needles[3];
};

static void test_bad_files(void)
{
    static const struct bad_file cases[] = {
        {"syntax.cfg", ENAS_ERR_CONFIG, {"syntax.cfg:4: syntax error: ", NULL, NULL}},
        {"unknown_key.cfg",
         ENAS_ERR_CONFIG,
         {"unknown_key.cfg:3: unknown key 'batch_sise'", "did you mean 'batch_size'?", NULL}},
        {"unknown_key_far.cfg",
         ENAS_ERR_CONFIG,
         {"unknown_key_far.cfg:2: unknown key 'zzzzzzzz'", "enas --help", NULL}},
        {"unknown_section.cfg",
         ENAS_ERR_CONFIG,
         {"unknown_section.cfg:3: unknown section 'mikro'", "declared sections: micro", NULL}},
        {"section_bad_key.cfg",
         ENAS_ERR_CONFIG,
         {"section_bad_key.cfg:4: unknown key 'micro.num_layer'", "did you mean 'micro.num_layers'?", NULL}},
        {"int_float.cfg",
         ENAS_ERR_CONFIG,
         {"int_float.cfg:2: key 'batch_size': expects an integer", "3.5",
          "allowed: an integer in [1, 65536]"}},
        {"int_string.cfg",
         ENAS_ERR_CONFIG,
         {"int_string.cfg:2: key 'batch_size': expects an integer", "a string", NULL}},
        {"bool_int.cfg",
         ENAS_ERR_CONFIG,
         {"bool_int.cfg:2: key 'nesterov': expects true or false", "an integer (1)", NULL}},
        {"range.cfg",
         ENAS_ERR_CONFIG,
         {"range.cfg:2: key 'batch_size': value 0 is out of range", "allowed: an integer in [1, 65536]",
          NULL}},
        {"float_range.cfg",
         ENAS_ERR_CONFIG,
         {"float_range.cfg:4: key 'micro.keep_prob': value 1.5 is out of range", "[0, 1]", NULL}},
        {"choice.cfg",
         ENAS_ERR_CONFIG,
         {"choice.cfg:2: key 'split': 'thirds'", "allowed: one of half|tf", NULL}},
        {"section_scalar.cfg",
         ENAS_ERR_CONFIG,
         {"section_scalar.cfg:2: section 'micro' must be a group", NULL, NULL}},
        {"partial_bad.cfg",
         ENAS_ERR_CONFIG,
         {"partial_bad.cfg:9: key 'micro.keep_prob': value -1 is out of range", NULL, NULL}},
        {"int_wrap.cfg",
         ENAS_ERR_CONFIG,
         {"int_wrap.cfg:2: key 'seed': integer literal 4294967296 beyond 32 bits without the L suffix",
          "allowed: write it as 4294967296L", NULL}},
        {"hex_wrap.cfg",
         ENAS_ERR_CONFIG,
         {"hex_wrap.cfg:2: key 'batch_size': integer literal 0x100000020 beyond 32 bits", "0x100000020L",
          NULL}},
        {"neg_wrap.cfg",
         ENAS_ERR_CONFIG,
         {"neg_wrap.cfg:2: key 'cutout': integer literal -2147483649 beyond 32", NULL, NULL}},
        {"wide_wrap.cfg",
         ENAS_ERR_CONFIG,
         {"wide_wrap.cfg:3: key 'seed': integer literal 99999999999999999999L beyond 64 bits",
          "-9223372036854775808 to 9223372036854775807", NULL}},
        {"group_wrap.cfg",
         ENAS_ERR_CONFIG,
         {"group_wrap.cfg:5: key 'micro.num_layers': integer literal 4294967308 beyond 32 bits", NULL, NULL}},
        {"does_not_exist.cfg", ENAS_ERR_IO, {"does_not_exist.cfg", "No such file or directory", NULL}},
    };
    struct enas_config *c = make_config();
    struct enas_err err = {0};
    CHECK_ERR(enas__config_load_file(c, data("good.cfg"), &err), err, ENAS_OK, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum enas_status st = enas__config_load_file(c, data(cases[i].file), &err);
        for (size_t j = 0; j < 3 && cases[i].needles[j]; j++)
            CHECK_ERR(st, err, cases[i].want, cases[i].needles[j]);
    }
    /* A directory is not a config file. */
    CHECK_ERR(enas__config_load_file(c, data_dir, &err), err, ENAS_ERR_IO, "is a directory");

    /* Every failure above left good.cfg's values in place. */
    const struct enas_cfg *core = enas__config_section(c, ""), *m = enas__config_section(c, "micro");
    CHECK(enas__cfg_int(core, "batch_size") == 64);
    CHECK(enas__cfg_float(core, "lr_max") == 0.1);
    CHECK(strcmp(enas__cfg_string(core, "output"), "runs/x") == 0);
    CHECK(strcmp(enas__cfg_string(core, "split"), "tf") == 0);
    CHECK(enas__cfg_int(m, "num_layers") == 12);
    CHECK(strcmp(enas__cfg_string(m, "op"), "sep5x5") == 0);
    enas__config_destroy(c);
}

/* ---- files made at run time: NUL bytes, special files, @include ---- */

static char tmp_dir[64];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", tmp_dir, name);
    return b;
}

/* Writes len bytes of text to tmp_dir/name. */
static void put_file(const char *name, const char *text, size_t len)
{
    FILE *f = fopen(tmp_path(name), "wb");
    CHECK_MSG(f && fwrite(text, 1, len, f) == len, "cannot write %s", name);
    if (f)
        fclose(f);
}

static void put_text(const char *name, const char *text)
{
    put_file(name, text, strlen(text));
}

/* A NUL byte ended the file for libconfig without a word; a FIFO blocked, /dev/zero never ended. */
static void test_file_kinds(void)
{
    struct enas_config *c = make_config();
    struct enas_err err = {0};
    static const char nul[] = "batch_size = 64;\n\nlr_max\0 = 0.5;\ncutout = 99;\n";
    put_file("nul.cfg", nul, sizeof nul - 1);
    CHECK_ERR(enas__config_load_file(c, tmp_path("nul.cfg"), &err), err, ENAS_ERR_CONFIG,
              "nul.cfg:3: a NUL byte at column 7; a settings file is text");
    CHECK(mkfifo(tmp_path("fifo.cfg"), 0600) == 0);
    CHECK_ERR(enas__config_load_file(c, tmp_path("fifo.cfg"), &err), err, ENAS_ERR_IO,
              "fifo.cfg': not a regular file (a FIFO)");
    CHECK_ERR(enas__config_load_file(c, "/dev/zero", &err), err, ENAS_ERR_IO,
              "'/dev/zero': not a regular file (a character device)");
    char big[(1 << 20) + 2];
    memset(big, ' ', sizeof big);
    put_file("big.cfg", big, sizeof big);
    CHECK_ERR(enas__config_load_file(c, tmp_path("big.cfg"), &err), err, ENAS_ERR_DATA,
              "big.cfg': too large (1048578 bytes; at most 1048576)");
    /* a comment on the last line without a newline after it was a syntax error */
    put_text("last_comment.cfg", "cutout = 4; # no newline at the end");
    CHECK_ERR(enas__config_load_file(c, tmp_path("last_comment.cfg"), &err), err, ENAS_OK, NULL);
    put_text("last_comment2.cfg", "micro: { num_layers = 7; }; // none here either");
    CHECK_ERR(enas__config_load_file(c, tmp_path("last_comment2.cfg"), &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(enas__config_section(c, ""), "cutout") == 4);
    CHECK(enas__cfg_int(enas__config_section(c, "micro"), "num_layers") == 7);
    CHECK(enas__cfg_int(enas__config_section(c, ""), "batch_size") == 128);
    enas__config_destroy(c);
}

/* @include: spliced in by the engine, relative to the including file's folder, with errors naming the
 * included file's own lines. libconfig's own @include exited the process on a directory and blocked on a
 * FIFO. */
static void test_include(void)
{
    struct enas_config *c = make_config();
    const struct enas_cfg *core = enas__config_section(c, ""), *m = enas__config_section(c, "micro");
    struct enas_err err = {0};
    CHECK(mkdir(tmp_path("inc"), 0700) == 0);
    put_text("main.cfg", "batch_size = 64;\n  @include \"inc/part.cfg\" lr_max = 0.5;\nsplit = \"tf\";\n");
    put_text("inc/part.cfg", "micro: { num_layers = 3; };\n@include \"more.cfg\"\n# no newline at the end");
    put_text("inc/more.cfg", "cutout = 8;");
    CHECK_ERR(enas__config_load_file(c, tmp_path("main.cfg"), &err), err, ENAS_OK, NULL);
    CHECK(enas__cfg_int(core, "batch_size") == 64 && enas__cfg_float(core, "lr_max") == 0.5);
    CHECK(enas__cfg_int(m, "num_layers") == 3 && enas__cfg_int(core, "cutout") == 8);
    CHECK(strcmp(enas__cfg_string(core, "split"), "tf") == 0);

    /* errors name the file and line they are in, before, inside and after an included file */
    put_text("inc/bad.cfg", "# bad.cfg\ncutout = 99;\n");
    put_text("after.cfg", "@include \"inc/more.cfg\"\n\nbatch_sise = 3;\n");
    put_text("inside.cfg", "batch_size = 2;\n@include \"inc/bad.cfg\"\n");
    put_text("inc/syntax.cfg", "\n\nlr_max = ;\n");
    put_text("syntax_inc.cfg", "@include \"inc/syntax.cfg\"\n");
    put_text("inc/wrap.cfg", "seed = 0x100000000;\n");
    put_text("wrap_inc.cfg", "micro: {\n@include \"inc/wrap.cfg\"\n};\n");
    put_text("inc/open.cfg", "output = \"runs/\n");
    put_text("open_inc.cfg", "@include \"inc/open.cfg\"\nx\";\n");
    put_text("inc/comment.cfg", "/* not closed\n");
    put_text("comment_inc.cfg", "@include \"inc/comment.cfg\"\n*/ batch_size = 2;\n");
    put_text("dir.cfg", "batch_size = 2;\n@include \"inc\"\n");
    put_text("missing.cfg", "\n\n@include \"inc/none.cfg\"\n");
    put_text("empty_name.cfg", "@include \"\"\n");
    put_text("unclosed.cfg", "@include \"inc/more.cfg\n");
    put_text("self.cfg", "@include \"self.cfg\"\n");
    put_text("cycle_a.cfg", "batch_size = 2;\n@include \"inc/cycle_b.cfg\"\n");
    put_text("inc/cycle_b.cfg", "@include \"../cycle_a.cfg\"\n");
    CHECK(mkfifo(tmp_path("inc/fifo.cfg"), 0600) == 0);
    put_text("fifo_inc.cfg", "@include \"inc/fifo.cfg\"\n");
    CHECK(symlink("/dev/zero", tmp_path("inc/zero.cfg")) == 0);
    put_text("zero_inc.cfg", "@include \"inc/zero.cfg\"\n");
    static const char nul[] = "cutout = 1;\0";
    put_file("inc/nul.cfg", nul, sizeof nul - 1);
    put_text("nul_inc.cfg", "@include \"inc/nul.cfg\"\n");
    char big[(1 << 20) + 1];
    memset(big, '\n', sizeof big);
    put_file("inc/big.cfg", big, sizeof big);
    put_text("big_inc.cfg", "@include \"inc/big.cfg\"\n");
    static const struct {
        const char *file, *needle;
    } bad[] = {
        {"after.cfg", "after.cfg:3: unknown key 'batch_sise'"},
        {"inside.cfg", "inc/bad.cfg:2: key 'cutout': value 99 is out of range"},
        {"syntax_inc.cfg", "inc/syntax.cfg:3: syntax error"},
        {"wrap_inc.cfg", "inc/wrap.cfg:1: key 'micro.seed': integer literal 0x100000000 beyond 32 bits"},
        {"open_inc.cfg", "inc/open.cfg:1: the string that starts here does not end in this file"},
        {"comment_inc.cfg", "inc/comment.cfg:1: the comment that starts here does not end in this file"},
        {"dir.cfg", "dir.cfg:2: @include \"inc\": included file '"},
        {"dir.cfg", "/inc': is a directory"},
        {"missing.cfg", "missing.cfg:3: @include \"inc/none.cfg\": included file '"},
        {"missing.cfg", "inc/none.cfg': No such file or directory"},
        {"empty_name.cfg", "empty_name.cfg:1: @include \"\": no file name"},
        {"unclosed.cfg", "unclosed.cfg:1: @include: the file name lacks its closing quote"},
        {"self.cfg", "self.cfg:1: @include \"self.cfg\": include cycle: '"},
        {"cycle_a.cfg", "inc/cycle_b.cfg:1: @include \"../cycle_a.cfg\": include cycle"},
        {"fifo_inc.cfg", "fifo_inc.cfg:1: @include \"inc/fifo.cfg\": included file '"},
        {"fifo_inc.cfg", "fifo.cfg': not a regular file (a FIFO)"},
        {"zero_inc.cfg", "zero.cfg': not a regular file (a character device)"},
        {"nul_inc.cfg", "inc/nul.cfg:1: a NUL byte at column 12"},
        {"big_inc.cfg", "big_inc.cfg:1: @include \"inc/big.cfg\": included file '"},
        {"big_inc.cfg", "big.cfg': too large (1048577 bytes; at most 1048576)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum enas_status st = enas__config_load_file(c, tmp_path(bad[i].file), &err);
        CHECK_ERR(st, err, ENAS_ERR_CONFIG, bad[i].needle);
    }
    CHECK(enas__cfg_int(core, "batch_size") == 64 && enas__cfg_int(core, "cutout") == 8);

    /* nesting deeper than libconfig's own 10 levels, and too many includes in all */
    for (int i = 0; i < 12; i++) {
        char name[32], text[64];
        snprintf(name, sizeof name, "deep%d.cfg", i);
        snprintf(text, sizeof text, "@include \"deep%d.cfg\"\n", i + 1);
        put_text(name, text);
    }
    CHECK_ERR(enas__config_load_file(c, tmp_path("deep0.cfg"), &err), err, ENAS_ERR_CONFIG,
              "deep9.cfg:1: @include \"deep10.cfg\": includes nested more than 10 deep");
    put_text("inc/empty.cfg", "");
    char many[300 * 32] = ""; /* 25 bytes a line */
    for (int i = 0; i < 300; i++)
        strcat(many, "@include \"inc/empty.cfg\"\n");
    put_text("many.cfg", many);
    CHECK_ERR(enas__config_load_file(c, tmp_path("many.cfg"), &err), err, ENAS_ERR_CONFIG,
              "many.cfg:257: @include \"inc/empty.cfg\": more than 256 @include in all");
    enas__config_destroy(c);
}

struct bad_option {
    const char *name, *value, *needles[2];
};

static void test_bad_options(void)
{
    static const struct bad_option cases[] = {
        {"batch-size", "12abc", {"--batch-size: '12abc' is not an integer", "[1, 65536]"}},
        {"batch_size", "", {"--batch-size: '' is not an integer", NULL}},
        {"batch-size", "99999999999999999999", {"is not an integer", NULL}},
        {"batch-size", "0", {"--batch-size: value 0 is out of range", "allowed: an integer in [1, 65536]"}},
        {"seed",
         "9007199254740993",
         {"--seed: value 9007199254740993 is out of range", "[0, 9007199254740992]"}},
        {"log-frequency", "0", {"allowed: an integer >= 1", NULL}},
        /* accepted once, then refused at run time by the controller (log(0) in the skip penalty) */
        {"skip-target",
         "0",
         {"--skip-target: value 0 is out of range", "allowed: a number in [1e-12, 0.999999]"}},
        {"skip-target", "1", {"--skip-target: value 1 is out of range", NULL}},
        /* accepted once, then wrapped by the schedule's int (4294967297 epochs became 1) */
        {"lr-t0", "4294967297", {"--lr-t0: value 4294967297 is out of range", "[0, 100000]"}},
        {"lr-max", "nan", {"--lr-max: value nan is not a finite number", NULL}},
        {"lr-max", "1e999", {"--lr-max: value inf is not a finite number", NULL}},
        {"lr-max", "0.1x", {"--lr-max: '0.1x' is not a number", NULL}},
        {"lr-max", "-1", {"value -1 is out of range; allowed: a number >= 0", NULL}},
        {"nesterov", "maybe", {"--nesterov: 'maybe' is not a boolean", "true|false"}},
        {"split", "thirds", {"--split: 'thirds' is not a choice", "one of half|tf"}},
        {"micro.num-layers", "101", {"--micro.num-layers: value 101 is out of range", "[1, 100]"}},
        {"batch-sise", "64", {"unknown option '--batch-sise'", "did you mean '--batch-size'?"}},
        {"micro.num-layer",
         "3",
         {"unknown option '--micro.num-layer'", "did you mean '--micro.num-layers'?"}},
        {"mikro.num-layers", "3", {"did you mean '--micro.num-layers'?", NULL}},
        {"completely-unrelated", "3", {"unknown option '--completely-unrelated'", "enas --help"}},
    };
    struct enas_config *c = make_config();
    struct enas_err err = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum enas_status st = enas__config_set_option(c, cases[i].name, cases[i].value, &err);
        for (size_t j = 0; j < 2 && cases[i].needles[j]; j++)
            CHECK_ERR(st, err, ENAS_ERR_CONFIG, cases[i].needles[j]);
    }
    const struct enas_cfg *core = enas__config_section(c, "");
    CHECK(enas__cfg_int(core, "batch_size") == 128);
    CHECK(enas__cfg_float(core, "lr_max") == 0.05);
    CHECK(strcmp(enas__cfg_string(core, "split"), "half") == 0);
    enas__config_destroy(c);
}

static void test_declare(void)
{
    static const struct enas_setting bad_default[] = {{"k", ENAS_SET_INT, 0, NULL, 1, 5, NULL, "h"}};
    static const struct enas_setting bad_key[] = {{"Bad-Key", ENAS_SET_INT, 1, NULL, 1, 5, NULL, "h"}};
    static const struct enas_setting bad_choice[] = {{"m", ENAS_SET_STRING, 0, "x", 0, 0, "a|b", "h"}};
    struct enas_config *c = make_config();
    struct enas_err err = {0};
    CHECK_ERR(enas__config_add_section(c, "micro", "other.so", micro_table, N_MICRO, &err), err,
              ENAS_ERR_INVALID_ARG, "section 'micro' declared by both 'micro.so' and 'other.so'");
    CHECK_ERR(enas__config_add_section(c, "x1", "p.so", bad_default, 1, &err), err, ENAS_ERR_INVALID_ARG,
              "p.so: setting 'k': default 0 is outside [1, 5]");
    CHECK_ERR(enas__config_add_section(c, "x2", "p.so", bad_key, 1, &err), err, ENAS_ERR_INVALID_ARG,
              "'Bad-Key'");
    CHECK_ERR(enas__config_add_section(c, "x3", "p.so", bad_choice, 1, &err), err, ENAS_ERR_INVALID_ARG,
              "p.so: setting 'm': default 'x' is not one of a|b");
    CHECK_ERR(enas__config_add_section(c, "Bad.Name", "p.so", micro_table, N_MICRO, &err), err,
              ENAS_ERR_INVALID_ARG, "section name");
    CHECK(enas__config_section(c, "x1") == NULL);
    CHECK_ERR(enas__config_add_section(c, "empty", "p.so", NULL, 0, &err), err, ENAS_OK, NULL);
    CHECK(enas__config_section(c, "empty") != NULL);
    enas__config_destroy(c);
}

static void test_from_string(void)
{
    static const struct enas_setting attrs[] = {
        {"kernel", ENAS_SET_INT, 3, NULL, 1, 7, NULL, "kernel size"},
        {"stride", ENAS_SET_INT, 1, NULL, 1, 2, NULL, "stride"},
        {"mode", ENAS_SET_STRING, 0, "avg", 0, 0, "avg|max", "pooling"},
        {"affine", ENAS_SET_BOOL, 1, NULL, 0, 1, NULL, "learnable BN"},
    };
    struct enas_cfg *s = NULL;
    struct enas_err err = {0};
    CHECK_ERR(enas__cfg_from_string(attrs, 4, "kernel=5  stride=2\taffine=false", &s, &err), err, ENAS_OK,
              NULL);
    CHECK(s && enas__cfg_int(s, "kernel") == 5 && enas__cfg_int(s, "stride") == 2);
    CHECK(s && strcmp(enas__cfg_string(s, "mode"), "avg") == 0 && enas__cfg_bool(s, "affine") == 0);
    enas__cfg_destroy(s);
    CHECK_ERR(enas__cfg_from_string(attrs, 4, NULL, &s, &err), err, ENAS_OK, NULL);
    CHECK(s && enas__cfg_int(s, "kernel") == 3 && enas__cfg_bool(s, "affine") == 1);
    enas__cfg_destroy(s);

    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"kernal=3", "unknown key 'kernal'; accepted keys: kernel, stride, mode, affine"},
        {"kernel=9", "key 'kernel': value 9 is out of range; allowed: an integer in [1, 7]"},
        {"kernel=3.5", "key 'kernel': '3.5' is not an integer"},
        {"kernel", "'kernel' is not key=value"},
        {"=3", "'=3' is not key=value"},
        {"mode=min", "key 'mode': 'min' is not a choice; allowed: one of avg|max"},
        {"kernel=3 kernel=5", "key 'kernel' given twice"},
        {"affine=2", "key 'affine': '2' is not a boolean"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = (struct enas_cfg *)&err; /* must be reset to NULL on failure */
        CHECK_ERR(enas__cfg_from_string(attrs, 4, bad[i].text, &s, &err), err, ENAS_ERR_CONFIG,
                  bad[i].needle);
        CHECK(s == NULL);
    }
    CHECK_ERR(enas__cfg_from_string(NULL, 0, "k=1", &s, &err), err, ENAS_ERR_CONFIG, "takes no attributes");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TESTS_DATA_DIR\n", argv[0]);
        return 2;
    }
    data_dir = argv[1];
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/enas_config_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_good_file();
    test_bad_files();
    test_bad_options();
    test_declare();
    test_from_string();
    test_file_kinds();
    test_include();
    rm_tree(tmp_dir);
    return check_exit("test_config");
}
