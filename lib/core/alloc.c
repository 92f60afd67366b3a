/* alloc.c - allocator hook and allocation counter. */
#include "core/alloc.h"
#include "core/error.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void default_free(void *ctx, void *p) { (void)ctx; free(p); }

static dsn_allocator hook = {default_alloc, default_free, NULL};
static _Atomic uint64_t n_allocs;

dsn_status dsn_set_allocator(const dsn_allocator *a)
{
    if (!a) {
        hook.alloc = default_alloc;
        hook.free = default_free;
        hook.ctx = NULL;
        return DSN_OK;
    }
    if (!a->alloc || !a->free)
        return dsi_error(DSN_E_INVALID, "dsn_set_allocator: alloc and free must both be set");
    hook = *a;
    return DSN_OK;
}

uint64_t dsn_allocation_count(void) { return atomic_load(&n_allocs); }

void *dsi_malloc(size_t size)
{
    if (size == 0) size = 1;
    atomic_fetch_add(&n_allocs, 1);
    return hook.alloc(hook.ctx, size);
}

void *dsi_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    void *p = dsi_malloc(bytes);
    if (p && bytes) memset(p, 0, bytes);
    return p;
}

void dsi_free(void *p)
{
    if (p) hook.free(hook.ctx, p);
}

void *dsi_realloc(void *p, size_t old_size, size_t new_size)
{
    void *q = dsi_malloc(new_size);
    if (!q) return NULL;
    if (p) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        dsi_free(p);
    }
    return q;
}

/* Over-allocate and store the original pointer just before the aligned block. */
void *dsi_aligned_alloc(size_t size)
{
    const size_t align = 64;
    if (size > SIZE_MAX - align - sizeof(void *)) return NULL;
    unsigned char *raw = dsi_malloc(size + align + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t a = ((uintptr_t)(raw + sizeof(void *)) + align - 1) & ~(uintptr_t)(align - 1);
    ((void **)a)[-1] = raw;
    return (void *)a;
}

void dsi_aligned_free(void *p)
{
    if (p) dsi_free(((void **)p)[-1]);
}

char *dsi_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dsi_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
