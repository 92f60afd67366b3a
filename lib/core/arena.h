/* arena.h - bump allocator reset once per step (internal).
 *
 * Memory comes from a list of chunks that is kept across resets. A step that
 * asks for the same sizes in the same order as the previous one is served from
 * the same chunks, so after the first step no heap allocation happens. */
#ifndef DSI_CORE_ARENA_H
#define DSI_CORE_ARENA_H

#include <stddef.h>

typedef struct dsi_arena_chunk dsi_arena_chunk;

typedef struct dsi_arena {
    dsi_arena_chunk *head;   /* first chunk */
    dsi_arena_chunk *cur;    /* chunk being filled */
    size_t used;             /* bytes used in cur */
    size_t total;            /* sum of chunk capacities */
    size_t high_water;       /* most bytes in use at once since creation */
    size_t in_use;           /* bytes handed out since the last reset */
    size_t n_chunks;
} dsi_arena;

void dsi_arena_init(dsi_arena *a);
/* 64-byte aligned block, NULL on allocation failure. Memory is not zeroed. */
void *dsi_arena_alloc(dsi_arena *a, size_t size);
/* Same, zero-filled. */
void *dsi_arena_calloc(dsi_arena *a, size_t size);
/* Forget all blocks; keep the chunks for the next step. */
void dsi_arena_reset(dsi_arena *a);
void dsi_arena_release(dsi_arena *a);

/* Convenience for float buffers. */
static inline float *dsi_arena_floats(dsi_arena *a, size_t n)
{
    return (float *)dsi_arena_alloc(a, n * sizeof(float));
}

#endif
