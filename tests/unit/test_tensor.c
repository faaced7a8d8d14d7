/* test_tensor.c - the inline helpers of include/enas/tensor.h that plugins score with: enas_argmax keeps its
 * documented rules (first index on ties, NaN never wins, wherever it stands; column 0 won before) and
 * enas_top1 counts with them. */
#include "check.h"

#include <enas/tensor.h>

#include <math.h>

static void test_argmax(void)
{
    const float nan = NAN, inf = INFINITY;
    const struct {
        float row[4];
        int64_t k, want;
    } cases[] = {
        {{1, 3, 2, 0}, 4, 1},         {{5, 5, 1, 5}, 4, 0},          /* ties: the first */
        {{nan, 1, 2, 0}, 4, 2},       {{nan, -inf, nan, -1}, 4, 3},  /* NaN in column 0 */
        {{1, nan, 3, nan}, 4, 2},     {{nan, nan, -inf, nan}, 4, 2}, /* -inf still beats NaN */
        {{nan, nan, nan, nan}, 4, 0}, {{nan, 0, 0, 0}, 1, 0},        /* nothing else to take */
        {{-inf, -inf, -2, 7}, 3, 2},  {{inf, nan, inf, 0}, 4, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = enas_argmax(cases[i].row, cases[i].k);
        CHECK_MSG(got == cases[i].want, "case %zu: argmax %lld, want %lld", i, (long long)got,
                  (long long)cases[i].want);
    }
}

static void test_top1(void)
{
    float data[] = {NAN,  0.1f, 0.9f, /* label 2: right once NaN is passed over */
                    0.2f, NAN,  0.1f, /* label 1: NaN must not win */
                    NAN,  NAN,  NAN}; /* label 0: all NaN, argmax still gives an index: 0 */
    struct enas_tensor t = {data, 2, {3, 3, 1, 1}};
    const int32_t labels[] = {2, 1, 0};
    CHECK_NEAR(enas_top1(&t, labels), 2.0 / 3.0, 1e-12);
}

int main(void)
{
    test_argmax();
    test_top1();
    return check_exit("test_tensor");
}
