/* extprog.h - runs the external drawing programs (Graphviz dot, gnuplot) without system(): system() ignores
 * SIGINT in the caller while the child runs, so an interrupt that landed during a drawing was lost and the
 * search ran on to the end (seen as a flaky SIGINT test). Here the caller's handlers stay in place. */
#ifndef ENAS_ENGINE_EXTPROG_H
#define ENAS_ENGINE_EXTPROG_H

#include <stddef.h>

/* Whether `name` is an executable file in a directory of $PATH. */
int enas__extprog_have(const char *name);

/* path as an argument that a program cannot take for an option: a relative path that starts with '-'
 * ("-V.png", which Graphviz reads as -V) gets "./" in front; any other path is copied as it is. Writes into
 * buf (cap bytes) and returns buf, or NULL when it does not fit. */
char *enas__extprog_path_arg(const char *path, char *buf, size_t cap);

/* Runs argv[0] (searched in $PATH) with argv, stdin from /dev/null, and stdout (and stderr unless
 * keep_stderr) to /dev/null; waits for it. 0 when it ran and exited 0, -1 otherwise. */
int enas__extprog_run(char *const argv[], int keep_stderr);

#endif
