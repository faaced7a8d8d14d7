/* load_dir.c - `load_dir DIR NAME...`: loads every plugin of DIR through the engine's loader, prints
 * the report, and exits 0 iff no plugin failed and every NAME is registered (any kind). Used by the
 * out-of-tree plugin test, so that it does not depend on the enas program. */
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"

#include <string.h>

static int registered(const struct enas_host *h, const char *name)
{
    for (size_t i = 0; i < enas__registry_count(h->reg); i++)
        if (strcmp(enas__registry_entry(h->reg, i)->name, name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: load_dir DIR [NAME...]\n");
        return 2;
    }
    struct enas_err err;
    struct enas_host *h;
    struct enas_load_report *rep = NULL;
    if (enas__host_create(&h, &err) != ENAS_OK) {
        fprintf(stderr, "enas: %s\n", err.msg);
        return 1;
    }
    const char *dirs[] = {argv[1]};
    enum enas_status st = enas__loader_load_all(h, dirs, 1, &rep, &err);
    int rc = st == ENAS_OK ? 0 : 1;
    if (rep)
        enas__loader_report_print(rep, stdout, 1);
    else
        fprintf(stderr, "enas: %s\n", err.msg);
    for (int i = 2; i < argc; i++)
        if (!registered(h, argv[i])) {
            fprintf(stderr, "load_dir: '%s' is not registered\n", argv[i]);
            rc = 1;
        }
    enas__loader_report_destroy(rep);
    enas__host_destroy(h);
    return rc;
}
