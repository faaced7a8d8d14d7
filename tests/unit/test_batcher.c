/* test_batcher.c - coverage and order of epochs, bit-identical batches for 0, 1 and 3 workers,
 * buffer rules, cycling, option checks, and destroy while workers are busy. */
#include "data/augment.h"
#include "data/batcher.h"
#include "util/rng.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_IMAGES 1000

static struct enas_cifar10 data;

/* Bit-identical, on purpose: the contract is the same bits, not nearly equal floats. */
static int same_bits(const void *a, const void *b, size_t bytes)
{
    return memcmp(a, b, bytes) == 0;
}

/* Image i carries its index in the first pixel (red = low byte, green = high byte) so that an
 * unaugmented batch can be mapped back; the rest is noise. */
static void make_data(void)
{
    data.n = N_IMAGES;
    data.pixels = malloc((size_t)N_IMAGES * ENAS_CIFAR10_IMAGE_BYTES);
    data.labels = malloc(N_IMAGES);
    struct enas_rng r;
    enas__rng_seed(&r, 1, 1);
    for (int64_t i = 0; i < N_IMAGES; i++) {
        uint8_t *p = data.pixels + i * ENAS_CIFAR10_IMAGE_BYTES;
        for (int j = 0; j < ENAS_CIFAR10_IMAGE_BYTES; j++)
            p[j] = (uint8_t)enas__rng_below(&r, 256);
        p[0] = (uint8_t)(i & 0xff);
        p[1024] = (uint8_t)(i >> 8);
        data.labels[i] = (uint8_t)(i % 10);
    }
}

static int decode_channel(int c, float v)
{
    for (int p = 0; p < 256; p++)
        if (enas__augment_normalize(c, (uint8_t)p) == v)
            return p;
    return -1000000;
}

static int64_t image_index(const struct enas_batch *b, int64_t pos)
{
    const float *px = b->images.data + pos * ENAS_CIFAR10_IMAGE_BYTES;
    return decode_channel(0, px[0]) + 256 * decode_channel(1, px[1]);
}

static struct enas_batcher_opts base_opts(void)
{
    struct enas_batcher_opts o = {0};
    o.data = &data;
    o.begin = 100;
    o.end = 937;
    o.batch_size = 64;
    o.shuffle = 1;
    o.seed = 7;
    o.workers = 2;
    return o;
}

/* Runs one epoch, writing the image order into order[] (len entries); returns the batch count. */
static int64_t epoch_order(struct enas_batcher *b, int64_t epoch, int64_t *order, int64_t cap,
                           int64_t *last_n)
{
    struct enas_err err = {0};
    CHECK_ERR(enas__batcher_start_epoch(b, epoch, &err), err, ENAS_OK, NULL);
    const struct enas_batch *bt;
    int64_t k = 0, nb = 0;
    while (enas__batcher_next(b, &bt, &err) == ENAS_OK && bt) {
        CHECK(bt->epoch == epoch && bt->index == nb && bt->images.dims[0] == bt->n);
        CHECK(bt->images.ndim == 4 && bt->images.dims[1] == 32 && bt->images.dims[3] == 3);
        for (int64_t p = 0; p < bt->n; p++) {
            int64_t idx = image_index(bt, p);
            CHECK(bt->labels[p] == idx % 10);
            if (k < cap)
                order[k++] = idx;
        }
        *last_n = bt->n;
        nb++;
        enas__batcher_release(b, bt);
    }
    return nb;
}

static void test_coverage(void)
{
    struct enas_batcher_opts o = base_opts();
    struct enas_batcher *b;
    struct enas_err err = {0};
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_OK, NULL);
    int64_t len = o.end - o.begin, order[2][1000], other[1000], last_n = 0;
    for (int e = 0; e < 2; e++) {
        memset(order[e], 0xff, sizeof order[e]);
        int64_t nb = epoch_order(b, e, order[e], len, &last_n);
        CHECK(nb == 14 && enas__batcher_num_batches(b) == 14 &&
              last_n == len - (int64_t)13 * 64); /* partial kept */
        int count[N_IMAGES] = {0}, bad = 0;
        for (int64_t i = 0; i < len; i++)
            bad += order[e][i] < o.begin || order[e][i] >= o.end || ++count[order[e][i]] != 1;
        CHECK_MSG(bad == 0, "epoch %d: %d images outside the range or repeated", e, bad);
    }
    CHECK_MSG(memcmp(order[0], order[1], sizeof(int64_t) * (size_t)len) != 0, "two epochs in the same order");
    /* a uniform shuffle leaves about one image in place per epoch; a biased one (Sattolo's, an
     * off-by-one in Fisher-Yates) never does */
    int64_t fixed = 0;
    for (int e = 2; e < 22; e++) {
        epoch_order(b, e, other, len, &last_n);
        for (int64_t i = 0; i < len; i++)
            fixed += other[i] == o.begin + i;
    }
    CHECK_MSG(fixed >= 3 && fixed <= 60, "%lld images in place over 20 epochs, expected about 20",
              (long long)fixed);
    enas__batcher_destroy(b);

    /* drop_last: 13 full batches; shuffle off: index order */
    o.drop_last = 1;
    o.shuffle = 0;
    o.workers = 0;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_OK, NULL);
    int64_t nb = epoch_order(b, 3, other, len, &last_n);
    CHECK(nb == 13 && last_n == 64);
    int in_order = 1;
    for (int64_t i = 0; i < (int64_t)13 * 64; i++)
        in_order = in_order && other[i] == o.begin + i;
    CHECK(in_order);
    enas__batcher_destroy(b);

    /* another stream (the other half of the split) shuffles differently with the same seed */
    o = base_opts();
    o.stream = 1;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_OK, NULL);
    epoch_order(b, 0, other, len, &last_n);
    CHECK(memcmp(order[0], other, sizeof(int64_t) * (size_t)len) != 0);
    enas__batcher_destroy(b);
}

/* The images and labels of two epochs, in the order the batches came. */
struct run {
    float *images;
    int32_t *labels;
    int64_t n_images;
};

/* Two augmented epochs with the given worker count and depth, compared with ref, or stored into it
 * when ref->n_images is 0. */
static int run_epochs(int workers, int depth, struct run *ref)
{
    struct enas_batcher_opts o = base_opts();
    o.begin = 0;
    o.end = N_IMAGES;
    o.batch_size = 96;
    o.augment = 1;
    o.cutout = 8;
    o.workers = workers;
    o.depth = depth;
    struct enas_batcher *b;
    struct enas_err err = {0};
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_OK, NULL);
    if (!b)
        return 0;
    int64_t at = 0, same = 1;
    int store = ref->n_images == 0;
    for (int64_t e = 0; e < 2; e++) {
        CHECK_ERR(enas__batcher_start_epoch(b, e, &err), err, ENAS_OK, NULL);
        const struct enas_batch *bt;
        while (enas__batcher_next(b, &bt, &err) == ENAS_OK && bt && at + bt->n <= (int64_t)2 * N_IMAGES) {
            size_t nf = (size_t)bt->n * ENAS_CIFAR10_IMAGE_BYTES;
            float *img = ref->images + at * ENAS_CIFAR10_IMAGE_BYTES;
            if (store) {
                memcpy(img, bt->images.data, nf * sizeof(float));
                memcpy(ref->labels + at, bt->labels, (size_t)bt->n * sizeof(int32_t));
            } else {
                same = same && same_bits(img, bt->images.data, nf * sizeof(float)) &&
                       memcmp(ref->labels + at, bt->labels, (size_t)bt->n * sizeof(int32_t)) == 0;
            }
            at += bt->n;
            enas__batcher_release(b, bt);
        }
    }
    enas__batcher_destroy(b);
    if (store)
        ref->n_images = at;
    return at == (int64_t)2 * N_IMAGES && same;
}

static void test_determinism(void)
{
    struct run ref = {0};
    ref.images = malloc(sizeof(float) * 2 * N_IMAGES * ENAS_CIFAR10_IMAGE_BYTES);
    ref.labels = malloc(sizeof(int32_t) * 2 * N_IMAGES);
    CHECK(run_epochs(0, 0, &ref));
    const int cfg[][2] = {{0, 1}, {1, 0}, {3, 0}, {3, 2}, {3, 16}, {1, 1}};
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++)
        CHECK_MSG(run_epochs(cfg[i][0], cfg[i][1], &ref),
                  "workers %d depth %d: batches differ from workers 0", cfg[i][0], cfg[i][1]);
    /* augmentation really happened: the two epochs of one image differ */
    int agree = 0;
    for (int i = 0; i < 100; i++)
        agree += ref.labels[i] == ref.labels[N_IMAGES + i];
    CHECK(!same_bits(ref.images, ref.images + (size_t)N_IMAGES * ENAS_CIFAR10_IMAGE_BYTES,
                     sizeof(float) * N_IMAGES * ENAS_CIFAR10_IMAGE_BYTES));
    CHECK(agree < 100); /* shuffled: labels at the same position do not all agree */
    free(ref.images);
    free(ref.labels);
}

static void test_buffer_rules(int workers)
{
    struct enas_batcher_opts o = base_opts();
    o.workers = workers;
    o.depth = 2;
    struct enas_batcher *b;
    struct enas_err err = {0};
    const struct enas_batch *x, *y, *z;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__batcher_next(b, &x, &err), err, ENAS_ERR_INVALID_ARG, "before start_epoch");
    CHECK_ERR(enas__batcher_start_epoch(b, 0, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__batcher_next(b, &x, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__batcher_next(b, &y, &err), err, ENAS_OK, NULL);
    CHECK(x && y && x != y && x->index == 0 && y->index == 1);
    CHECK_ERR(enas__batcher_next(b, &z, &err), err, ENAS_ERR_INVALID_ARG, "all 2 buffers are held");
    CHECK(z == NULL);
    CHECK_ERR(enas__batcher_start_epoch(b, 1, &err), err, ENAS_ERR_INVALID_ARG, "still held");
    enas__batcher_release(b, x);
    CHECK_ERR(enas__batcher_next(b, &z, &err), err, ENAS_OK, NULL);
    CHECK(z && z->index == 2);
    enas__batcher_release(b, y);
    enas__batcher_release(b, z);
    enas__batcher_release(b, z); /* a second release is ignored */
    /* abandoning an epoch half way and starting another */
    CHECK_ERR(enas__batcher_start_epoch(b, 5, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__batcher_next(b, &x, &err), err, ENAS_OK, NULL);
    CHECK(x && x->epoch == 5 && x->index == 0);
    enas__batcher_release(b, x);
    /* cycling runs into the next epochs by itself */
    int64_t nb = enas__batcher_num_batches(b), count = 0, last_epoch = 5;
    int ok = 1;
    for (int64_t i = 1; i < 3 * nb; i++) {
        ok = ok && enas__batcher_next_cycling(b, &x, &err) == ENAS_OK && x;
        if (!x)
            break;
        ok = ok && x->epoch == 5 + (i / nb) && x->index == i % nb;
        last_epoch = x->epoch;
        count++;
        enas__batcher_release(b, x);
    }
    CHECK_MSG(ok && count == 3 * nb - 1 && last_epoch == 7, "cycling: %s", err.msg);
    enas__batcher_destroy(b);
}

static void test_bad_options(void)
{
    struct enas_batcher *b = (struct enas_batcher *)&data; /* must come back NULL */
    struct enas_err err = {0};
    struct enas_batcher_opts o = base_opts();
    o.end = 1001;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_ERR_INVALID_ARG, "range [100, 1001)");
    CHECK(b == NULL);
    o = base_opts();
    o.begin = o.end;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_ERR_INVALID_ARG, "is empty");
    o = base_opts();
    o.batch_size = 0;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_ERR_INVALID_ARG, "batch size 0");
    o = base_opts();
    o.augment = 1;
    o.cutout = 33;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_ERR_INVALID_ARG, "cutout 33");
    o = base_opts();
    o.drop_last = 1;
    o.batch_size = 5000;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_ERR_INVALID_ARG, "no full batch");
    o = base_opts();
    o.data = NULL;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_ERR_INVALID_ARG, "no data");
    enas__batcher_destroy(NULL);
}

/* Destroy with workers mid-epoch, with batches held, before any epoch, right after start: must
 * neither hang (the test has a timeout) nor leak (ASan). */
static void test_destroy_mid_epoch(void)
{
    struct enas_err err = {0};
    for (int k = 0; k < 40; k++) {
        struct enas_batcher_opts o = base_opts();
        o.begin = 0;
        o.end = N_IMAGES;
        o.batch_size = 50 + k;
        o.augment = 1;
        o.workers = 1 + k % 4;
        o.depth = k % 3 == 0 ? 0 : 1 + k % 5;
        struct enas_batcher *b;
        CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_OK, NULL);
        if (!b)
            continue;
        if (k % 5 != 0)
            CHECK_ERR(enas__batcher_start_epoch(b, k, &err), err, ENAS_OK, NULL);
        const struct enas_batch *x;
        for (int i = 0; i < k % 4 && k % 5 != 0; i++) {
            CHECK_ERR(enas__batcher_next(b, &x, &err), err, ENAS_OK, NULL);
            if (i + 1 < k % 4) /* the last one stays held */
                enas__batcher_release(b, x);
        }
        enas__batcher_destroy(b);
    }
}

/* start_at(epoch, k): batch k of that epoch first, the same images as batch k after start_epoch, and the
 * epoch goes on to its end from there (with and without workers); k out of range is refused. */
static void test_start_at(int workers)
{
    struct enas_err err = {0};
    struct enas_batcher_opts o = base_opts();
    o.workers = workers;
    struct enas_batcher *b = NULL;
    CHECK_ERR(enas__batcher_create(&o, &b, &err), err, ENAS_OK, NULL);
    if (!b)
        return;
    int64_t order[1000], last_n = 0;
    const int64_t nb = epoch_order(b, 3, order, 1000, &last_n);
    CHECK_ERR(enas__batcher_start_at(b, 3, 5, &err), err, ENAS_OK, NULL);
    const struct enas_batch *bt;
    int64_t k = 5;
    while (enas__batcher_next(b, &bt, &err) == ENAS_OK && bt) {
        CHECK(bt->epoch == 3 && bt->index == k);
        for (int64_t p = 0; p < bt->n; p++)
            CHECK_MSG(image_index(bt, p) == order[k * o.batch_size + p], "batch %lld image %lld",
                      (long long)k, (long long)p);
        k++;
        enas__batcher_release(b, bt);
    }
    CHECK(k == nb);
    CHECK_ERR(enas__batcher_start_at(b, 3, nb + 1, &err), err, ENAS_ERR_INVALID_ARG, "batch");
    CHECK_ERR(enas__batcher_start_at(b, 3, -1, &err), err, ENAS_ERR_INVALID_ARG, "batch");
    enas__batcher_destroy(b);
}

int main(void)
{
    make_data();
    test_start_at(0);
    test_start_at(2);
    test_coverage();
    test_determinism();
    test_buffer_rules(0);
    test_buffer_rules(2);
    test_bad_options();
    test_destroy_mid_epoch();
    enas__cifar10_fini(&data);
    return check_exit("test_batcher");
}
