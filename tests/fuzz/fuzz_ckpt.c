/* fuzz_ckpt.c - the checkpoint reader (engine/checkpoint.c) on arbitrary files, for a run of two small
 * arrays and a best architecture of up to 64 ints. Half the inputs (odd sizes) get a correct checksum
 * written over their last 8 bytes first, so that the fuzzer gets past it to the fields. Properties: no
 * crash, leak or hang; a refused file changes nothing in the run's state, arrays or architecture; an
 * accepted one holds finite numbers and an architecture within its room. (The run's own range checks of
 * the fields are train/run_open.c's, tested field by field in tests/cli/test_faults.sh.) */
#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "train/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[1 << 16];
    if (size > sizeof buf)
        return 0;
    memcpy(buf, data, size);
    if (size >= 8 && size % 2 == 1) {
        const uint64_t sum = enas__checkpoint_checksum(buf, size - 8);
        memcpy(buf + size - 8, &sum, sizeof sum);
    }
    const char *path = fz_path("checkpoint.bin");
    fz_write(path, buf, size);
    float w[6] = {1, 2, 3, 4, 5, 6}, m[6] = {0}, w0[6], m0[6];
    int32_t best[64], best0[64];
    memset(best, 0x5a, sizeof best);
    memcpy(best0, best, sizeof best);
    memcpy(w0, w, sizeof w);
    memcpy(m0, m, sizeof m);
    const struct enas_ckpt_array arrays[] = {{"net.w", w, 6}, {"net.w (momentum)", m, 6}};
    struct enas_ckpt_state st, st0;
    memset(&st, 0x5a, sizeof st);
    st.best_arch = best;
    st.best_cap = 64;
    memcpy(&st0, &st, sizeof st);
    struct enas_err err = {0};
    if (enas__checkpoint_read(path, "micro", &st, arrays, 2, NULL, NULL, &err) != ENAS_OK) {
        if (memcmp(&st, &st0, sizeof st) != 0 || memcmp(w, w0, sizeof w) != 0 ||
            memcmp(m, m0, sizeof m) != 0 || memcmp(best, best0, sizeof best) != 0)
            fz_fail("a refused checkpoint changed the run", err.msg);
    } else if (st.best_len < 0 || st.best_len > 64 || st.best_arch != best || st.best_cap != 64) {
        fz_fail("an accepted checkpoint's best architecture is out of bounds", err.msg);
    } else {
        for (int i = 0; i < 6; i++)
            if (!isfinite(w[i]) || !isfinite(m[i]))
                fz_fail("an accepted checkpoint holds a non-finite value", "");
    }
    return 0;
}
