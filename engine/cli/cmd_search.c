/* cmd_search.c - `enas search` (the default command): loads the plugins (every file must load), settles
 * the settings, checks that the backend, space, loss and reward they name exist, then opens the search
 * (train/run_open.c) and runs it (train/search.c). With --help: the usage and every setting. */
#include "cli/cli.h"

#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"
#include "train/run.h"

/* Every name the search needs must be registered; each missing one is reported. */
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
    return bad ? ENAS_EXIT_USAGE : ENAS_EXIT_OK;
}

int enas__cmd_search(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    int done = 0;
    int rc = enas__cli_start(h, c, cfg, 1, &done);
    if (done)
        return rc;
    if ((rc = check_names(h, enas__config_section(cfg, ""))) != ENAS_EXIT_OK)
        return rc;
    if (*enas__cfg_string(enas__config_section(cfg, ""), "arch")) {
        if (c->resume)
            fprintf(stderr, "enas: '%s' is a retrain run; continue it with enas retrain --resume %s\n",
                    c->resume, c->resume);
        else
            fprintf(stderr, "enas: the arch setting is enas retrain's (a search finds architectures): "
                            "enas retrain ARCH trains one\n");
        return ENAS_EXIT_USAGE;
    }
    struct enas_run search;
    struct enas_err err = {0};
    enum enas_status st = enas__run_open(&search, h, cfg, c->resume, NULL, &err);
    if (st == ENAS_OK)
        st = enas__search_loop(&search, &err);
    enas__run_close(&search);
    return enas__cli_exit(st, &err);
}
