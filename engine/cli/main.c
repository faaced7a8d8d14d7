/* main.c - the enas program: parses the command line (cli.c) and runs the command it names. Exit codes:
 * 0 success, 1 runtime failure (plugins, data, disk), 2 usage or settings error, 130 interrupted. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "plugin/host.h"
#include "settings/config.h"
#include "util/log.h"

int main(int argc, char **argv)
{
    struct cli c = {0};
    if (enas__cli_parse(argc, argv, &c) != ENAS_EXIT_OK) {
        enas__cli_free(&c);
        return ENAS_EXIT_USAGE;
    }
    if (c.version) {
        printf("enas %s (plugin ABI %d)\n", ENAS_VERSION, ENAS_ABI_VERSION);
        enas__cli_free(&c);
        return ENAS_EXIT_OK;
    }
    enas__log_set_level(c.level);
    /* OpenMP threads of the compute plugins share two cores with the batch workers: spinning while
     * idle (libgomp's default) cost 2-7x in images/s here. Set before any plugin loads libgomp. */
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    struct enas_err err = {0};
    struct enas_host *h = NULL;
    struct enas_config *cfg = NULL;
    int rc;
    if (enas__host_create(&h, &err) != ENAS_OK || enas__config_create(&cfg, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        rc = ENAS_EXIT_RUNTIME;
    } else {
        rc = c.command->run(h, &c, cfg);
    }
    /* the config borrows settings tables that live in the plugins: free it before they are closed */
    enas__config_destroy(cfg);
    enas__host_destroy(h);
    enas__cli_free(&c);
    return rc;
}
