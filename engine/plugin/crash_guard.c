/* crash_guard.c - a fatal-signal handler installed around calls into plugin code that names the plugin,
 * async-signal-safely, before the signal takes its usual course. */
/* sigaltstack, SA_ONSTACK, siginfo_t */
#define _XOPEN_SOURCE 700 /* NOLINT(bugprone-reserved-identifier) */
#include "plugin/crash_guard.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const int guard_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};
static const char *const guard_names[] = {"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE",
                                          "SIGABRT", "SIGSYS", "SIGTRAP"};
#define N_GUARD (sizeof guard_signals / sizeof guard_signals[0])

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction guard_old[N_GUARD];
static int guard_set[N_GUARD]; /* our handler went in for guard_signals[i] */
static char guard_msg[4352];   /* "enas: plugin 'PATH' crashed in WHAT (signal ", written before the call */
static size_t guard_len;
static volatile sig_atomic_t guard_armed;
/* Our own alternate stack, used only when the thread has none (a sanitizer installs its own). 64 KiB is
 * several times what the handler and a sanitizer's report need. */
static char guard_stack[1 << 16];
static int guard_own_stack;

static void put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Gives every guarded signal back to the handler it had before begin. */
static void guard_restore(void)
{
    for (size_t i = 0; i < N_GUARD; i++)
        if (guard_set[i]) {
            sigaction(guard_signals[i], &guard_old[i], NULL);
            guard_set[i] = 0;
        }
}

static void guard_handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (guard_armed) {
        guard_armed = 0;
        char num[16];
        size_t n = sizeof num;
        unsigned v = (unsigned)sig;
        do
            num[--n] = (char)('0' + v % 10);
        while ((v /= 10) > 0 && n > 0);
        put(guard_msg, guard_len);
        put(num + n, sizeof num - n);
        for (size_t i = 0; i < N_GUARD; i++)
            if (guard_signals[i] == sig) {
                put(", ", 2);
                put(guard_names[i], strlen(guard_names[i]));
            }
        put(")\n", 2);
    }
    guard_restore();
    /* A fault recurs when the faulting instruction runs again on return, now under the old handler, which
     * then sees the real fault (a sanitizer reports its address). A signal that was sent (kill, raise,
     * abort: si_code <= 0), a breakpoint trap and a seccomp SIGSYS do not recur: send those again; the
     * signal is blocked while this handler runs and arrives, under the old handler, once it returns. */
    if (!si || si->si_code <= 0 || sig == SIGTRAP || sig == SIGSYS)
        raise(sig);
}

void enas__crash_guard_begin(const char *path, const char *what)
{
    pthread_mutex_lock(&guard_lock);
    int n = snprintf(guard_msg, sizeof guard_msg, "enas: plugin '%s' crashed in %s (signal ",
                     path ? path : "?", what ? what : "?");
    guard_len = n < 0 ? 0 : (size_t)n < sizeof guard_msg ? (size_t)n : sizeof guard_msg - 1;
    stack_t cur;
    guard_own_stack = 0;
    if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
        stack_t ss = {.ss_sp = guard_stack, .ss_size = sizeof guard_stack, .ss_flags = 0};
        guard_own_stack = sigaltstack(&ss, NULL) == 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = guard_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_GUARD; i++)
        sigaddset(&sa.sa_mask, guard_signals[i]); /* one report, even if the report itself faults */
    for (size_t i = 0; i < N_GUARD; i++)
        guard_set[i] = sigaction(guard_signals[i], &sa, &guard_old[i]) == 0;
    guard_armed = 1;
}

void enas__crash_guard_end(void)
{
    guard_armed = 0;
    for (size_t i = 0; i < N_GUARD; i++) {
        struct sigaction cur;
        /* the guarded code may have installed a handler of its own: that one stays */
        if (guard_set[i] && sigaction(guard_signals[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
            cur.sa_sigaction == guard_handler)
            sigaction(guard_signals[i], &guard_old[i], NULL);
        guard_set[i] = 0;
    }
    if (guard_own_stack) {
        stack_t off = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
        sigaltstack(&off, NULL);
        guard_own_stack = 0;
    }
    pthread_mutex_unlock(&guard_lock);
}
