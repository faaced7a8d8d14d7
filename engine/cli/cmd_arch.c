/* cmd_arch.c - `enas arch [--to tf|nni|nni-retiarii] [--draw OUT] FILE`: reads FILE ("-" = standard
 * input) in either format, validates it against the space the settings describe, prints it in the
 * asked format, and optionally draws it: OUT.dot is the Graphviz source, OUT.png / OUT.svg are
 * rendered by `dot`. Outputs are written to a temporary name and renamed, never left half-written. */
#include "cli/cli.h"

#include "plugin/loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "data/cifar10.h"
#include "plugin/host.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "util/err.h"
#include "util/extprog.h"
#include "util/file.h"
#include "util/log.h"

/* Architecture files are small (a TF string of thousands of ints, or its JSON); the bound keeps /dev/zero
 * or a runaway pipe on standard input from filling memory. */
#define ARCH_MAX_BYTES ((uint64_t)16 << 20)

/* The whole of file ("-": standard input), a regular file only, bounded, with no NUL byte in it. */
static char *read_all(const char *file, struct enas_err *err)
{
    char *text = NULL;
    size_t len = 0;
    enum enas_status st = strcmp(file, "-") == 0
                              ? enas__file_read_stream(stdin, "standard input", "architecture",
                                                       ARCH_MAX_BYTES, &text, &len, err)
                              : enas__file_read(file, "architecture file", ARCH_MAX_BYTES, &text, &len, err);
    if (st == ENAS_OK && enas__arch_check_text(text, len, file, err) != ENAS_OK) {
        free(text);
        return NULL;
    }
    return st == ENAS_OK ? text : NULL;
}

static int write_chunk(void *ctx, const char *text, size_t len)
{
    return fwrite(text, 1, len, ctx) == len ? 0 : -1;
}

static const char *extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && !strchr(dot, '/') ? dot + 1 : "";
}

/* DOT source to a temporary file, then rendered (png, svg) or renamed (dot) into place. */
static int draw(const struct enas_arch_space *s, const int *arch, size_t len, const char *out,
                struct enas_err *err)
{
    const char *ext = extension(out);
    if (strcmp(ext, "dot") != 0 && strcmp(ext, "png") != 0 && strcmp(ext, "svg") != 0)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "--draw %s: the name must end in .dot, .png or .svg",
                            out);
    if (!s->desc->dot)
        return enas_err_set(err, ENAS_ERR_UNSUPPORTED, "the %s space cannot draw architectures",
                            s->desc->name);
    char tmp[4096], gv[4096], tmp_arg[4100], gv_arg[4100];
    int lt = snprintf(tmp, sizeof tmp, "%s.tmp", out), lg = snprintf(gv, sizeof gv, "%s.gv.tmp", out);
    if (lt < 0 || lg < 0 || (size_t)lt >= sizeof tmp || (size_t)lg >= sizeof gv)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "--draw %.64s...: the path is too long", out);
    /* "-V.png" would reach dot as its option -V: paths go to it as "./-V.png" */
    enas__extprog_path_arg(tmp, tmp_arg, sizeof tmp_arg);
    enas__extprog_path_arg(gv, gv_arg, sizeof gv_arg);
    FILE *f = fopen(gv, "w");
    if (!f)
        return enas_err_set(err, ENAS_ERR_IO, "cannot write '%s': %s", gv, strerror(errno));
    enum enas_status st = s->desc->dot(s->state, arch, len, write_chunk, f, err);
    if (fclose(f) != 0 && st == ENAS_OK)
        st = enas_err_set(err, ENAS_ERR_IO, "cannot write '%s'", gv);
    if (st == ENAS_OK && strcmp(ext, "dot") != 0) {
        char fmt[64];
        snprintf(fmt, sizeof fmt, "-T%s", ext);
        char *argv[] = {"dot", fmt, "-o", tmp_arg, gv_arg, NULL};
        if (!enas__extprog_have("dot")) {
            st = enas_err_set(
                err, ENAS_ERR_UNSUPPORTED,
                "--draw %s: the Graphviz `dot` program is not installed (tools/setup.sh installs it); "
                "--draw NAME.dot writes the source",
                out);
        } else if (enas__extprog_run(argv, 1) != 0) {
            st = enas_err_set(err, ENAS_ERR_IO, "--draw %s: dot failed to render the graph", out);
        }
        unlink(gv);
    } else if (st == ENAS_OK) {
        memcpy(tmp, gv, strlen(gv) + 1);
    }
    if (st == ENAS_OK && rename(tmp, out) != 0)
        st = enas_err_set(err, ENAS_ERR_IO, "cannot rename to '%s': %s", out, strerror(errno));
    if (st != ENAS_OK) {
        unlink(tmp);
        unlink(gv);
    }
    return st;
}

static int parse_format(const char *to, enum enas_arch_format *f)
{
    if (!to || strcmp(to, "tf") == 0)
        *f = ENAS_ARCH_TF;
    else if (strcmp(to, "nni") == 0)
        *f = ENAS_ARCH_NNI;
    else if (strcmp(to, "nni-retiarii") == 0)
        *f = ENAS_ARCH_NNI_RETIARII;
    else
        return -1;
    return 0;
}

/* Validates, converts and draws file against the space the settings name (its backend initialised, so
 * that its decisions and DOT drawing are available). Prints why on failure; returns an exit code. */
static int arch_run(struct enas_host *h, struct enas_config *cfg, const char *file, const char *to,
                    const char *draw_to, FILE *out)
{
    struct enas_err err = {0};
    enum enas_arch_format fmt;
    if (!file || parse_format(to, &fmt) != 0) {
        fprintf(stderr, "enas: arch: %s\n",
                !file ? "give the architecture FILE (or - for standard input)"
                      : "--to takes tf, nni or nni-retiarii");
        return ENAS_EXIT_USAGE;
    }
    const struct enas_cfg *core = enas__config_section(cfg, "");
    const char *name = enas__cfg_string(core, "space"), *backend = enas__cfg_string(core, "backend");
    struct enas_arch_space s = {enas__registry_find_space(h->reg, name, &err), NULL};
    if (!s.desc ||
        enas__host_init_backend(h, backend, 1, enas__config_section(cfg, backend), &err) != ENAS_OK) {
        fprintf(stderr, "enas: arch: %s\n", err.msg);
        return ENAS_EXIT_USAGE;
    }
    struct enas_space_args a = {.api = h->api,
                                .host = h,
                                .cfg = enas__config_section(cfg, name),
                                .image_h = ENAS_CIFAR10_SIDE,
                                .image_w = ENAS_CIFAR10_SIDE,
                                .image_c = ENAS_CIFAR10_CHANNELS,
                                .n_classes = ENAS_CIFAR10_CLASSES};
    int *arch = NULL;
    size_t len = 0;
    char *text = NULL, *res = NULL;
    int rc = ENAS_EXIT_RUNTIME;
    enum enas_status created = s.desc->create(&a, &s.state, &err);
    if (created != ENAS_OK)
        enas__err_terminate(&err); /* the space plugin's message */
    if (created == ENAS_OK && (text = read_all(file, &err)) &&
        enas__arch_parse(&s, text, file, &arch, &len, &err) == ENAS_OK &&
        (!draw_to || draw(&s, arch, len, draw_to, &err) == ENAS_OK)) {
        res = enas__arch_format(&s, arch, len, fmt);
        rc = res && fputs(res, out) >= 0 && fflush(out) == 0 ? ENAS_EXIT_OK : ENAS_EXIT_RUNTIME;
        if (rc)
            snprintf(err.msg, sizeof err.msg, "cannot write the result");
    }
    if (rc)
        fprintf(stderr, "enas: arch: %s\n", err.msg);
    if (created == ENAS_ERR_CONFIG)
        rc = ENAS_EXIT_USAGE; /* the space refused its settings (an unknown micro.ops name, say): a settings
                                 error */
    if (s.state)
        s.desc->destroy(s.state);
    free(res);
    free(text);
    free(arch);
    return rc;
}

int enas__cmd_arch(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    int done = 0;
    int rc = enas__cli_start(h, c, cfg, 0, &done);
    if (done)
        return rc;
    return rc != ENAS_EXIT_OK ? rc : arch_run(h, cfg, c->file, c->to, c->draw, stdout);
}
