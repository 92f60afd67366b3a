/* rt_host.c - a minimal LV2 host that proves the disent-swap plugin's run()
 * is real-time safe: malloc, calloc, realloc, free, posix_memalign,
 * aligned_alloc, pthread_mutex_lock and pthread_mutex_trylock are interposed
 * (defined here, forwarding to glibc) and counted while run() executes, over
 * a 60-s render at 48 kHz in 256-sample blocks with the controls moving,
 * 1-sample and 5000-sample blocks, NaN / infinite / denormal input. Any call
 * fails the test. Also: the output is finite, the latency port matches the
 * delay of the bypass output, a host rate the resampler refuses and a missing
 * model give a logged pass-through, and a model file set by a patch:Set
 * message is loaded through the worker (work() off the audio thread,
 * work_response() on it, counted) and the old model freed by the worker.
 *
 *   rt_host PLUGIN.so BUNDLE_DIR
 *
 * BUNDLE_DIR/model.dsn is the plugin's default model; when absent, rt_host
 * writes one there: an untrained TS-DSAE in a streaming configuration (32
 * mels, n_fft 512, hop 128) with a two-entry timbre bank (the real-time rules
 * do not depend on the weights; scripts/lv2-proof.sh renders a trained one).
 *
 * Exit status 0 = pass, 1 = fail, 77 = skipped (sanitizer builds, whose
 * runtime owns malloc). */
#define _GNU_SOURCE
#include <disent.h>
#include <lv2/atom/forge.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/patch/patch.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- interposition ---- */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static __thread volatile int armed; /* per thread: only the thread calling run() counts */
static volatile unsigned long n_alloc, n_free, n_lock;
static int (*real_lock)(pthread_mutex_t *);
static int (*real_trylock)(pthread_mutex_t *);

void *malloc(size_t n)
{
    if (armed) n_alloc++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (armed) n_alloc++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (armed) n_alloc++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    if (armed && p) n_free++;
    __libc_free(p);
}
int posix_memalign(void **out, size_t align, size_t n)
{
    if (armed) n_alloc++;
    void *p = __libc_memalign(align, n);
    if (!p) return 12;
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n)
{
    if (armed) n_alloc++;
    return __libc_memalign(align, n);
}
/* resolved on first use: libraries lock mutexes in their constructors, before main */
static void resolve_locks(void)
{
    static int resolving;
    if (resolving) return;
    resolving = 1;
    real_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    real_trylock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_trylock");
    resolving = 0;
}
int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (armed) n_lock++;
    if (!real_lock) resolve_locks();
    return real_lock ? real_lock(m) : 0;
}
int pthread_mutex_trylock(pthread_mutex_t *m)
{
    if (armed) n_lock++;
    if (!real_trylock) resolve_locks();
    return real_trylock ? real_trylock(m) : 0;
}

/* ---- host features ---- */
#define MAX_URIS 64
static char uris[MAX_URIS][128];
static int n_uris;

static LV2_URID map_uri(LV2_URID_Map_Handle h, const char *uri)
{
    (void)h;
    for (int i = 0; i < n_uris; i++)
        if (!strcmp(uris[i], uri)) return (LV2_URID)(i + 1);
    if (n_uris == MAX_URIS) return 0;
    snprintf(uris[n_uris], sizeof uris[0], "%s", uri);
    return (LV2_URID)++n_uris;
}

static char last_log[1024];
static int n_logs;
static int log_vprintf(LV2_Log_Handle h, LV2_URID type, const char *fmt, va_list ap)
{
    (void)h;
    (void)type;
    n_logs++;
    return vsnprintf(last_log, sizeof last_log, fmt, ap);
}
static int log_printf(LV2_Log_Handle h, LV2_URID type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = log_vprintf(h, type, fmt, ap);
    va_end(ap);
    return r;
}

/* a worker run by hand: schedule_work queues, the test drains the queue */
static unsigned char work_msg[4][2048];
static uint32_t work_size[4];
static int n_work;
static LV2_Worker_Status schedule(LV2_Worker_Schedule_Handle h, uint32_t size, const void *data)
{
    (void)h;
    if (n_work == 4 || size > sizeof work_msg[0]) return LV2_WORKER_ERR_NO_SPACE;
    memcpy(work_msg[n_work], data, size);
    work_size[n_work++] = size;
    return LV2_WORKER_SUCCESS;
}
static unsigned char resp_msg[2048];
static uint32_t resp_size;
static LV2_Worker_Status respond(LV2_Worker_Respond_Handle h, uint32_t size, const void *data)
{
    (void)h;
    if (size > sizeof resp_msg) return LV2_WORKER_ERR_NO_SPACE;
    memcpy(resp_msg, data, size);
    resp_size = size;
    return LV2_WORKER_SUCCESS;
}

static int failures;
#define CHECK(c, ...)                                                                                                \
    do {                                                                                                             \
        if (!(c)) {                                                                                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                                            \
            fprintf(stderr, "\n");                                                                                   \
            failures++;                                                                                              \
        }                                                                                                            \
    } while (0)

enum { P_IN = 0, P_OUT, P_TIMBRE, P_TIMBRE_B, P_MORPH, P_MIX, P_BYPASS, P_LATENCY, P_CONTROL, P_NOTIFY, P_COUNT };

typedef struct inst {
    const LV2_Descriptor *d;
    LV2_Handle h;
    float ctl[P_COUNT];
    float *in, *out;
} inst;

static int open_inst(inst *k, const LV2_Descriptor *d, double rate, const char *bundle, size_t cap)
{
    static LV2_URID_Map map = {NULL, map_uri};
    static LV2_Log_Log log = {NULL, log_printf, log_vprintf};
    static LV2_Worker_Schedule sched = {NULL, schedule};
    static LV2_Feature fmap = {LV2_URID__map, &map}, flog = {LV2_LOG__log, &log}, fwork = {LV2_WORKER__schedule, &sched};
    static const LV2_Feature *features[] = {&fmap, &flog, &fwork, NULL};
    memset(k, 0, sizeof *k);
    k->d = d;
    k->h = d->instantiate(d, rate, bundle, features);
    if (!k->h) return -1;
    k->in = calloc(cap, sizeof(float));
    k->out = calloc(cap, sizeof(float));
    k->ctl[P_TIMBRE_B] = -1;
    k->ctl[P_MIX] = 1;
    for (uint32_t p = P_TIMBRE; p <= P_LATENCY; p++) d->connect_port(k->h, p, &k->ctl[p]);
    d->connect_port(k->h, P_IN, k->in);
    d->connect_port(k->h, P_OUT, k->out);
    d->connect_port(k->h, P_CONTROL, NULL); /* connectionOptional */
    d->connect_port(k->h, P_NOTIFY, NULL);
    if (d->activate) d->activate(k->h);
    return 0;
}

static void close_inst(inst *k)
{
    if (k->d->deactivate) k->d->deactivate(k->h);
    k->d->cleanup(k->h);
    free(k->in);
    free(k->out);
}

static int make_model(const char *path)
{
    dsn_options *mo = NULL, *ao = NULL;
    dsn_model *m = NULL;
    float v[8];
    int ok = dsn_options_create(&mo) == DSN_OK &&
             dsn_options_parse(mo, "frames=64, n_mels=32, v_dim=8, z_dim=8, local_encoder=lstm, encoder_lstm=32, z_norm=none, local_context=0") == DSN_OK &&
             dsn_model_create(&m, "ts-dsae", mo) == DSN_OK && dsn_options_create(&ao) == DSN_OK &&
             dsn_options_parse(ao, "sample_rate=16000, n_fft=512, hop_length=128, n_mels=32") == DSN_OK;
    for (int t = 0; ok && t < 2; t++) {
        for (int k = 0; k < 8; k++) v[k] = (float)(t ? 1 : -1) * (float)(k % 3);
        ok = dsn_model_bank_add(m, t ? "b" : "a", v, 8, ao) == DSN_OK;
    }
    ok = ok && dsn_model_save(m, NULL, path) == DSN_OK;
    if (!ok) fprintf(stderr, "rt_host: cannot write %s: %s\n", path, dsn_last_error());
    dsn_model_free(m);
    dsn_options_free(mo);
    dsn_options_free(ao);
    return ok ? 0 : -1;
}

/* run n samples of x through k in blocks of b (armed), output appended to y */
static void render(inst *k, float *y, const float *x, size_t n, size_t b)
{
    for (size_t i = 0; i < n; i += b) {
        size_t m = n - i < b ? n - i : b;
        memcpy(k->in, x + i, m * sizeof(float));
        armed = 1;
        k->d->run(k->h, (uint32_t)m);
        armed = 0;
        memcpy(y + i, k->out, m * sizeof(float));
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rt_host PLUGIN.so BUNDLE_DIR\n");
        return 2;
    }
#if defined(__SANITIZE_ADDRESS__)
    puts("rt_host: skipped (the sanitizer runtime owns malloc)");
    return 77;
#endif
    resolve_locks();
    if (!real_lock || !real_trylock) {
        fprintf(stderr, "rt_host: cannot find pthread_mutex_lock\n");
        return 1;
    }
    /* the interposition itself works (else this test could not fail) */
    {
        void *(*volatile m)(size_t) = malloc;
        pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
        armed = 1;
        void *p = m(16);
        pthread_mutex_lock(&mu);
        armed = 0;
        pthread_mutex_unlock(&mu);
        free(p);
        CHECK(n_alloc == 1 && n_lock == 1, "interposition does not count (%lu allocations, %lu locks)", n_alloc, n_lock);
        n_alloc = n_free = n_lock = 0;
    }
    mkdir(argv[2], 0755); /* may exist */
    char model[2048];
    snprintf(model, sizeof model, "%s/model.dsn", argv[2]);
    FILE *probe = fopen(model, "rb");
    if (probe) fclose(probe);
    else if (make_model(model)) return 1;
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        fprintf(stderr, "rt_host: %s\n", dlerror());
        return 1;
    }
    LV2_Descriptor_Function df = (LV2_Descriptor_Function)dlsym(so, "lv2_descriptor");
    const LV2_Descriptor *d = df ? df(0) : NULL;
    if (!d) {
        fprintf(stderr, "rt_host: no lv2_descriptor in %s\n", argv[1]);
        return 1;
    }
    CHECK(!strcmp(d->URI, "urn:libdisent:swap"), "URI %s", d->URI);
    const double rate = 48000;
    const size_t n = 60 * 48000;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, f = 220.0 * pow(2.0, (double)((i / 12000) % 12) / 12.0);
        x[i] = (float)(0.3 * sin(2 * M_PI * f * t) * (0.6 + 0.4 * sin(2 * M_PI * 0.5 * t)));
    }
    x[1000] = NAN;
    x[2000] = INFINITY;
    x[3000] = -INFINITY;
    for (size_t i = 4000; i < 4100; i++) x[i] = 1e-39f; /* denormals */

    inst k;
    CHECK(open_inst(&k, d, rate, argv[2], 8192) == 0, "instantiate");
    CHECK(strstr(last_log, "timbres") != NULL, "no model loaded: %s", last_log);
    /* 60 s in 256-sample blocks, the controls moving every 5 s */
    for (size_t i = 0; i < n; i += 256) {
        size_t sec = i / 48000;
        k.ctl[P_TIMBRE] = (float)((sec / 5) % 2);
        k.ctl[P_TIMBRE_B] = sec % 10 < 5 ? -1.0f : 1.0f;
        k.ctl[P_MORPH] = (float)(sec % 5) / 4.0f;
        k.ctl[P_MIX] = sec % 7 == 6 ? 0.5f : 1.0f;
        k.ctl[P_BYPASS] = sec % 11 == 10 ? 1.0f : 0.0f;
        if (sec == 30) k.ctl[P_TIMBRE] = 99; /* out of the bank: clamped, logged once */
        render(&k, y + i, x + i, n - i < 256 ? n - i : 256, 256);
    }
    printf("rt_host: 60 s at 48 kHz in 256-sample blocks: %lu allocations, %lu frees, %lu mutex locks in run()\n",
           n_alloc, n_free, n_lock);
    CHECK(n_alloc == 0 && n_free == 0 && n_lock == 0, "run() allocated or locked");
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(y[i]);
    CHECK(bad == 0, "%zu non-finite output samples", bad);
    double e = 0;
    for (size_t i = n / 2; i < n; i++) e += (double)y[i] * y[i];
    CHECK(e > 0, "silent output");
    const float latency = k.ctl[P_LATENCY];
    CHECK(latency > 0 && latency <= 0.040f * 48000, "latency port %g samples", latency);
    /* bypass: the input delayed by exactly the reported latency */
    k.ctl[P_BYPASS] = 1;
    k.d->activate(k.h);
    render(&k, y, x + 48000, 48000, 256);
    size_t L = (size_t)latency, off = 0;
    for (size_t i = L; i < 48000; i++) off += y[i] != x[48000 + i - L];
    CHECK(off == 0, "bypass differs from the input delayed by %zu samples at %zu samples", L, off);
    /* block sizes of 1 and above the stream's maximum */
    k.ctl[P_BYPASS] = 0;
    n_alloc = n_free = n_lock = 0;
    render(&k, y, x, 3000, 1);
    render(&k, y, x, 10000, 5000);
    CHECK(n_alloc == 0 && n_free == 0 && n_lock == 0, "1- and 5000-sample blocks allocated or locked");
    /* the model file parameter: patch:Set <urn:libdisent:swap#model> an atom:Path */
    {
        static LV2_URID_Map map = {NULL, map_uri};
        LV2_Atom_Forge forge;
        lv2_atom_forge_init(&forge, &map);
        static uint64_t seq_buf[512];
        lv2_atom_forge_set_buffer(&forge, (uint8_t *)seq_buf, sizeof seq_buf);
        LV2_Atom_Forge_Frame sf, of;
        lv2_atom_forge_sequence_head(&forge, &sf, 0);
        lv2_atom_forge_frame_time(&forge, 0);
        lv2_atom_forge_object(&forge, &of, 0, map_uri(NULL, LV2_PATCH__Set));
        lv2_atom_forge_key(&forge, map_uri(NULL, LV2_PATCH__property));
        lv2_atom_forge_urid(&forge, map_uri(NULL, "urn:libdisent:swap#model"));
        lv2_atom_forge_key(&forge, map_uri(NULL, LV2_PATCH__value));
        lv2_atom_forge_path(&forge, model, (uint32_t)strlen(model) + 1);
        lv2_atom_forge_pop(&forge, &of);
        lv2_atom_forge_pop(&forge, &sf);
        const LV2_Worker_Interface *wi = k.d->extension_data(LV2_WORKER__interface);
        CHECK(wi != NULL, "no worker interface");
        n_work = 0;
        n_alloc = n_free = n_lock = 0;
        k.d->connect_port(k.h, P_CONTROL, seq_buf);
        render(&k, y, x, 256, 256); /* run() schedules the load */
        LV2_Atom_Sequence empty = {{sizeof(LV2_Atom_Sequence_Body), map_uri(NULL, LV2_ATOM__Sequence)}, {0, 0}};
        k.d->connect_port(k.h, P_CONTROL, &empty);
        CHECK(n_work == 1, "patch:Set scheduled %d jobs", n_work);
        n_logs = 0;
        resp_size = 0;
        if (wi && n_work == 1) wi->work(k.h, respond, NULL, work_size[0], work_msg[0]); /* worker thread: may allocate */
        CHECK(resp_size > 0 && strstr(last_log, "timbres"), "the worker did not load the model: %s", last_log);
        n_work = 0;
        armed = 1; /* work_response runs in the audio thread's context */
        if (wi && resp_size) wi->work_response(k.h, resp_size, resp_msg);
        armed = 0;
        render(&k, y, x, 4096, 256);
        CHECK(n_alloc == 0 && n_free == 0 && n_lock == 0, "the model swap allocated or locked on the audio thread");
        CHECK(n_work == 1, "the old model was not handed to the worker (%d jobs)", n_work);
        if (wi && n_work == 1) wi->work(k.h, respond, NULL, work_size[0], work_msg[0]); /* frees it */
        for (size_t i = 0; i < 4096; i++) CHECK(isfinite(y[i]), "non-finite output after the swap");
    }
    close_inst(&k);
    printf("rt_host: latency %g samples (%.1f ms); bypass is the input delayed by it\n", latency, 1000.0 * latency / rate);

    /* a host rate the resampler refuses, and a bundle without a model: logged pass-through */
    n_logs = 0;
    CHECK(open_inst(&k, d, 100.0, argv[2], 512) == 0, "instantiate at 100 Hz");
    CHECK(n_logs > 0 && strstr(last_log, "passing the input through"), "no log at 100 Hz: %s", last_log);
    render(&k, y, x + 10000, 512, 64);
    for (size_t i = 0; i < 512; i++) CHECK(y[i] == x[10000 + i], "pass-through at 100 Hz");
    close_inst(&k);
    n_logs = 0;
    CHECK(open_inst(&k, d, rate, "/nonexistent-bundle/", 512) == 0, "instantiate without a model");
    CHECK(n_logs > 0 && strstr(last_log, "no model"), "no log without a model: %s", last_log);
    render(&k, y, x, 512, 512);
    CHECK(y[0] == x[0], "pass-through without a model");
    close_inst(&k);
    dlclose(so);
    free(x);
    free(y);
    if (failures) {
        fprintf(stderr, "rt_host: %d failures\n", failures);
        return 1;
    }
    puts("rt_host: ok");
    return 0;
}
