/* batcher.c - a ring of `depth` batch buffers; batch k of an epoch always lives in slot k % depth.
 * Workers claim batches in order, fill them outside the lock and mark them ready; the caller takes
 * them in order. A slot's state moves FREE -> FILLING -> READY -> HELD -> FREE, always under mu. */
#include "data/batcher.h"

#include "data/augment.h"
#include "util/rng.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_HELD };

struct slot {
    struct enas_batch batch;
    enum slot_state state;
};

struct enas_batcher {
    struct enas_batcher_opts o;
    int64_t len, nb; /* images in the range, batches per epoch */
    int64_t *perm;   /* this epoch's order of the range; rewritten only while no slot is FILLING */
    struct slot *slots;
    int depth;
    pthread_t *threads;
    int n_threads; /* started, to be joined */
    pthread_mutex_t mu;
    pthread_cond_t work; /* workers wait: a slot freed, an epoch began, shutdown */
    pthread_cond_t done; /* the caller waits: a batch ready, the last fill finished */
    int active;          /* an epoch is running */
    int shutdown;
    int filling; /* slots in SLOT_FILLING */
    int64_t epoch, next_claim, next_take;
};

/* Stream id of the permutation: the batch and position fields hold values no image can have. */
static uint64_t perm_stream(const struct enas_batcher *b, int64_t epoch)
{
    return enas__augment_stream(b->o.stream, (uint64_t)epoch, UINT64_MAX, UINT64_MAX);
}

static void draw_perm(struct enas_batcher *b, int64_t epoch)
{
    for (int64_t i = 0; i < b->len; i++)
        b->perm[i] = b->o.begin + i;
    if (!b->o.shuffle)
        return;
    struct enas_rng r;
    enas__rng_seed(&r, b->o.seed, perm_stream(b, epoch));
    for (int64_t i = b->len - 1; i > 0; i--) {
        int64_t j = (int64_t)enas__rng_below(&r, (uint64_t)i + 1);
        int64_t t = b->perm[i];
        b->perm[i] = b->perm[j];
        b->perm[j] = t;
    }
}

/* Prepares batch `index` of `epoch` into s. Touches only s and read-only batcher fields, so workers
 * run it without the lock. */
static void fill_slot(const struct enas_batcher *b, struct slot *s, int64_t epoch, int64_t index)
{
    const struct enas_cifar10 *d = b->o.data;
    struct enas_augment_opts ao = {.train = b->o.augment, .cutout = b->o.cutout};
    int64_t first = index * b->o.batch_size;
    int64_t n = b->len - first < b->o.batch_size ? b->len - first : b->o.batch_size;
    for (int64_t pos = 0; pos < n; pos++) {
        int64_t img = b->perm[first + pos];
        struct enas_rng r;
        enas__rng_seed(&r, b->o.seed,
                       enas__augment_stream(b->o.stream, (uint64_t)epoch, (uint64_t)index, (uint64_t)pos));
        enas__augment_image(d->pixels + img * ENAS_CIFAR10_IMAGE_BYTES, &ao, &r,
                            s->batch.images.data + pos * ENAS_CIFAR10_IMAGE_BYTES);
        s->batch.labels[pos] = d->labels[img];
    }
    s->batch.n = n;
    s->batch.images.dims[0] = n;
    s->batch.epoch = epoch;
    s->batch.index = index;
}

static int claimable(const struct enas_batcher *b)
{
    return b->active && b->next_claim < b->nb && b->slots[b->next_claim % b->depth].state == SLOT_FREE;
}

static void *worker_main(void *arg)
{
    struct enas_batcher *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->shutdown && !claimable(b))
            pthread_cond_wait(&b->work, &b->mu);
        if (b->shutdown)
            break;
        int64_t index = b->next_claim++, epoch = b->epoch;
        struct slot *s = &b->slots[index % b->depth];
        s->state = SLOT_FILLING;
        b->filling++;
        pthread_mutex_unlock(&b->mu);
        fill_slot(b, s, epoch, index);
        pthread_mutex_lock(&b->mu);
        s->state = SLOT_READY;
        b->filling--;
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static enum enas_status check_opts(const struct enas_batcher_opts *o, struct enas_err *err)
{
    if (!o || !o->data || (o->data->n > 0 && (!o->data->pixels || !o->data->labels)))
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "batcher: no data");
    if (o->begin < 0 || o->begin >= o->end || o->end > o->data->n)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "batcher: range [%lld, %lld) is empty or not within 0..%lld", (long long)o->begin,
                            (long long)o->end, (long long)o->data->n);
    if (o->batch_size < 1)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "batcher: batch size %lld is not positive",
                            (long long)o->batch_size);
    if (o->drop_last && o->end - o->begin < o->batch_size)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "batcher: with drop_last, %lld images give no full batch of %lld",
                            (long long)(o->end - o->begin), (long long)o->batch_size);
    if (o->cutout < 0 || o->cutout > ENAS_CIFAR10_SIDE)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "batcher: cutout %d is not in 0..32", o->cutout);
    if (o->workers < 0 || o->workers > 256 || o->depth < 0 || o->depth > 1024)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "batcher: workers %d or depth %d out of range (0..256, 0..1024)", o->workers,
                            o->depth);
    return ENAS_OK;
}

static enum enas_status alloc_slots(struct enas_batcher *b, struct enas_err *err)
{
    b->perm = malloc(sizeof *b->perm * (size_t)b->len);
    b->slots = calloc((size_t)b->depth, sizeof *b->slots);
    b->threads = calloc((size_t)(b->o.workers > 0 ? b->o.workers : 1), sizeof *b->threads);
    if (!b->perm || !b->slots || !b->threads)
        return enas_err_set(err, ENAS_ERR_NOMEM, "batcher: out of memory");
    for (int i = 0; i < b->depth; i++) {
        struct enas_batch *t = &b->slots[i].batch;
        t->images.data = malloc(sizeof(float) * ENAS_CIFAR10_IMAGE_BYTES * (size_t)b->o.batch_size);
        t->labels = malloc(sizeof(int32_t) * (size_t)b->o.batch_size);
        if (!t->images.data || !t->labels)
            return enas_err_set(err, ENAS_ERR_NOMEM, "batcher: out of memory for %d buffers of %lld images",
                                b->depth, (long long)b->o.batch_size);
        t->images.ndim = 4;
        t->images.dims[0] = b->o.batch_size;
        t->images.dims[1] = ENAS_CIFAR10_SIDE;
        t->images.dims[2] = ENAS_CIFAR10_SIDE;
        t->images.dims[3] = ENAS_CIFAR10_CHANNELS;
    }
    return ENAS_OK;
}

/* Workers start with every signal blocked, so that signals (Ctrl-C) reach the caller's thread. */
static enum enas_status start_workers(struct enas_batcher *b, struct enas_err *err)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    while (b->n_threads < b->o.workers && rc == 0) {
        rc = pthread_create(&b->threads[b->n_threads], NULL, worker_main, b);
        if (rc == 0)
            b->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return enas_err_set(err, ENAS_ERR_NOMEM, "batcher: cannot start worker %d of %d: %s",
                            b->n_threads + 1, b->o.workers, strerror(rc));
    return ENAS_OK;
}

enum enas_status enas__batcher_create(const struct enas_batcher_opts *o, struct enas_batcher **out,
                                      struct enas_err *err)
{
    if (!out)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "batcher: no output");
    *out = NULL;
    enum enas_status st = check_opts(o, err);
    if (st != ENAS_OK)
        return st;
    struct enas_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return enas_err_set(err, ENAS_ERR_NOMEM, "batcher: out of memory");
    if (pthread_mutex_init(&b->mu, NULL) != 0) {
        free(b);
        return enas_err_set(err, ENAS_ERR_NOMEM, "batcher: cannot create a mutex");
    }
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->done, NULL);
    b->o = *o;
    b->len = o->end - o->begin;
    b->nb = o->drop_last ? b->len / o->batch_size : (b->len + o->batch_size - 1) / o->batch_size;
    b->depth = o->depth > 0 ? o->depth : (2 * o->workers > 2 ? 2 * o->workers : 2);
    st = alloc_slots(b, err);
    if (st == ENAS_OK)
        st = start_workers(b, err);
    if (st != ENAS_OK) {
        enas__batcher_destroy(b);
        return st;
    }
    *out = b;
    return ENAS_OK;
}

void enas__batcher_destroy(struct enas_batcher *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->shutdown = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->n_threads; i++)
        pthread_join(b->threads[i], NULL);
    for (int i = 0; b->slots && i < b->depth; i++) {
        free(b->slots[i].batch.images.data);
        free(b->slots[i].batch.labels);
    }
    free(b->slots);
    free(b->threads);
    free(b->perm);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

enum enas_status enas__batcher_start_epoch(struct enas_batcher *b, int64_t epoch, struct enas_err *err)
{
    return enas__batcher_start_at(b, epoch, 0, err);
}

enum enas_status enas__batcher_start_at(struct enas_batcher *b, int64_t epoch, int64_t first,
                                        struct enas_err *err)
{
    if (first < 0 || first > b->nb)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "batcher: batch %lld of an epoch of %lld batches",
                            (long long)first, (long long)b->nb);
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < b->depth; i++) {
        if (b->slots[i].state == SLOT_HELD) {
            pthread_mutex_unlock(&b->mu);
            return enas_err_set(
                err, ENAS_ERR_INVALID_ARG,
                "batcher: epoch %lld: batch %lld of epoch %lld is still held; release it first",
                (long long)epoch, (long long)b->slots[i].batch.index, (long long)b->slots[i].batch.epoch);
        }
    }
    b->active = 0; /* no new claims; batches being filled finish, then perm and slots are ours */
    while (b->filling > 0)
        pthread_cond_wait(&b->done, &b->mu);
    draw_perm(b, epoch);
    for (int i = 0; i < b->depth; i++)
        b->slots[i].state = SLOT_FREE;
    b->epoch = epoch;
    b->next_claim = b->next_take = first;
    b->active = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    return ENAS_OK;
}

/* With the lock held: makes slot s hold batch next_take, filling it here when there are no workers. */
static enum enas_status wait_ready(struct enas_batcher *b, struct slot *s, struct enas_err *err)
{
    if (s->state == SLOT_HELD)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "batcher: all %d buffers are held; release a batch before taking another",
                            b->depth);
    if (b->o.workers == 0) {
        fill_slot(b, s, b->epoch, b->next_take);
        return ENAS_OK;
    }
    /* the slot cannot be READY with an older batch: older batches were taken in order */
    while (s->state != SLOT_READY)
        pthread_cond_wait(&b->done, &b->mu);
    return ENAS_OK;
}

enum enas_status enas__batcher_next(struct enas_batcher *b, const struct enas_batch **out,
                                    struct enas_err *err)
{
    *out = NULL;
    pthread_mutex_lock(&b->mu);
    enum enas_status st = ENAS_OK;
    if (!b->active) {
        st = enas_err_set(err, ENAS_ERR_INVALID_ARG, "batcher: next() before start_epoch()");
    } else if (b->next_take < b->nb) {
        struct slot *s = &b->slots[b->next_take % b->depth];
        st = wait_ready(b, s, err);
        if (st == ENAS_OK) {
            s->state = SLOT_HELD;
            b->next_take++;
            *out = &s->batch;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return st;
}

enum enas_status enas__batcher_next_cycling(struct enas_batcher *b, const struct enas_batch **out,
                                            struct enas_err *err)
{
    enum enas_status st = enas__batcher_next(b, out, err);
    if (st != ENAS_OK || *out)
        return st;
    st = enas__batcher_start_epoch(b, b->epoch + 1, err);
    return st == ENAS_OK ? enas__batcher_next(b, out, err) : st;
}

void enas__batcher_release(struct enas_batcher *b, const struct enas_batch *batch)
{
    if (!batch)
        return;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < b->depth; i++) {
        if (&b->slots[i].batch == batch && b->slots[i].state == SLOT_HELD) {
            b->slots[i].state = SLOT_FREE;
            pthread_cond_broadcast(&b->work);
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
}

int64_t enas__batcher_num_batches(const struct enas_batcher *b)
{
    return b->nb;
}
