/* alloc.h - every heap allocation of the library goes through here (internal).
 * Counting them lets tests prove that a training step or encode/decode path
 * does not allocate. */
#ifndef DSI_CORE_ALLOC_H
#define DSI_CORE_ALLOC_H

#include <stddef.h>

/* malloc-like; NULL on failure (sets no message: callers report NOMEM). */
void *dsi_malloc(size_t size);
/* calloc-like with overflow check. */
void *dsi_calloc(size_t n, size_t size);
void dsi_free(void *p);
/* Grow/shrink: allocates new, copies min(old,new) bytes, frees old. */
void *dsi_realloc(void *p, size_t old_size, size_t new_size);

/* 64-byte aligned memory for float buffers (SIMD and cache lines). */
void *dsi_aligned_alloc(size_t size);
void dsi_aligned_free(void *p);

/* strdup through the hook */
char *dsi_strdup(const char *s);

#endif
