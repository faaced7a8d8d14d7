/* image.h - a picture file (PNG, JPEG, BMP, GIF, TGA, PNM: what stb_image decodes) as one CIFAR-10 record:
 * decoded to 8-bit RGB (grey is repeated, alpha dropped), resized to 32 x 32 with stb_image_resize's
 * default filters when it is another size (the whole picture, its aspect ratio not kept), planes R, G, B. */
#ifndef ENAS_ENGINE_IMAGE_H
#define ENAS_ENGINE_IMAGE_H

#include <stdint.h>

#include "data/cifar10.h"
#include "enas/status.h"

/* A picture file of at most this many bytes (a 4000 x 3000 PNG is well under it). */
#define ENAS_IMAGE_MAX_FILE_BYTES ((uint64_t)64 << 20)

/* Reads path into record (ENAS_CIFAR10_IMAGE_BYTES, CHW). The file is untrusted input: a regular file of
 * bounded size (enas__file_read), decodable, of at most 16384 pixels a side; errors name it and say why
 * (stb_image's reason for a file it cannot decode). */
enum enas_status enas__image_load(const char *path, uint8_t *record, struct enas_err *err);

#endif
