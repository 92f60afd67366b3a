/* disent_swap.c - an LV2 plugin around dsn_stream_*: a real-time timbre swap.
 *
 * Mono in, mono out. Control ports: timbre (bank index), timbre_b and morph
 * (interpolate towards a second bank entry), mix (dry/wet), bypass; the
 * latency output port reports the stream's constant delay. The model is
 * model.dsn in the plugin's bundle, or any model file set through the
 * patch:writable parameter <urn:libdisent:swap#model> (an atom:Path, for hosts
 * with a file chooser; loaded on the worker thread, saved with the state).
 *
 * run() never allocates, locks or does I/O: model files are loaded and
 * streams created in instantiate, in the worker and in state restore, then
 * swapped in by pointer. Bad input is never fatal: with no model, a model
 * that cannot stream, an unsupported host rate or a failed load the plugin
 * passes the input through and logs the reason (LV2 log feature, else
 * stderr); NaN, infinite and denormal samples are read as 0; a bank index out
 * of range is clamped and logged once. Blocks longer than the stream's
 * maximum are processed in pieces. Features: urid:map (optional: without it
 * no patch messages or state), log:log, worker:schedule (both optional). */
#include <disent.h>

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/core/lv2.h>
#include <lv2/core/lv2_util.h>
#include <lv2/log/log.h>
#include <lv2/log/logger.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWAP_URI "urn:libdisent:swap"
#define SWAP_MODEL SWAP_URI "#model"
#define MAX_BLOCK 4096
#define PATH_MAX_LEN 1024

enum { P_IN = 0, P_OUT, P_TIMBRE, P_TIMBRE_B, P_MORPH, P_MIX, P_BYPASS, P_LATENCY, P_CONTROL, P_NOTIFY, P_COUNT };

/* a model and its stream: made and freed off the audio thread */
typedef struct engine {
    dsn_model *model;
    dsn_stream *stream;
    size_t latency, n_timbres;
    char path[PATH_MAX_LEN];
} engine;

typedef struct worker_msg {
    int kind; /* 1: load path, 2: free engine */
    engine *eng;
    char path[PATH_MAX_LEN];
} worker_msg;

typedef struct plugin {
    const float *port_in;
    float *port_out;
    const float *timbre, *timbre_b, *morph, *mix, *bypass;
    float *latency;
    const LV2_Atom_Sequence *control;
    LV2_Atom_Sequence *notify;
    LV2_URID_Map *map;
    LV2_Log_Logger logger;
    LV2_Worker_Schedule *schedule;
    LV2_Atom_Forge forge;
    struct {
        LV2_URID atom_Path, atom_URID, atom_Object, patch_Set, patch_Get, patch_property, patch_value, model;
    } uris;
    double rate;
    char bundle[PATH_MAX_LEN];
    engine *eng;
    float last_a, last_b, last_t, last_mix;
    int logged_clamp, logged_block, logged_pass;
} plugin;

static void log_msg(plugin *p, int error, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (error) lv2_log_error(&p->logger, "disent-swap: %s\n", buf);
    else lv2_log_note(&p->logger, "disent-swap: %s\n", buf);
}

static void engine_free(engine *e)
{
    if (!e) return;
    dsn_stream_free(e->stream);
    dsn_model_free(e->model);
    free(e);
}

/* Load a model and make its stream (allocates; never on the audio thread). */
static engine *engine_load(plugin *p, const char *path)
{
    engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    snprintf(e->path, sizeof e->path, "%s", path);
    dsn_status st = dsn_model_load(&e->model, path);
    if (st == DSN_OK && dsn_model_bank_count(e->model) == 0) {
        log_msg(p, 1, "'%s' has no timbre bank (add one with `disent bank`): passing the input through", path);
        engine_free(e);
        return NULL;
    }
    if (st == DSN_OK) st = dsn_stream_create(&e->stream, e->model, (int)p->rate, MAX_BLOCK, NULL, 0, NULL);
    if (st != DSN_OK) {
        log_msg(p, 1, "cannot stream '%s' at %.0f Hz: %s: %s; passing the input through", path, p->rate,
                dsn_status_string(st), dsn_last_error());
        engine_free(e);
        return NULL;
    }
    e->latency = dsn_stream_latency(e->stream);
    e->n_timbres = dsn_model_bank_count(e->model);
    log_msg(p, 0, "'%s': %zu timbres, latency %zu samples (%.1f ms)", path, e->n_timbres, e->latency,
            1000.0 * (double)e->latency / p->rate);
    return e;
}

static LV2_Handle instantiate(const LV2_Descriptor *d, double rate, const char *bundle, const LV2_Feature *const *f)
{
    plugin *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    LV2_Log_Log *log = NULL;
    lv2_features_query(f, LV2_URID__map, &p->map, false, LV2_LOG__log, &log, false, LV2_WORKER__schedule,
                       &p->schedule, false, NULL);
    lv2_log_logger_init(&p->logger, p->map, log);
    p->rate = rate;
    snprintf(p->bundle, sizeof p->bundle, "%s", bundle ? bundle : "");
    if (p->map) {
        LV2_URID_Map *m = p->map;
        p->uris.atom_Path = m->map(m->handle, LV2_ATOM__Path);
        p->uris.atom_URID = m->map(m->handle, LV2_ATOM__URID);
        p->uris.atom_Object = m->map(m->handle, LV2_ATOM__Object);
        p->uris.patch_Set = m->map(m->handle, LV2_PATCH__Set);
        p->uris.patch_Get = m->map(m->handle, LV2_PATCH__Get);
        p->uris.patch_property = m->map(m->handle, LV2_PATCH__property);
        p->uris.patch_value = m->map(m->handle, LV2_PATCH__value);
        p->uris.model = m->map(m->handle, SWAP_MODEL);
        lv2_atom_forge_init(&p->forge, m);
    }
    const char *env = getenv("DISENT_SWAP_MODEL"); /* for tests and hosts without a file chooser */
    char path[PATH_MAX_LEN + 16];
    if (env && *env) snprintf(path, sizeof path, "%s", env);
    else snprintf(path, sizeof path, "%s%smodel.dsn", p->bundle, p->bundle[0] && p->bundle[strlen(p->bundle) - 1] != '/' ? "/" : "");
    FILE *probe = fopen(path, "rb");
    if (probe) {
        fclose(probe);
        p->eng = engine_load(p, path);
    } else {
        log_msg(p, 1, "no model at '%s': passing the input through until one is set", path);
    }
    p->last_a = p->last_b = p->last_t = p->last_mix = -1.0f;
    return p;
}

static void connect_port(LV2_Handle h, uint32_t port, void *data)
{
    plugin *p = h;
    switch (port) {
    case P_IN: p->port_in = data; break;
    case P_OUT: p->port_out = data; break;
    case P_TIMBRE: p->timbre = data; break;
    case P_TIMBRE_B: p->timbre_b = data; break;
    case P_MORPH: p->morph = data; break;
    case P_MIX: p->mix = data; break;
    case P_BYPASS: p->bypass = data; break;
    case P_LATENCY: p->latency = data; break;
    case P_CONTROL: p->control = data; break;
    case P_NOTIFY: p->notify = data; break;
    default: break;
    }
}

static void activate(LV2_Handle h)
{
    plugin *p = h;
    if (p->eng) dsn_stream_reset(p->eng->stream);
}

static float ctl(const float *port, float def) { return port && isfinite(*port) ? *port : def; }

/* the bank entry a control value selects, clamped to the bank */
static size_t pick(plugin *p, float v, size_t n)
{
    long k = lrintf(v);
    if (k < 0) k = 0;
    if ((size_t)k >= n) {
        if (!p->logged_clamp) log_msg(p, 1, "timbre %ld: the bank has %zu entries; using %zu", k, n, n - 1);
        p->logged_clamp = 1;
        k = (long)n - 1;
    }
    return (size_t)k;
}

static void apply_controls(plugin *p)
{
    engine *e = p->eng;
    float a = ctl(p->timbre, 0), b = ctl(p->timbre_b, -1), t = ctl(p->morph, 0);
    float mix = ctl(p->bypass, 0) > 0.5f ? 0.0f : ctl(p->mix, 1);
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    if (mix < 0) mix = 0;
    if (mix > 1) mix = 1;
    if (a != p->last_a || b != p->last_b || t != p->last_t) {
        size_t ia = pick(p, a, e->n_timbres), ib = b < 0 ? ia : pick(p, b, e->n_timbres);
        if (dsn_stream_set_timbre(e->stream, ia, ib, t) == DSN_OK) {
            p->last_a = a;
            p->last_b = b;
            p->last_t = t;
        }
    }
    if (mix != p->last_mix && dsn_stream_set_mix(e->stream, mix) == DSN_OK) p->last_mix = mix;
}

static void handle_events(plugin *p)
{
    if (!p->control || !p->map) return;
    LV2_ATOM_SEQUENCE_FOREACH (p->control, ev) {
        const LV2_Atom_Object *obj = (const LV2_Atom_Object *)&ev->body;
        if (ev->body.type != p->uris.atom_Object || obj->body.otype != p->uris.patch_Set) continue;
        const LV2_Atom *property = NULL, *value = NULL;
        lv2_atom_object_get(obj, p->uris.patch_property, &property, p->uris.patch_value, &value, 0);
        if (!property || property->type != p->uris.atom_URID || ((const LV2_Atom_URID *)property)->body != p->uris.model)
            continue;
        if (!value || value->type != p->uris.atom_Path || value->size == 0 || value->size >= PATH_MAX_LEN) {
            log_msg(p, 1, "patch:Set of the model needs an atom:Path");
            continue;
        }
        if (!p->schedule) {
            log_msg(p, 1, "the host has no worker: cannot load a model file while running");
            continue;
        }
        worker_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.kind = 1;
        memcpy(msg.path, LV2_ATOM_BODY_CONST(value), value->size);
        msg.path[PATH_MAX_LEN - 1] = 0;
        p->schedule->schedule_work(p->schedule->handle, sizeof msg, &msg);
    }
}

static void run(LV2_Handle h, uint32_t n)
{
    plugin *p = h;
    if (!p->port_in || !p->port_out) return;
    handle_events(p);
    engine *e = p->eng;
    if (p->latency) *p->latency = e ? (float)e->latency : 0.0f;
    if (!e) { /* pass-through, sanitised */
        for (uint32_t i = 0; i < n; i++) {
            float x = p->port_in[i];
            p->port_out[i] = isfinite(x) && !(x != 0.0f && fabsf(x) < 1e-30f) ? x : 0.0f;
        }
        return;
    }
    apply_controls(p);
    for (uint32_t i = 0; i < n;) {
        uint32_t k = n - i < MAX_BLOCK ? n - i : MAX_BLOCK;
        if (dsn_stream_process(e->stream, p->port_out + i, p->port_in + i, k) != DSN_OK) {
            memset(p->port_out + i, 0, k * sizeof(float));
            if (!p->logged_block) log_msg(p, 1, "processing failed; output muted");
            p->logged_block = 1;
        }
        i += k;
    }
}

static void cleanup(LV2_Handle h)
{
    plugin *p = h;
    engine_free(p->eng);
    free(p);
}

/* ---- worker: model loads and frees off the audio thread ---- */

static LV2_Worker_Status work(LV2_Handle h, LV2_Worker_Respond_Function respond, LV2_Worker_Respond_Handle rh,
                              uint32_t size, const void *data)
{
    plugin *p = h;
    if (size != sizeof(worker_msg)) return LV2_WORKER_ERR_UNKNOWN;
    const worker_msg *msg = data;
    if (msg->kind == 2) {
        engine_free(msg->eng);
        return LV2_WORKER_SUCCESS;
    }
    engine *e = engine_load(p, msg->path);
    if (!e) return LV2_WORKER_SUCCESS; /* logged; keep the current model */
    worker_msg reply = {1, e, ""};
    respond(rh, sizeof reply, &reply);
    return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status work_response(LV2_Handle h, uint32_t size, const void *data)
{
    plugin *p = h;
    if (size != sizeof(worker_msg)) return LV2_WORKER_ERR_UNKNOWN;
    const worker_msg *msg = data;
    engine *old = p->eng;
    p->eng = msg->eng;
    p->last_a = p->last_b = p->last_t = p->last_mix = -1.0f;
    p->logged_clamp = 0;
    if (old && p->schedule) {
        worker_msg f = {2, old, ""};
        p->schedule->schedule_work(p->schedule->handle, sizeof f, &f);
    }
    return LV2_WORKER_SUCCESS;
}

/* ---- state: the model path ---- */

static LV2_State_Status save(LV2_Handle h, LV2_State_Store_Function store, LV2_State_Handle sh, uint32_t flags,
                             const LV2_Feature *const *features)
{
    plugin *p = h;
    if (!p->map || !p->eng) return LV2_STATE_SUCCESS;
    LV2_State_Map_Path *mp = NULL;
    lv2_features_query(features, LV2_STATE__mapPath, &mp, false, NULL);
    char *abstract = mp ? mp->abstract_path(mp->handle, p->eng->path) : NULL;
    const char *path = abstract ? abstract : p->eng->path;
    LV2_State_Status st = store(sh, p->uris.model, path, strlen(path) + 1, p->uris.atom_Path,
                                LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
    free(abstract);
    return st;
}

static LV2_State_Status restore(LV2_Handle h, LV2_State_Retrieve_Function retrieve, LV2_State_Handle sh,
                                uint32_t flags, const LV2_Feature *const *features)
{
    plugin *p = h;
    if (!p->map) return LV2_STATE_SUCCESS;
    size_t size;
    uint32_t type, vflags;
    const char *value = retrieve(sh, p->uris.model, &size, &type, &vflags);
    if (!value || type != p->uris.atom_Path) return LV2_STATE_SUCCESS;
    LV2_State_Map_Path *mp = NULL;
    lv2_features_query(features, LV2_STATE__mapPath, &mp, false, NULL);
    char *abs_path = mp ? mp->absolute_path(mp->handle, value) : NULL;
    engine *e = engine_load(p, abs_path ? abs_path : value);
    free(abs_path);
    if (e) { /* restore runs outside run() (the instantiation class) */
        engine_free(p->eng);
        p->eng = e;
        p->last_a = p->last_b = p->last_t = p->last_mix = -1.0f;
    }
    return LV2_STATE_SUCCESS;
}

static const void *extension_data(const char *uri)
{
    static const LV2_Worker_Interface worker = {work, work_response, NULL};
    static const LV2_State_Interface state = {save, restore};
    if (!strcmp(uri, LV2_WORKER__interface)) return &worker;
    if (!strcmp(uri, LV2_STATE__interface)) return &state;
    return NULL;
}

static const LV2_Descriptor descriptor = {SWAP_URI, instantiate, connect_port, activate, run, NULL, cleanup,
                                          extension_data};

LV2_SYMBOL_EXPORT const LV2_Descriptor *lv2_descriptor(uint32_t index) { return index == 0 ? &descriptor : NULL; }
