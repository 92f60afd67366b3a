/* sort.h - the one qsort comparator of int32 values and of strings, sorted
 * distinct int32 values and the binary search in them (internal), shared by
 * the data set's groups and label splits, the classifiers' and metrics'
 * label sets and the audio sets' vocabularies and file lists. */
#ifndef DSI_CORE_SORT_H
#define DSI_CORE_SORT_H

#include <stddef.h>
#include <stdint.h>

/* qsort comparators: int32_t values ascending; char * strings by strcmp. */
int dsi_i32_cmp(const void *a, const void *b);
int dsi_str_cmp(const void *a, const void *b);

/* Sorts a [n] ascending in place and moves its distinct values, ascending,
 * to the front; returns their count (0 when n is 0; a may be NULL then).
 * Allocates nothing; thread-safe on distinct arrays. */
size_t dsi_i32_sort_unique(int32_t *a, size_t n);

/* The index of a value equal to v in a [n] (ascending; with repeats, one of
 * them), or -1 when none is (a may be NULL when n is 0). */
ptrdiff_t dsi_i32_find(const int32_t *a, size_t n, int32_t v);

#endif
