/* dataset.h - the struct behind dsn_dataset (internal). */
#ifndef DSI_API_DATASET_H
#define DSI_API_DATASET_H

#include "data/dataset.h"
#include "disent.h"

#include <stdint.h>

/* dsn_dataset_counter names, in this order (api/front_end.c) */
enum {
    DSI_DS_CLIPS, DSI_DS_WINDOWS, DSI_DS_SHORT_CLIPS, DSI_DS_MASKED_FRAMES, DSI_DS_DROPPED_FRAMES,
    DSI_DS_SILENT_CLIPS, DSI_DS_CLIPPED_CLIPS, DSI_DS_SKIPPED_CLIPS, DSI_DS_COMPUTED_CLIPS, DSI_DS_CACHED_CLIPS,
    DSI_DS_COUNTERS
};

extern const char *const dsi_dataset_counter_names[DSI_DS_COUNTERS];

struct dsn_dataset {
    dsi_dataset *d;
    dsn_options *audio;                 /* front end of an audio set (every feature key + frames), or NULL */
    uint64_t counters[DSI_DS_COUNTERS]; /* how an audio set was built (a split keeps its source's; 0 for others) */
};

/* A copy of src's audio bag and counters into dst (nothing without a bag). */
dsn_status dsi_dataset_copy_audio(dsn_dataset *dst, const dsn_dataset *src);

#endif
