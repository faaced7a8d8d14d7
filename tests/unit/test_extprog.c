/* test_extprog.c - the drawing programs' launcher (engine/extprog.c): a program is found in $PATH or not,
 * its exit status comes back, and a SIGINT that arrives while it runs reaches the caller's handler (with
 * system() it was ignored, and an interrupted search ran on to its end). */
#include "check.h"
#include "extprog.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
    (void)sig;
    got_int = 1;
}

int main(void)
{
    CHECK(enas__have_program("sh"));
    CHECK(!enas__have_program("enas-no-such-program-xyz"));
    CHECK(!enas__have_program("/bin/sh")); /* names only: no paths */
    CHECK(!enas__have_program(""));

    char *ok[] = {"sh", "-c", "exit 0", NULL}, *bad[] = {"sh", "-c", "exit 3", NULL};
    char *missing[] = {"enas-no-such-program-xyz", NULL};
    CHECK(enas__run_program(ok, 0) == 0);
    CHECK(enas__run_program(bad, 0) == -1);
    CHECK(enas__run_program(missing, 0) == -1);

    /* the child interrupts its parent, then keeps running a little: the parent's handler must run */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_int;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGINT, &sa, &old) == 0);
    char *interrupt[] = {"sh", "-c", "kill -INT $PPID; sleep 0.2; exit 0", NULL};
    CHECK(enas__run_program(interrupt, 0) == 0);
    CHECK_MSG(got_int, "a SIGINT sent while the program ran did not reach the caller's handler");
    sigaction(SIGINT, &old, NULL);
    return check_exit("test_extprog");
}
