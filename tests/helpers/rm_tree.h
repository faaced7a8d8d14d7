/* rm_tree.h - removes a test's temporary folder and everything in it (the few levels a test makes). */
#ifndef ENAS_TESTS_RM_TREE_H
#define ENAS_TESTS_RM_TREE_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void rm_tree(const char *path) // NOLINT(misc-no-recursion)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[1024];
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
            rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

#endif
