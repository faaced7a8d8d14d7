/* image.c - picture files as CIFAR-10 records, through Debian's stb (libstb: stb_image, stb_image_resize). */
#include "data/image.h"

#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_resize.h>

#include "util/file.h"

#define MAX_SIDE 16384

enum enas_status enas__image_load(const char *path, uint8_t *record, struct enas_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    enum enas_status st = enas__file_read(path, "image", ENAS_IMAGE_MAX_FILE_BYTES, &buf, &len, err);
    if (st != ENAS_OK)
        return st;
    int w = 0, h = 0, comp = 0;
    if (len > INT32_MAX || !stbi_info_from_memory((const stbi_uc *)buf, (int)len, &w, &h, &comp)) {
        const char *why = stbi_failure_reason();
        free(buf);
        return enas_err_set(err, ENAS_ERR_DATA, "image '%s': cannot decode it (%s)", path,
                            why ? why : "unknown format");
    }
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) {
        free(buf);
        return enas_err_set(err, ENAS_ERR_DATA, "image '%s': %d x %d pixels; at most %d a side", path, w, h,
                            MAX_SIDE);
    }
    stbi_uc *px = stbi_load_from_memory((const stbi_uc *)buf, (int)len, &w, &h, &comp, 3);
    free(buf);
    if (!px) {
        const char *why = stbi_failure_reason();
        return enas_err_set(err, ENAS_ERR_DATA, "image '%s': cannot decode it (%s)", path,
                            why ? why : "unknown");
    }
    enum { S = ENAS_CIFAR10_SIDE };
    unsigned char small[S * S * 3];
    const unsigned char *hwc = px;
    if ((w != S || h != S) && !stbir_resize_uint8(px, w, h, 0, small, S, S, 0, 3)) {
        stbi_image_free(px);
        return enas_err_set(err, ENAS_ERR_NOMEM, "image '%s': out of memory resizing it", path);
    }
    if (w != S || h != S)
        hwc = small;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < S * S; i++)
            record[c * S * S + i] = hwc[i * 3 + c];
    stbi_image_free(px);
    return ENAS_OK;
}
