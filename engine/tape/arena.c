/* arena.c - chunked bump allocator. Chunks are never freed before fini: a step of the same child
 * network needs the same memory again, and returning it to the system only makes the next step fault
 * it back in page by page. */
#include "tape/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define ARENA_ALIGN 64

struct enas_arena_chunk {
    struct enas_arena_chunk *next;
    size_t size; /* usable bytes after the header */
    unsigned char *data;
};

void enas__arena_init(struct enas_arena *a, size_t chunk_min)
{
    *a = (struct enas_arena){0};
    a->chunk_min = chunk_min;
}

void enas__arena_fini(struct enas_arena *a)
{
    struct enas_arena_chunk *c = a->first;
    while (c) {
        struct enas_arena_chunk *next = c->next;
        free(c->data);
        free(c);
        c = next;
    }
    *a = (struct enas_arena){0};
}

static struct enas_arena_chunk *chunk_new(size_t size)
{
    struct enas_arena_chunk *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->data = aligned_alloc(ARENA_ALIGN, size);
    if (!c->data) {
        free(c);
        return NULL;
    }
    c->size = size;
    return c;
}

size_t enas__arena_size(size_t bytes)
{
    size_t need = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    return need ? need : ARENA_ALIGN;
}

size_t enas__arena_room(const struct enas_arena *a)
{
    return a->cur ? a->cur->size - a->used : 0;
}

int enas__arena_unbump(struct enas_arena *a, void *p, size_t bytes)
{
    const size_t need = enas__arena_size(bytes);
    unsigned char *q = p;
    if (!a->cur || need > a->used || q != a->cur->data + a->used - need)
        return 0;
    a->used -= need;
    a->in_use -= need;
    return 1;
}

void *enas__arena_alloc(struct enas_arena *a, size_t bytes)
{
    const size_t need = enas__arena_size(bytes);
    /* the rest of the current chunk, else the next kept chunk that fits, else a new one at the end */
    while (a->cur && a->used + need > a->cur->size) {
        if (!a->cur->next)
            break;
        a->in_use += a->cur->size - a->used; /* the skipped tail counts as used until the reset */
        a->cur = a->cur->next;
        a->used = 0;
    }
    if (!a->cur || a->used + need > a->cur->size) {
        size_t size = need > a->chunk_min ? need : a->chunk_min;
        struct enas_arena_chunk *c = chunk_new(size);
        if (!c)
            return NULL;
        if (a->cur) {
            a->in_use += a->cur->size - a->used;
            a->cur->next = c;
        } else {
            a->first = c;
        }
        a->cur = c;
        a->used = 0;
        a->capacity += size;
    }
    void *p = a->cur->data + a->used;
    a->used += need;
    a->in_use += need;
    if (a->in_use > a->peak)
        a->peak = a->in_use;
    return p;
}

void enas__arena_reset(struct enas_arena *a)
{
    a->cur = a->first;
    a->used = 0;
    a->in_use = 0;
}

struct enas_arena_mark enas__arena_mark(const struct enas_arena *a)
{
    struct enas_arena_mark m = {a->cur, a->used, a->in_use};
    return m;
}

void enas__arena_release(struct enas_arena *a, struct enas_arena_mark m)
{
    if (!m.cur) { /* marked before anything was allocated */
        enas__arena_reset(a);
        return;
    }
    a->cur = m.cur;
    a->used = m.used;
    a->in_use = m.in_use;
}
