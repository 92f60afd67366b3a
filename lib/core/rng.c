/* rng.c - xoshiro256** (Blackman & Vigna) with splitmix64 seeding. */
#include "core/rng.h"
#include "core/endian.h"
#include "core/pool.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void dsi_rng_seed(dsi_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0.0f;
}

uint64_t dsi_rng_u64(dsi_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float dsi_rng_uniform(dsi_rng *r) { return (float)(dsi_rng_u64(r) >> 40) * 0x1.0p-24f; }

double dsi_rng_uniform_d(dsi_rng *r) { return (double)(dsi_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t dsi_rng_below(dsi_rng *r, uint64_t n)
{
    /* rejection sampling on the top of the range keeps it unbiased */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = dsi_rng_u64(r);
    while (x >= lim);
    return x % n;
}

/* the two uniforms of a Box-Muller pair: u1 in (0, 1), u2 in [0, 1) */
static inline void draw_pair(dsi_rng *r, double *u1, double *u2)
{
    do *u1 = dsi_rng_uniform_d(r);
    while (*u1 <= 0.0);
    *u2 = dsi_rng_uniform_d(r);
}

/* the pair's normals: first (returned first) and second (the spare) */
static inline void box_muller(double u1, double u2, float *first, float *second)
{
    double rad = sqrt(-2.0 * log(u1));
    double th = 6.283185307179586 * u2;
    *second = (float)(rad * sin(th));
    *first = (float)(rad * cos(th));
}

float dsi_rng_normal(dsi_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1, u2;
    draw_pair(r, &u1, &u2);
    float c, s;
    box_muller(u1, u2, &c, &s);
    r->spare = s;
    r->has_spare = 1;
    return c;
}

void dsi_rng_fill_normal(dsi_rng *r, float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++) x[i] = mean + std * dsi_rng_normal(r);
}

/* ---- dsi_rng_fill_normal_pooled: the draws (cheap, sequential) on the
 * calling thread, the transform (log, sqrt, sin, cos) on the pool. Pair p's
 * u1 is parked as a double in work[2p, 2p + 1], its u2 in x[2p, 2p + 1] (the
 * slots its two normals go to), so a pair reads only its own slots. ---- */
typedef struct bm_job {
    float *x;
    const float *work;
    float mean, std;
} bm_job;

static void bm_pairs(void *ctx, size_t lo, size_t hi)
{
    const bm_job *j = ctx;
    for (size_t p = lo; p < hi; p++) {
        double u1, u2;
        memcpy(&u1, j->work + 2 * p, sizeof u1);
        memcpy(&u2, j->x + 2 * p, sizeof u2);
        float c, s;
        box_muller(u1, u2, &c, &s);
        j->x[2 * p] = j->mean + j->std * c;
        j->x[2 * p + 1] = j->mean + j->std * s;
    }
}

void dsi_rng_fill_normal_pooled(dsi_rng *r, float *x, size_t n, float mean, float std, float *work)
{
    /* ~40 ns of transform per pair against ~3 ns of draws */
    if (n < 4096 || dsi_pool_tasks(32.0 * (double)n, 131072.0) <= 1) {
        dsi_rng_fill_normal(r, x, n, mean, std);
        return;
    }
    if (r->has_spare) { /* the spare first, as dsi_rng_normal returns it */
        *x++ = mean + std * dsi_rng_normal(r);
        n--;
    }
    const size_t np = n / 2;
    for (size_t p = 0; p < np; p++) {
        double u1, u2;
        draw_pair(r, &u1, &u2);
        memcpy(work + 2 * p, &u1, sizeof u1);
        memcpy(x + 2 * p, &u2, sizeof u2);
    }
    bm_job j = {x, work, mean, std};
    dsi_pool_range(np, 64.0, 131072.0, 8, bm_pairs, &j);
    if (n % 2) x[n - 1] = mean + std * dsi_rng_normal(r); /* its pair's second value becomes the spare */
}

void dsi_rng_fill_uniform(dsi_rng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * dsi_rng_uniform(r);
}

void dsi_rng_shuffle(dsi_rng *r, int *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)dsi_rng_below(r, i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void dsi_rng_split(dsi_rng *parent, dsi_rng *child) { dsi_rng_seed(child, dsi_rng_u64(parent)); }

void dsi_rng_save(const dsi_rng *r, unsigned char out[DSI_RNG_STATE_BYTES])
{
    for (int i = 0; i < 4; i++) dsi_put_u64(out + 8 * i, r->s[i]);
    dsi_put_f32(out + 32, r->spare);
    dsi_put_u32(out + 36, (uint32_t)r->has_spare);
}

void dsi_rng_load(dsi_rng *r, const unsigned char in[DSI_RNG_STATE_BYTES])
{
    for (int i = 0; i < 4; i++) r->s[i] = dsi_get_u64(in + 8 * i);
    r->spare = dsi_get_f32(in + 32);
    r->has_spare = dsi_get_u32(in + 36) != 0;
}
