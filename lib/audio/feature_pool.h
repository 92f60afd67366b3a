/* feature_pool.h - computing the features of a clip list on threads (internal). */
#ifndef DSI_AUDIO_FEATURE_POOL_H
#define DSI_AUDIO_FEATURE_POOL_H

#include "audio/clips.h"
#include "audio/mel.h"

/* Features for every clip without them, in `threads` parts (1..64; 0 = the
 * library's thread count) run on the pool (dsn_set_threads), each clip's
 * [frames][n_mels] in c->feat. *computed: how many were computed. The first
 * failure (in clip order of the workers) is returned with its message. */
dsn_status dsi_features_compute(dsi_clip_list *l, const dsi_feat_cfg *cfg, int threads, int *computed);

#endif
