/* fuzz_cifar.c - the CIFAR-10 reader (engine/cifar10.c) on an arbitrary test_batch.bin, read whole and with
 * a limit of a few records. Properties: no crash, leak or hang; a file that loads is a whole number of
 * 3,073-byte records with labels 0-9, and it is exactly what the file holds. */
#include <string.h>

#include "data/cifar10.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write(fz_path("test_batch.bin"), data, size);
    const int64_t limits[] = {0, 1 + (int64_t)(size % 3)};
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        struct enas_cifar10 d;
        struct enas_err err = {0};
        if (enas__cifar10_load(fz_dir(), 1, limits[k], &d, &err) != ENAS_OK) {
            if (d.n || d.pixels || d.labels)
                fz_fail("a failed load left data behind", err.msg);
            continue;
        }
        const int64_t whole = (int64_t)(size / ENAS_CIFAR10_RECORD_BYTES);
        const int64_t want = limits[k] && limits[k] < whole ? limits[k] : whole;
        if (size % ENAS_CIFAR10_RECORD_BYTES != 0 || d.n != want)
            fz_fail("a load accepted a file of the wrong size", "");
        for (int64_t i = 0; i < d.n; i++) {
            const uint8_t *rec = data + i * ENAS_CIFAR10_RECORD_BYTES;
            if (d.labels[i] > 9 || d.labels[i] != rec[0] ||
                memcmp(d.pixels + i * ENAS_CIFAR10_IMAGE_BYTES, rec + 1, ENAS_CIFAR10_IMAGE_BYTES) != 0)
                fz_fail("a loaded record differs from the file's", "");
        }
        enas__cifar10_fini(&d);
    }
    return 0;
}
