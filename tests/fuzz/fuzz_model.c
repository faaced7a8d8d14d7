/* fuzz_model.c - the model file reader (engine/train/model.c) on arbitrary files. Half the inputs (odd sizes)
 * get a correct checksum written over their last 8 bytes first, so that the fuzzer gets past it to the
 * fields. Properties: no crash, leak or hang; a refused file leaves the model empty; an accepted one holds
 * finite numbers and named arrays, and applying it to a network of two small parameters either copies
 * exactly matching arrays or changes nothing. */
#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "train/checkpoint.h"
#include "train/model.h"

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
    const char *path = fz_path("model.enas");
    fz_write(path, buf, size);
    struct enas_model m;
    struct enas_err err = {0};
    if (enas__model_read(path, &m, &err) != ENAS_OK) {
        if (m.n || m.arrays || m.settings)
            fz_fail("a refused model file left something in the model", err.msg);
        return 0;
    }
    if (!m.settings)
        fz_fail("an accepted model has no settings text", "");
    for (size_t i = 0; i < m.n; i++) {
        if (!m.arrays[i].name || !*m.arrays[i].name || m.arrays[i].numel < 0)
            fz_fail("an accepted model has an unnamed or negative array", "");
        for (int64_t j = 0; j < m.arrays[i].numel; j++)
            if (!isfinite(m.arrays[i].data[j]))
                fz_fail("an accepted model holds a non-finite value", "");
    }
    float w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {7, 8}, w0[6], b0[2];
    memcpy(w0, w, sizeof w);
    memcpy(b0, b, sizeof b);
    struct enas_param pw = {.name = "net.w", .value = {.ndim = 1, .dims = {6}, .data = w}},
                      pb = {.name = "net.b", .value = {.ndim = 1, .dims = {2}, .data = b}};
    struct enas_param *const ps[] = {&pw, &pb};
    if (enas__model_apply(&m, path, ps, 2, &err) != ENAS_OK &&
        (memcmp(w, w0, sizeof w) != 0 || memcmp(b, b0, sizeof b) != 0))
        fz_fail("a refused model changed the network's weights", err.msg);
    enas__model_free(&m);
    return 0;
}
