/* fuzz_util.c - see fuzz_util.h. */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"

#ifndef ENAS_FUZZ_PLUGIN_DIR
#define ENAS_FUZZ_PLUGIN_DIR "plugins"
#endif

static char dir[4096], path[4200];

static void cleanup(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlink(fz_path(e->d_name));
    if (d)
        closedir(d);
    rmdir(dir);
}

const char *fz_dir(void)
{
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/enas_fuzz_XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir))
            fz_fail("harness", "cannot make a temporary folder");
        atexit(cleanup);
    }
    return dir;
}

const char *fz_path(const char *name)
{
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    return path;
}

void fz_write(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        fz_fail("harness", "cannot write a temporary file");
}

void fz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz: %s: %s\n", what, detail);
    abort();
}

static struct enas_host *host;

static void host_fini(void)
{
    enas__host_destroy(host);
}

struct enas_host *fz_host(void)
{
    if (host)
        return host;
    struct enas_err err = {0};
    struct enas_load_report *rep = NULL;
    const char *plugins =
        getenv("ENAS_FUZZ_PLUGIN_DIR") ? getenv("ENAS_FUZZ_PLUGIN_DIR") : ENAS_FUZZ_PLUGIN_DIR;
    if (enas__host_create(&host, &err) != ENAS_OK)
        fz_fail("harness", err.msg);
    atexit(host_fini);
    enas__loader_load_all(host, &plugins, 1, &rep, &err);
    enas__loader_report_destroy(rep);
    return host;
}

struct enas_config *fz_config(void)
{
    struct enas_config *c = NULL;
    struct enas_err err = {0};
    if (enas__config_create(&c, &err) != ENAS_OK ||
        enas__config_add_section(c, "", "enas", enas__core_settings, enas__core_n_settings, &err) !=
            ENAS_OK ||
        enas__registry_declare_sections(fz_host()->reg, c, &err) != ENAS_OK)
        fz_fail("harness", err.msg);
    return c;
}
