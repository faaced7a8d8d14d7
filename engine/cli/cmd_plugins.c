/* cmd_plugins.c - `enas plugins`: every plugin file in load order, what each registered, and every file
 * that failed (with why); exits 1 when any failed. */
#include "cli/cli.h"

#include "plugin/host.h"
#include "plugin/loader.h"

int enas__cmd_plugins(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    (void)cfg;
    struct enas_load_report *rep = NULL;
    int rc = enas__cli_load_plugins(h, c, 0, &rep);
    if (rc == ENAS_EXIT_OK) {
        enas__loader_print_list(h, stdout);
        fflush(stdout);
        if (rep->n_failed) {
            enas__loader_report_print(rep, stderr, 0);
            rc = ENAS_EXIT_RUNTIME;
        }
    }
    enas__loader_report_destroy(rep);
    return rc;
}
