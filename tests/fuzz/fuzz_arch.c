/* fuzz_arch.c - the architecture reader (engine/arch.c: the TF integer string and NNI JSON, recognised from
 * the content) against the micro and macro spaces, loaded from the plugin folder as the program does. The
 * first byte picks the space. Properties: no crash, leak or hang; an architecture that parses is valid, and
 * written back in each format (TF, NNI, NNI Retiarii) it parses to the same integers. */
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "fuzz_util.h"
#include "plugin/host.h"
#include "plugin/registry.h"
#include "settings/config.h"

static struct enas_config *cfg;
static struct enas_arch_space spaces[2];

static void setup(void)
{
    struct enas_err err = {0};
    struct enas_host *host = fz_host();
    cfg = fz_config();
    enas__host_set_config(host, cfg);
    if (enas__host_init_backend(host, "ref", 1, enas__config_section(cfg, "ref"), &err) != ENAS_OK)
        fz_fail("harness: the ref backend (build it)", err.msg);
    static const char *const names[] = {"micro", "macro"};
    for (int i = 0; i < 2; i++) {
        struct enas_space_args a = {host->api, host, enas__config_section(cfg, names[i]), 32, 32, 3, 10,
                                    NULL,      0};
        if (!(spaces[i].desc = enas__registry_find_space(host->reg, names[i], &err)) ||
            spaces[i].desc->create(&a, &spaces[i].state, &err) != ENAS_OK)
            fz_fail("harness: the micro and macro spaces (build them)", err.msg);
    }
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++)
        if (spaces[i].state)
            spaces[i].desc->destroy(spaces[i].state);
    enas__config_destroy(cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setup();
    atexit(teardown);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct enas_arch_space *s = &spaces[data[0] & 1];
    char *text = malloc(size); /* the rest, NUL-terminated as the program's file reader gives it */
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    struct enas_err err = {0};
    int *arch = NULL;
    size_t len = 0;
    if (enas__arch_parse(s, text, "input", &arch, &len, &err) == ENAS_OK) {
        if (enas__arch_validate(s, arch, len, &err) != ENAS_OK)
            fz_fail("a parsed architecture does not validate", err.msg);
        static const enum enas_arch_format fmts[] = {ENAS_ARCH_TF, ENAS_ARCH_NNI, ENAS_ARCH_NNI_RETIARII};
        for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
            char *out = enas__arch_format(s, arch, len, fmts[f]);
            int *back = NULL;
            size_t blen = 0;
            if (!out)
                fz_fail("harness", "out of memory");
            if (enas__arch_parse(s, out, "written", &back, &blen, &err) != ENAS_OK)
                fz_fail("a written architecture does not parse", err.msg);
            if (blen != len || memcmp(back, arch, len * sizeof *arch) != 0)
                fz_fail("a written architecture parses to other integers", out);
            free(back);
            free(out);
        }
    }
    free(arch);
    free(text);
    return 0;
}
