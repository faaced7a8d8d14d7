/* ckpt_tool.c - inspects and crafts checkpoints for the fault tests (tests/cli/test_faults.sh):
 *   ckpt_tool FILE verify              checksum and layout; prints "epoch E global_step G ctrl_updates U"
 *   ckpt_tool FILE get FIELD           prints a field (rng: its four words)
 *   ckpt_tool FILE OP... with OP one of
 *     set FIELD VALUE                  a header or state field (rng: all four words; best_len: the
 *                                      architecture that follows is cut or padded with zeros to match)
 *     set-arch POS VALUE               best_arch[POS]
 *     set-array I J VALUE              element J of the I-th array ("nan", "inf" allowed)
 * then writes FILE back with a valid checksum. The layout comes from the engine (enas__checkpoint_fields), so
 * a crafted file differs from a written one in exactly the field asked for. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/checkpoint.h"

static unsigned char *buf;
static size_t len;

static int die(const char *fmt, const char *a)
{
    fprintf(stderr, "ckpt_tool: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

static const struct enas_ckpt_field *field(const char *name)
{
    size_t n;
    const struct enas_ckpt_field *f = enas__checkpoint_fields(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return &f[i];
    die("no field '%s'", name);
    return NULL;
}

static int64_t get_i64(const char *name)
{
    int64_t v;
    memcpy(&v, buf + field(name)->offset, sizeof v);
    return v;
}

/* Where the arrays begin: after the state and best_len ints. */
static size_t arrays_at(void)
{
    const struct enas_ckpt_field *bl = field("best_len");
    int64_t best_len = get_i64("best_len");
    if (best_len < 0 || (uint64_t)best_len > len / 4)
        die("%s", "best_len out of the file");
    return bl->offset + 8 + (size_t)best_len * 4;
}

/* Walks the arrays: the offset of element j of array i, or with i = UINT64_MAX where the last one ends. */
static size_t array_elem(uint64_t i, uint64_t j)
{
    size_t p = arrays_at();
    uint64_t count;
    if (p + 8 > len - 8)
        die("%s", "truncated");
    memcpy(&count, buf + p, 8);
    p += 8;
    if (i != UINT64_MAX && i >= count)
        die("%s", "no such array");
    for (uint64_t k = 0; k < count; k++) {
        uint32_t nl;
        int64_t numel;
        if (p + 4 > len - 8)
            die("%s", "truncated");
        memcpy(&nl, buf + p, 4);
        p += 4 + nl;
        if (p + 8 > len - 8)
            die("%s", "truncated");
        memcpy(&numel, buf + p, 8);
        p += 8;
        if (numel < 0 || (uint64_t)numel > (len - 8 - p) / 4)
            die("%s", "truncated");
        if (k == i) {
            if (j >= (uint64_t)numel)
                die("%s", "no such element");
            return p + 4 * (size_t)j;
        }
        p += 4 * (size_t)numel;
    }
    return p;
}

static void verify(void)
{
    uint64_t sum;
    if (len < 16 + 8 || memcmp(buf, "ENASCKPT", 8) != 0)
        die("%s", "not a checkpoint");
    memcpy(&sum, buf + len - 8, 8);
    if (enas__checkpoint_checksum(buf, len - 8) != sum)
        die("%s", "checksum mismatch");
    uint32_t version;
    memcpy(&version, buf + field("version")->offset, 4);
    if (version != ENAS_CKPT_VERSION)
        die("%s", "another format version");
    if (array_elem(UINT64_MAX, 0) != len - 8) /* the last array ends where the checksum begins */
        die("%s", "data after the arrays");
}

static void set_field(const char *name, const char *value)
{
    const struct enas_ckpt_field *f = field(name);
    unsigned char *at = buf + f->offset;
    char *end = NULL;
    errno = 0;
    if (strcmp(name, "best_len") == 0) { /* keep the file's layout consistent with the new length */
        int64_t old = get_i64("best_len"), want = strtoll(value, &end, 0);
        if (want < 0 || want > (int64_t)1 << 30)
            die("best_len %s: 0..2^30 here", value);
        size_t from = f->offset + 8, cut = (size_t)old * 4, add = (size_t)want * 4;
        unsigned char *nb = calloc(len - cut + add, 1);
        if (!nb)
            die("%s", "out of memory");
        memcpy(nb, buf, from);
        memcpy(nb + from, buf + from, cut < add ? cut : add);
        memcpy(nb + from + add, buf + from + cut, len - from - cut);
        free(buf);
        buf = nb;
        len = len - cut + add;
        memcpy(buf + f->offset, &want, 8);
        return;
    }
    for (size_t k = 0; k < (f->kind == ENAS_CKPT_TEXT ? 1 : f->count); k++) {
        switch (f->kind) {
        case ENAS_CKPT_TEXT:
            if (strlen(value) >= f->count)
                die("'%s' is too long", value);
            memset(at, 0, f->count);
            memcpy(at, value, strlen(value) + 1); /* the NUL too (memset already put one there) */
            return;
        case ENAS_CKPT_U32: {
            uint32_t v = (uint32_t)strtoul(value, &end, 0);
            memcpy(at, &v, 4);
            break;
        }
        case ENAS_CKPT_I64: {
            int64_t v = strtoll(value, &end, 0);
            memcpy(at + 8 * k, &v, 8);
            break;
        }
        case ENAS_CKPT_U64: {
            uint64_t v = strtoull(value, &end, 0);
            memcpy(at + 8 * k, &v, 8);
            break;
        }
        case ENAS_CKPT_F64: {
            double v = strtod(value, &end);
            memcpy(at + 8 * k, &v, 8);
            break;
        }
        }
    }
    if (!end || *end || errno)
        die("bad value '%s'", value);
}

static void print_field(const char *name)
{
    const struct enas_ckpt_field *f = field(name);
    const unsigned char *at = buf + f->offset;
    for (size_t k = 0; k < (f->kind == ENAS_CKPT_TEXT ? 1 : f->count); k++) {
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        double f64;
        switch (f->kind) {
        case ENAS_CKPT_TEXT:
            printf("%.*s", (int)f->count, (const char *)at);
            break;
        case ENAS_CKPT_U32:
            memcpy(&u32, at, 4);
            printf("%" PRIu32, u32);
            break;
        case ENAS_CKPT_I64:
            memcpy(&i64, at + 8 * k, 8);
            printf("%" PRId64, i64);
            break;
        case ENAS_CKPT_U64:
            memcpy(&u64, at + 8 * k, 8);
            printf("%s%" PRIu64, k ? " " : "", u64);
            break;
        case ENAS_CKPT_F64:
            memcpy(&f64, at + 8 * k, 8);
            printf("%.17g", f64);
            break;
        }
    }
    putchar('\n');
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ckpt_tool FILE verify | get FIELD | OP... (set FIELD V, set-arch POS V, "
                        "set-array I J V)\n");
        return 2;
    }
    const char *path = argv[1];
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open '%s'", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 0 || !(buf = malloc((size_t)size + 1)) || fread(buf, 1, (size_t)size, f) != (size_t)size)
        die("cannot read '%s'", path);
    fclose(f);
    len = (size_t)size;
    verify(); /* crafting starts from a sound file, so that the one change is the only fault */
    if (strcmp(argv[2], "verify") == 0) {
        printf("epoch %" PRId64 " global_step %" PRId64 " ctrl_updates %" PRId64 "\n", get_i64("epoch"),
               get_i64("global_step"), get_i64("ctrl_updates"));
        return 0;
    }
    if (strcmp(argv[2], "get") == 0 && argc == 4) {
        print_field(argv[3]);
        return 0;
    }
    for (int i = 2; i < argc;) {
        if (strcmp(argv[i], "set") == 0 && i + 2 < argc) {
            set_field(argv[i + 1], argv[i + 2]);
            i += 3;
        } else if (strcmp(argv[i], "set-arch") == 0 && i + 2 < argc) {
            uint64_t pos = strtoull(argv[i + 1], NULL, 0);
            int32_t v = (int32_t)strtol(argv[i + 2], NULL, 0);
            if (pos >= (uint64_t)get_i64("best_len"))
                die("set-arch %s: past best_len", argv[i + 1]);
            memcpy(buf + field("best_len")->offset + 8 + 4 * pos, &v, 4);
            i += 3;
        } else if (strcmp(argv[i], "set-array") == 0 && i + 3 < argc) {
            float v = strtof(argv[i + 3], NULL);
            memcpy(buf + array_elem(strtoull(argv[i + 1], NULL, 0), strtoull(argv[i + 2], NULL, 0)), &v, 4);
            i += 4;
        } else {
            die("unknown operation '%s'", argv[i]);
        }
    }
    uint64_t sum = enas__checkpoint_checksum(buf, len - 8);
    memcpy(buf + len - 8, &sum, 8);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        die("cannot write '%s'", path);
    free(buf);
    return 0;
}
