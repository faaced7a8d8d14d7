/* cmd_arch.h - `enas arch`: validate an architecture file, write it in another format, draw it. */
#ifndef ENAS_ENGINE_CMD_ARCH_H
#define ENAS_ENGINE_CMD_ARCH_H

#include <stdio.h>

struct enas_host;
struct enas_config;

/* The space named by the `space` setting, created (with the selected backend initialised) so that its
 * decisions and DOT drawing are available. On failure prints why and returns 1 or 2. */
int enas__cmd_arch(struct enas_host *h, struct enas_config *cfg, const char *file, const char *to,
                   const char *draw, FILE *out);

#endif
