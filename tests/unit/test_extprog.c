/* test_extprog.c - the drawing programs' launcher (engine/extprog.c): a program is found in $PATH or not,
 * its exit status comes back, and a SIGINT that arrives while it runs reaches the caller's handler (with
 * system() it was ignored, and an interrupted search ran on to its end). */
#include "check.h"
#include "util/extprog.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
    (void)sig;
    got_int = 1;
}

int main(void)
{
    CHECK(enas__extprog_have("sh"));
    CHECK(!enas__extprog_have("enas-no-such-program-xyz"));
    CHECK(!enas__extprog_have("/bin/sh")); /* names only: no paths */
    CHECK(!enas__extprog_have(""));

    char *ok[] = {"sh", "-c", "exit 0", NULL}, *bad[] = {"sh", "-c", "exit 3", NULL};
    char *missing[] = {"enas-no-such-program-xyz", NULL};
    CHECK(enas__extprog_run(ok, 0) == 0);
    CHECK(enas__extprog_run(bad, 0) == -1);
    CHECK(enas__extprog_run(missing, 0) == -1);

    /* paths cannot pass for options: "-V.png" reached dot as -V (print the version) and nothing was drawn */
    char buf[32];
    const struct {
        const char *path, *want;
    } paths[] = {{"-V.png", "./-V.png"},         {"-", "./-"},     {"--", "./--"}, {"a-b.png", "a-b.png"},
                 {"/tmp/-x.png", "/tmp/-x.png"}, {"./-x", "./-x"}, {"", ""}};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *got = enas__extprog_path_arg(paths[i].path, buf, sizeof buf);
        CHECK_MSG(got == buf && strcmp(got, paths[i].want) == 0, "'%s' became '%s'", paths[i].path,
                  got ? got : "(null)");
    }
    CHECK(enas__extprog_path_arg("-abcdef", buf, 9) == NULL); /* "./-abcdef" needs 10 bytes */
    CHECK(enas__extprog_path_arg("-abcdef", buf, 10) == buf && strcmp(buf, "./-abcdef") == 0);
    CHECK(enas__extprog_path_arg("abcdefghi", buf, 9) == NULL);
    /* and a program gets them as files: sh runs the script named "-x.sh" instead of taking -x for an option
     */
    char dir[] = "/tmp/enas_extprog_XXXXXX", cwd[4096], script[32];
    CHECK(mkdtemp(dir) && getcwd(cwd, sizeof cwd) && chdir(dir) == 0);
    FILE *f = fopen("-x.sh", "w");
    CHECK(f && fputs("exit 0\n", f) >= 0 && fclose(f) == 0);
    char *dashed[] = {"sh", enas__extprog_path_arg("-x.sh", script, sizeof script), NULL},
         *raw[] = {"sh", "-x.sh", NULL};
    CHECK(enas__extprog_run(dashed, 0) == 0);
    CHECK(enas__extprog_run(raw, 0) == -1); /* what it guards against */
    unlink("-x.sh");
    CHECK(chdir(cwd) == 0 && rmdir(dir) == 0);

    /* the child interrupts its parent, then keeps running a little: the parent's handler must run */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_int;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGINT, &sa, &old) == 0);
    char *interrupt[] = {"sh", "-c", "kill -INT $PPID; sleep 0.2; exit 0", NULL};
    CHECK(enas__extprog_run(interrupt, 0) == 0);
    CHECK_MSG(got_int, "a SIGINT sent while the program ran did not reach the caller's handler");
    sigaction(SIGINT, &old, NULL);
    return check_exit("test_extprog");
}
