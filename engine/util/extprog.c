/* extprog.c - see extprog.h. posix_spawnp keeps the parent's signal handling as it is: a SIGINT during a
 * drawing sets the trainer's stop flag (waitpid returns EINTR and is called again) and the run stops at the
 * next step as it would without the drawing. The child gets default dispositions for handled signals (exec).
 */
#include "util/extprog.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int enas__extprog_have(const char *name)
{
    const char *path = getenv("PATH");
    if (!name || !*name || strchr(name, '/') || !path)
        return 0;
    while (*path) {
        const char *end = strchr(path, ':');
        const size_t len = end ? (size_t)(end - path) : strlen(path);
        char full[4096];
        struct stat sb;
        if (len > 0 && len + strlen(name) + 2 <= sizeof full) {
            memcpy(full, path, len);
            full[len] = '/';
            memcpy(full + len + 1, name, strlen(name) + 1);
            if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode) && access(full, X_OK) == 0)
                return 1;
        }
        path += len + (end ? 1 : 0);
    }
    return 0;
}

char *enas__extprog_path_arg(const char *path, char *buf, size_t cap)
{
    const char *dot = path && path[0] == '-' ? "./" : "";
    int len = path && buf ? snprintf(buf, cap, "%s%s", dot, path) : -1;
    return len >= 0 && (size_t)len < cap ? buf : NULL;
}

int enas__extprog_run(char *const argv[], int keep_stderr)
{
    posix_spawn_file_actions_t fa;
    if (!argv || !argv[0] || posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    int ok = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) == 0 &&
             posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) == 0 &&
             (keep_stderr || posix_spawn_file_actions_adddup2(&fa, 1, 2) == 0);
    pid_t pid = -1;
    if (ok)
        ok = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0;
    posix_spawn_file_actions_destroy(&fa);
    if (!ok)
        return -1;
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ; /* a signal for us (the trainer's handler ran): keep waiting for the child */
    return w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
