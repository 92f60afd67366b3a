/* stream.c - dsn_stream: a real-time timbre swap on blocks of samples.
 *
 * host samples -> lib/audio/stream.c chain (resampling, streaming log-mel
 * analysis, resynthesis with the input's phase, overlap-add) whose frame
 * callback runs the model's causal step (models/model.h stream_step) with the
 * target static latent; the dry input is delayed by the chain's latency for
 * the dry/wet mix. Everything is allocated and warmed up by create. */
#include "api/bank.h"
#include "api/front_end.h"
#include "audio/stream.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/options.h"
#include "models/model.h"
#include "tensor/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct dsn_stream {
    const dsn_model *model;
    dsi_rt_chain chain;
    dsi_tape tape;
    float *state;          /* recurrent state of the model's step */
    size_t n_state;
    float *target;         /* [dim] the static latent swapped in */
    int dim, static_part;
    float mix;             /* wet fraction */
    float *dry;            /* [dry_cap] delay line for the dry signal */
    size_t dry_cap, dry_w;
    float *wet;            /* [max_block] */
    uint64_t frames, model_errors;
};

/* the model's frame step, called by the chain on the audio thread */
static int frame_fn(void *user, float *y, const float *x)
{
    dsn_stream *s = user;
    if (s->mix <= 0.0f) return 1; /* bypass: no model work, the chain keeps its phase */
    dsi_tape_reset(&s->tape);
    dsi_blas_set_realtime(1); /* no BLAS mutex on the audio thread */
    dsn_status st = s->model->vt->stream_step(s->model, &s->tape, s->state, y, x, s->target);
    dsi_blas_set_realtime(0);
    s->frames++;
    if (st != DSN_OK) {
        s->model_errors++;
        return 1;
    }
    return 0;
}

/* The audio front end of a model: its own (the model file's), else the
 * settings stored with its timbre bank, else the reference defaults, with
 * n_mels the model's frame size; stream options may repeat the model's own
 * front end but not contradict it (dsi_front_end_read). */
static dsn_status front_end(dsi_feat_cfg *c, const dsn_model *m, int frame, const dsn_options *opts,
                            dsi_resample_quality *q, int *nnls, float *mix, char *timbre)
{
    static const char *const qn[] = {"best", "medium", "fast", NULL};
    int qi = DSI_RESAMPLE_FAST;
    *nnls = 8;
    *mix = 1.0f;
    dsi_optr r;
    dsn_status st = dsi_optr_init(&r, opts, "stream");
    if (st != DSN_OK) return st;
    dsi_front_end_read(&r, m, c);
    dsi_opt_enum(&r, "resampler", &qi, qn);
    dsi_opt_int(&r, "nnls_iter", nnls, 0, 1000);
    dsi_opt_float(&r, "mix", mix, 0, 1);
    dsi_opt_str(&r, "timbre", timbre, DSI_BANK_NAME);
    st = r.status != DSN_OK ? r.status : dsi_optr_finish(&r);
    if (st != DSN_OK) return st;
    if (c->n_mels != frame)
        return dsi_error(DSN_E_OPTION, "n_mels %d: the model's frames have %d mel bands", c->n_mels, frame);
    *q = (dsi_resample_quality)qi;
    return dsi_feat_cfg_validate(c);
}

/* a bank entry by name, or by its index written in decimal */
static dsn_status pick_timbre(const dsn_stream *s, size_t *index, const char *t)
{
    const dsn_model *m = s->model;
    for (size_t i = 0; i < dsn_model_bank_count(m); i++)
        if (!strcmp(dsn_model_bank_name(m, i), t)) {
            *index = i;
            return DSN_OK;
        }
    char *end;
    unsigned long k = strtoul(t, &end, 10);
    if (end != t && !*end && k < dsn_model_bank_count(m)) {
        *index = (size_t)k;
        return DSN_OK;
    }
    return dsi_error(DSN_E_INVALID, "timbre '%.64s' is neither a name nor an index of the model's bank (%zu entries)", t,
                     dsn_model_bank_count(m));
}

dsn_status dsn_stream_create(dsn_stream **out, const dsn_model *m, int sample_rate, size_t max_block,
                             const float *target, size_t target_len, const dsn_options *opts)
{
    static const char fn[] = "dsn_stream_create";
    DSI_CHECK_NULL(out, "dsn_stream_create: out");
    *out = NULL;
    DSI_CHECK_NULL(m, "dsn_stream_create: model");
    if (max_block < 1 || max_block > ((size_t)1 << 20))
        return dsi_error(DSN_E_INVALID, "%s: max_block %zu not in [1, 2^20]", fn, max_block);
    if (!m->vt->stream_check || !m->vt->stream_step)
        return dsi_error(DSN_E_UNSUPPORTED, "%s: the %s model cannot stream (no static latent and causal step)", fn,
                         m->vt->name);
    size_t n_state = 0;
    int part = -1, frame = 0;
    dsn_status st = m->vt->stream_check(m, &n_state, &part, &frame);
    if (st != DSN_OK) {
        dsi_error_prefix(fn);
        return st;
    }
    dsi_feat_cfg c;
    dsi_resample_quality q = DSI_RESAMPLE_FAST;
    int nnls = 8;
    float mix = 1.0f;
    char timbre[DSI_BANK_NAME] = "";
    st = front_end(&c, m, frame, opts, &q, &nnls, &mix, timbre);
    if (st != DSN_OK) {
        dsi_error_prefix(fn);
        return st;
    }
    const int dim = m->parts[part].dim;
    dsn_stream *s = dsi_calloc(1, sizeof *s);
    if (!s) return dsi_error(DSN_E_NOMEM, "%s: out of memory", fn);
    s->model = m;
    s->dim = dim;
    s->static_part = part;
    s->mix = mix;
    s->n_state = n_state;
    dsi_tape_init(&s->tape);
    dsi_tape_set_recording(&s->tape, 0);
    s->state = dsi_calloc(n_state ? n_state : 1, sizeof(float));
    s->target = dsi_calloc((size_t)dim, sizeof(float));
    s->wet = dsi_calloc(max_block, sizeof(float));
    if (!s->state || !s->target || !s->wet) {
        st = dsi_error(DSN_E_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    if (target) {
        st = dsn_stream_set_target(s, target, target_len);
    } else if (timbre[0]) {
        size_t i = 0;
        st = pick_timbre(s, &i, timbre);
        if (st == DSN_OK) st = dsn_model_bank_get(m, s->target, (size_t)dim, i);
    } else if (dsn_model_bank_count(m) > 0) {
        st = dsn_model_bank_get(m, s->target, (size_t)dim, 0);
    } else {
        st = dsi_error(DSN_E_INVALID, "no target: give a static latent, or a model with a timbre bank (disent bank)");
    }
    if (st != DSN_OK) goto fail;
    st = dsi_rt_chain_init(&s->chain, &c, sample_rate, max_block, q, nnls, frame_fn, s);
    if (st != DSN_OK) goto fail;
    s->dry_cap = s->chain.latency + max_block + 1;
    s->dry = dsi_calloc(s->dry_cap, sizeof(float));
    if (!s->dry) {
        st = dsi_error(DSN_E_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    /* warm up: one model step grows the tape's arena, so process never allocates */
    {
        float *x = s->chain.y; /* n_mels floats of scratch */
        float *y = dsi_malloc(sizeof(float) * (size_t)frame);
        if (!y) {
            st = dsi_error(DSN_E_NOMEM, "%s: out of memory", fn);
            goto fail;
        }
        for (int k = 0; k < frame; k++) x[k] = logf(c.eps);
        dsi_tape_reset(&s->tape);
        st = m->vt->stream_step(m, &s->tape, s->state, y, x, s->target);
        dsi_free(y);
        if (st != DSN_OK) goto fail;
    }
    dsn_stream_reset(s);
    *out = s;
    return DSN_OK;
fail:
    dsi_error_prefix(fn);
    dsn_stream_free(s);
    return st;
}

void dsn_stream_free(dsn_stream *s)
{
    if (!s) return;
    dsi_rt_chain_free(&s->chain);
    dsi_tape_release(&s->tape);
    dsi_free(s->state);
    dsi_free(s->target);
    dsi_free(s->dry);
    dsi_free(s->wet);
    dsi_free(s);
}

void dsn_stream_reset(dsn_stream *s)
{
    if (!s) return;
    dsi_rt_chain_reset(&s->chain);
    memset(s->state, 0, sizeof(float) * (s->n_state ? s->n_state : 1));
    memset(s->dry, 0, sizeof(float) * s->dry_cap);
    s->dry_w = 0;
}

size_t dsn_stream_latency(const dsn_stream *s) { return s ? s->chain.latency : 0; }

size_t dsn_stream_max_block(const dsn_stream *s) { return s ? s->chain.max_block : 0; }

dsn_status dsn_stream_process(dsn_stream *s, float *out, const float *in, size_t n)
{
    if (!s || !out || !in)
        return dsi_error(DSN_E_INVALID, "dsn_stream_process: %s must not be NULL", !s ? "stream" : !out ? "out" : "in");
    if (n > s->chain.max_block)
        return dsi_error(DSN_E_SHAPE, "dsn_stream_process: %zu samples, the stream takes at most %zu per call", n,
                         s->chain.max_block);
    const size_t L = s->chain.latency, cap = s->dry_cap;
    const float wet = s->mix, dry = 1.0f - wet;
    /* the dry path: the same sanitised input, delayed by the latency */
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        s->dry[(s->dry_w + i) % cap] = isfinite(x) && !(x != 0.0f && fabsf(x) < 1e-30f) ? x : 0.0f;
    }
    dsi_rt_chain_process(&s->chain, s->wet, in, n);
    for (size_t i = 0; i < n; i++) {
        float d = s->dry[(s->dry_w + i + cap - L) % cap];
        float y = dry * d + wet * s->wet[i];
        out[i] = isfinite(y) ? y : 0.0f;
    }
    s->dry_w = (s->dry_w + n) % cap;
    return DSN_OK;
}

dsn_status dsn_stream_set_target(dsn_stream *s, const float *v, size_t len)
{
    DSI_CHECK_NULL(s, "dsn_stream_set_target: stream");
    DSI_CHECK_NULL(v, "dsn_stream_set_target: v");
    if (len != (size_t)s->dim)
        return dsi_error(DSN_E_SHAPE, "dsn_stream_set_target: v has %zu floats, the model's static latent %d", len, s->dim);
    for (size_t k = 0; k < len; k++)
        if (!isfinite(v[k])) return dsi_error(DSN_E_NUMERIC, "dsn_stream_set_target: v[%zu] is not finite", k);
    memcpy(s->target, v, len * sizeof(float));
    return DSN_OK;
}

dsn_status dsn_stream_set_timbre(dsn_stream *s, size_t a, size_t b, float t)
{
    DSI_CHECK_NULL(s, "dsn_stream_set_timbre: stream");
    const dsn_model *m = s->model;
    const size_t n = dsn_model_bank_count(m);
    if (a >= n || b >= n)
        return dsi_error(DSN_E_INVALID, "dsn_stream_set_timbre: timbres %zu and %zu, the bank has %zu", a, b, n);
    if (!(t >= 0.0f && t <= 1.0f)) return dsi_error(DSN_E_INVALID, "dsn_stream_set_timbre: t must be in [0, 1]");
    const float *va = m->bank->v + a * (size_t)s->dim, *vb = m->bank->v + b * (size_t)s->dim;
    for (int k = 0; k < s->dim; k++) s->target[k] = (1.0f - t) * va[k] + t * vb[k];
    return DSN_OK;
}

dsn_status dsn_stream_set_mix(dsn_stream *s, float wet)
{
    DSI_CHECK_NULL(s, "dsn_stream_set_mix: stream");
    if (!(wet >= 0.0f && wet <= 1.0f)) return dsi_error(DSN_E_INVALID, "dsn_stream_set_mix: wet must be in [0, 1]");
    s->mix = wet;
    return DSN_OK;
}

uint64_t dsn_stream_counter(const dsn_stream *s, const char *name)
{
    if (!s || !name) return 0;
    if (!strcmp(name, "frames")) return s->frames;
    if (!strcmp(name, "model_errors")) return s->model_errors;
    if (!strcmp(name, "bad_samples")) return s->chain.bad_samples;
    if (!strcmp(name, "bad_frames")) return s->chain.bad_frames;
    if (!strcmp(name, "xruns")) return s->chain.xruns;
    if (!strcmp(name, "feature_rate")) return (uint64_t)s->chain.rate;
    if (!strcmp(name, "hop")) return (uint64_t)s->chain.an.cfg.hop;
    if (!strcmp(name, "n_fft")) return (uint64_t)s->chain.an.cfg.n_fft;
    return 0;
}
