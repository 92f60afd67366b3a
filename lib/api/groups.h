/* groups.h - map arbitrary int32 group ids to dense ids 0..G-1 (internal). */
#ifndef DSI_API_GROUPS_H
#define DSI_API_GROUPS_H

#include <stddef.h>
#include <stdint.h>

/* dense[i] = index of groups[i] among the distinct values in order of first
 * appearance; returns G. groups NULL: each item its own group (dense[i] = i).
 * seen is scratch of n values. O(n G), no allocation. */
size_t dsi_dense_groups(const int32_t *groups, size_t n, int32_t *dense, int32_t *seen);

#endif
