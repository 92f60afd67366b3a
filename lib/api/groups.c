/* groups.c - dense group ids. */
#include "api/groups.h"

size_t dsi_dense_groups(const int32_t *groups, size_t n, int32_t *dense, int32_t *seen)
{
    if (!groups) {
        for (size_t i = 0; i < n; i++) dense[i] = (int32_t)i;
        return n;
    }
    size_t g = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < g && seen[k] != groups[i]) k++;
        if (k == g) seen[g++] = groups[i];
        dense[i] = (int32_t)k;
    }
    return g;
}
