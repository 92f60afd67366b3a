/* arena.c - chunked bump allocator. */
#include "core/arena.h"
#include "core/alloc.h"

#include <stdint.h>
#include <string.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_CHUNK ((size_t)1 << 20)

struct dsi_arena_chunk {
    dsi_arena_chunk *next;
    size_t cap;
    unsigned char *mem; /* 64-byte aligned */
};

void dsi_arena_init(dsi_arena *a) { memset(a, 0, sizeof *a); }

static dsi_arena_chunk *new_chunk(size_t cap)
{
    dsi_arena_chunk *c = dsi_malloc(sizeof *c);
    if (!c) return NULL;
    c->mem = dsi_aligned_alloc(cap);
    if (!c->mem) {
        dsi_free(c);
        return NULL;
    }
    c->cap = cap;
    c->next = NULL;
    return c;
}

void *dsi_arena_alloc(dsi_arena *a, size_t size)
{
    if (size > SIZE_MAX - ARENA_ALIGN) return NULL;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (size == 0) size = ARENA_ALIGN;
    /* walk forward through chunks kept from earlier steps */
    while (a->cur && a->used + size > a->cur->cap && a->cur->next) {
        a->cur = a->cur->next;
        a->used = 0;
    }
    if (!a->cur || a->used + size > a->cur->cap) {
        size_t cap = a->total > ARENA_MIN_CHUNK ? a->total : ARENA_MIN_CHUNK;
        if (cap < size) cap = size;
        dsi_arena_chunk *c = new_chunk(cap);
        if (!c) return NULL;
        if (a->cur) a->cur->next = c;
        else a->head = c;
        a->cur = c;
        a->used = 0;
        a->total += cap;
        a->n_chunks++;
    }
    void *p = a->cur->mem + a->used;
    a->used += size;
    a->in_use += size;
    if (a->in_use > a->high_water) a->high_water = a->in_use;
    return p;
}

void *dsi_arena_calloc(dsi_arena *a, size_t size)
{
    void *p = dsi_arena_alloc(a, size);
    if (p) memset(p, 0, size);
    return p;
}

void dsi_arena_reset(dsi_arena *a)
{
    a->cur = a->head;
    a->used = 0;
    a->in_use = 0;
}

void dsi_arena_release(dsi_arena *a)
{
    dsi_arena_chunk *c = a->head;
    while (c) {
        dsi_arena_chunk *n = c->next;
        dsi_aligned_free(c->mem);
        dsi_free(c);
        c = n;
    }
    dsi_arena_init(a);
}
