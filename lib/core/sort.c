/* sort.c - dsi_i32_cmp, dsi_str_cmp, dsi_i32_sort_unique and dsi_i32_find. */
#include "core/sort.h"

#include <stdlib.h>
#include <string.h>

int dsi_i32_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int dsi_str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

size_t dsi_i32_sort_unique(int32_t *a, size_t n)
{
    if (n == 0) return 0;
    qsort(a, n, sizeof *a, dsi_i32_cmp);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (a[i] != a[k - 1]) a[k++] = a[i];
    return k;
}

ptrdiff_t dsi_i32_find(const int32_t *a, size_t n, int32_t v)
{
    size_t lo = 0, hi = n; /* v, if present, is in a[lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] == v) return (ptrdiff_t)mid;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}
