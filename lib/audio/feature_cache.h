/* feature_cache.h - computed log-mel features kept in one file, keyed by
 * clip path, size and mtime and by the feature settings' hash (internal).
 * Layout: magic "DSNAFC\r\n", u32 version, u64 settings hash, u32 n_mels,
 * u32 count, count x {path, u64 size, u64 mtime s, u32 mtime ns, u32 frames,
 * u32 flags (dsi_audio_check: silent, clipped), frames x n_mels f32}, u32
 * CRC-32 of all before it. Version 2 (1 had no flags; such a cache is
 * recomputed). */
#ifndef DSI_AUDIO_FEATURE_CACHE_H
#define DSI_AUDIO_FEATURE_CACHE_H

#include "audio/clips.h"

/* Fill the clips whose key matches an entry of the cache file. Any problem
 * with the file (absent, damaged, other settings) means nothing is reused. */
void dsi_feature_cache_lookup(dsi_clip_list *l, const char *path, uint64_t hash, int n_mels);
/* Write every clip's features to the cache file, atomically. */
dsn_status dsi_feature_cache_store(const dsi_clip_list *l, const char *path, uint64_t hash, int n_mels);

#endif
