/* check.h - tiny assertion macros for the unit tests: print file:line and the failed expression,
 * count failures, and let main return check_exit(). */
#ifndef ENAS_TESTS_CHECK_H
#define ENAS_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                         \
            check_failures++;                                                                                \
        }                                                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                                 \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                         \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            check_failures++;                                                                                \
        }                                                                                                    \
    } while (0)

/* The status is `want` and the message contains `needle` (NULL: any message). */
#define CHECK_ERR(st, err, want, needle)                                                                     \
    do {                                                                                                     \
        int st_ = (int)(st);                                                                                 \
        const char *n_ = (needle);                                                                           \
        if (st_ != (int)(want) || (n_ && !strstr((err).msg, n_))) {                                          \
            fprintf(stderr, "%s:%d: expected status %d with message containing '%s', got %d: '%s'\n",        \
                    __FILE__, __LINE__, (int)(want), n_ ? n_ : "", st_, (err).msg);                          \
            check_failures++;                                                                                \
        }                                                                                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                                \
    do {                                                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                                                           \
        if (!(fabs(a_ - b_) <= (tol))) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g, tol %g\n", __FILE__, __LINE__,  \
                    #a, a_, #b, b_, (double)(tol));                                                          \
            check_failures++;                                                                                \
        }                                                                                                    \
    } while (0)

static inline int check_exit(const char *name)
{
    if (check_failures)
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
    else
        printf("%s: all checks passed\n", name);
    return check_failures ? 1 : 0;
}

#endif
