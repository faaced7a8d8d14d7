/* arena.h - bump allocation from a list of large chunks that are kept across steps, so that a training
 * step reuses the same memory as the one before instead of calling malloc per tensor. */
#ifndef ENAS_ENGINE_ARENA_H
#define ENAS_ENGINE_ARENA_H

#include <stddef.h>

struct enas_arena_chunk;

struct enas_arena {
    struct enas_arena_chunk *first, *cur;
    size_t used;      /* bytes used in cur */
    size_t in_use;    /* bytes handed out since the last reset (all chunks) */
    size_t peak;      /* largest in_use seen */
    size_t capacity;  /* bytes of all chunks */
    size_t chunk_min; /* smallest chunk to allocate */
};

struct enas_arena_mark {
    struct enas_arena_chunk *cur;
    size_t used, in_use;
};

void enas__arena_init(struct enas_arena *a, size_t chunk_min);
void enas__arena_fini(struct enas_arena *a);
/* 64-byte aligned memory valid until the next reset (or release past it); NULL when out of memory. */
void *enas__arena_alloc(struct enas_arena *a, size_t bytes);
/* The bytes an allocation of `bytes` really takes (alignment included): consecutive allocations from one
 * chunk lie exactly this far apart. */
size_t enas__arena_size(size_t bytes);
/* Bytes left in the current chunk. */
size_t enas__arena_room(const struct enas_arena *a);
/* Gives back p (an allocation of enas__arena_size(bytes) bytes, or several adjacent ones) when it ends at
 * the top of the current chunk; 1 when it did, 0 when p lies elsewhere and stays allocated. */
int enas__arena_unbump(struct enas_arena *a, void *p, size_t bytes);
/* Forgets every allocation; keeps the chunks for the next step. */
void enas__arena_reset(struct enas_arena *a);
struct enas_arena_mark enas__arena_mark(const struct enas_arena *a);
/* Forgets every allocation made after the mark. */
void enas__arena_release(struct enas_arena *a, struct enas_arena_mark m);

#endif
