/* fuzz_config.c - the settings reader (engine/settings/config.c) on arbitrary files, with the sections of the
 * engine and of the build's plugins declared as the program does, and a plugin group with one setting of each
 * type. Properties: no crash, leak or hang; a file that loads writes a config.cfg (enas__config_write) that
 * loads again. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "settings/config.h"

static const struct enas_setting plugin_settings[] = {
    {.key = "i", .type = ENAS_SET_INT, .def = 3, .min = -5, .max = 1000, .help = "int"},
    {.key = "f", .type = ENAS_SET_FLOAT, .def = 0.5, .min = 0, .max = 1, .help = "float"},
    {.key = "b", .type = ENAS_SET_BOOL, .def = 0, .help = "bool"},
    {.key = "s", .type = ENAS_SET_STRING, .def_str = "x", .help = "string"},
    {.key = "c", .type = ENAS_SET_STRING, .def_str = "half", .choices = "half|tf", .help = "choice"},
};

static struct enas_config *make(void)
{
    struct enas_config *c = fz_config();
    struct enas_err err = {0};
    if (enas__config_add_section(c, "fuzz_plugin", "fuzz_plugin.so", plugin_settings,
                                 sizeof plugin_settings / sizeof plugin_settings[0], &err) != ENAS_OK)
        fz_fail("harness", err.msg);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = fz_path("in.cfg");
    fz_write(in, data, size);
    struct enas_config *c = make();
    struct enas_err err = {0};
    if (enas__config_load_file(c, in, &err) == ENAS_OK) {
        char out[4300];
        snprintf(out, sizeof out, "%s", fz_path("out.cfg"));
        if (enas__config_write(c, out, &err) != ENAS_OK)
            fz_fail("a loaded file's settings cannot be written", err.msg);
        struct enas_config *again = make();
        if (enas__config_load_file(again, out, &err) != ENAS_OK)
            fz_fail("a written config.cfg does not load", err.msg);
        enas__config_destroy(again);
    }
    enas__config_destroy(c);
    return 0;
}
