/* cmd_retrain.c - `enas retrain ARCH`: trains the architecture ARCH (a TF string or NNI JSON file, or a
 * search run folder, whose best_arch.json it takes) from scratch in the space's final mode (train/retrain.c),
 * into a run folder with config.cfg, metrics, checkpoints and model.enas. `enas retrain --resume DIR`
 * continues one. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "train/retrain.h"
#include "util/err.h"
#include "util/file.h"
#include "util/path.h"

/* An architecture file is small; the bound keeps /dev/zero from filling memory. */
#define ARCH_MAX_BYTES ((uint64_t)16 << 20)

/* ARCH's text into the arch setting; name gets the file read (a run folder's best_arch.json). */
static int take_arch(struct enas_config *cfg, const char *arch, char *name, size_t cap)
{
    struct enas_err err = {0};
    struct stat sb;
    enum enas_status st = ENAS_OK;
    if (stat(arch, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = enas__path_join(name, cap, &err, "%s/best_arch.json", arch);
        if (st == ENAS_OK && stat(name, &sb) != 0) {
            fprintf(stderr,
                    "enas: retrain: '%s' holds no best_arch.json (a search writes it when it ends; an "
                    "unfinished one has arch/epoch_N.json)\n",
                    arch);
            return ENAS_EXIT_USAGE;
        }
    } else {
        st = enas__path_join(name, cap, &err, "%s", arch);
    }
    char *text = NULL;
    size_t len = 0;
    if (st == ENAS_OK)
        st = enas__file_read(name, "architecture file", ARCH_MAX_BYTES, &text, &len, &err);
    if (st == ENAS_OK && strlen(text) != len)
        st = enas_err_set(&err, ENAS_ERR_DATA,
                          "architecture file '%s': a NUL byte; an architecture file is text", name);
    if (st == ENAS_OK)
        st = enas__config_set_option(cfg, "arch", text, &err);
    free(text);
    if (st != ENAS_OK) {
        fprintf(stderr, "enas: retrain: %s\n", err.msg);
        return ENAS_EXIT_USAGE;
    }
    return ENAS_EXIT_OK;
}

int enas__cmd_retrain(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    int done = 0;
    int rc = enas__cli_start(h, c, cfg, 1, &done);
    if (done)
        return rc;
    const struct enas_cfg *core = enas__config_section(cfg, "");
    char name[ENAS__PATH_MAX] = "";
    if (c->resume && c->file) {
        fprintf(stderr, "enas: retrain: --resume continues the run's own architecture; give no ARCH\n");
        return ENAS_EXIT_USAGE;
    }
    if (c->resume && !*enas__cfg_string(core, "arch")) {
        fprintf(stderr,
                "enas: retrain: '%s' is a search run, not a retrain (its config.cfg has no arch); "
                "continue it with enas --resume %s\n",
                c->resume, c->resume);
        return ENAS_EXIT_USAGE;
    }
    if (c->file && (rc = take_arch(cfg, c->file, name, sizeof name)) != ENAS_EXIT_OK)
        return rc;
    if (!*enas__cfg_string(core, "arch")) {
        fprintf(stderr,
                "enas: retrain: give the architecture: enas retrain ARCH, ARCH a TF string or NNI JSON "
                "file or a search run folder (or --arch \"0 1 ...\"), or --resume DIR\n");
        return ENAS_EXIT_USAGE;
    }
    struct enas_err err = {0};
    if (!enas__registry_find_backend(h->reg, enas__cfg_string(core, "backend"), &err) ||
        !enas__registry_find_space(h->reg, enas__cfg_string(core, "space"), &err) ||
        !enas__registry_find_loss(h->reg, enas__cfg_string(core, "loss"), &err)) {
        fprintf(stderr, "enas: retrain: %s\n", err.msg);
        return ENAS_EXIT_USAGE;
    }
    struct enas_run run;
    enum enas_status st = enas__run_open(&run, h, cfg, c->resume, *name ? name : NULL, &err);
    if (st == ENAS_OK)
        st = enas__retrain_loop(&run, &err);
    enas__run_close(&run);
    return enas__cli_exit(st, &err);
}
