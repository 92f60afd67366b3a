/* feature_pool.c - log-mel features of every clip that has none yet, computed
 * in up to 64 parts on the library's pool (core/pool.h; each part with its
 * own featurizer; clip i goes to part i mod parts, so the result does not
 * depend on scheduling). */
#include "audio/feature_pool.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/pool.h"
#include "audio/io.h"

#include <stdio.h>

typedef struct worker {
    dsi_clip_list *l;
    const dsi_feat_cfg *cfg;
    int id, stride;
    int computed;
    dsn_status st;
    char msg[512];
} worker;

static void work_task(void *arg, int t, int nt)
{
    (void)nt;
    worker *w = (worker *)arg + t;
    dsi_featurizer fz;
    w->st = dsi_featurizer_init(&fz, w->cfg);
    if (w->st != DSN_OK) {
        snprintf(w->msg, sizeof w->msg, "%s", dsn_last_error());
        return;
    }
    const int M = w->cfg->n_mels;
    for (int i = w->id; i < w->l->n; i += w->stride) {
        dsi_clip *c = &w->l->c[i];
        if (c->feat) continue;
        float *x = NULL;
        size_t n = 0;
        dsn_status st = dsi_audio_read(c->path, w->cfg->sr, &x, &n, NULL);
        if (st == DSN_OK) {
            c->flags = dsi_audio_check(x, n);
            int T = dsi_featurizer_frames(&fz, n);
            if (T < 1) {
                st = dsi_error(DSN_E_FORMAT, "'%s' is too short (%zu samples) for n_fft %d", c->path, n,
                               w->cfg->n_fft);
            } else if (!(c->feat = dsi_malloc(sizeof(float) * (size_t)T * M))) {
                st = dsi_error(DSN_E_NOMEM, "cannot allocate features of '%s'", c->path);
            } else if ((st = dsi_featurizer_run(&fz, x, n, c->feat)) != DSN_OK) {
                dsi_free(c->feat);
                c->feat = NULL;
            } else {
                c->frames = T;
                w->computed++;
            }
        }
        dsi_free(x);
        if (st != DSN_OK) {
            w->st = st;
            snprintf(w->msg, sizeof w->msg, "%s", dsn_last_error());
            break;
        }
    }
    dsi_featurizer_free(&fz);
}


dsn_status dsi_features_compute(dsi_clip_list *l, const dsi_feat_cfg *cfg, int threads, int *computed_out)
{
    dsn_status st = DSN_OK;
    int cached = 0;
    for (int i = 0; i < l->n; i++) cached += l->c[i].feat != NULL;
    int nt = threads > 0 ? threads : dsi_pool_threads();
    if (nt > 64) nt = 64;
    if (nt > l->n - cached) nt = l->n - cached > 0 ? l->n - cached : 1;
    worker ws[64];
    for (int k = 0; k < nt; k++) ws[k] = (worker){.l = l, .cfg = cfg, .id = k, .stride = nt};
    dsi_pool_run(nt, work_task, ws);
    int computed = 0;
    for (int k = 0; k < nt; k++) {
        computed += ws[k].computed;
        if (ws[k].st != DSN_OK && st == DSN_OK) st = dsi_error(ws[k].st, "%s", ws[k].msg);
    }
    *computed_out = computed;
    return st;
}
