/* rng.h - a seeded random number generator owned by an object (internal).
 * xoshiro256** seeded through splitmix64; normals by Box-Muller with the
 * second value cached. The whole state is plain data, so it can be saved to a
 * checkpoint and restored for bit-exact resumption. */
#ifndef DSI_CORE_RNG_H
#define DSI_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct dsi_rng {
    uint64_t s[4];
    float spare;     /* cached second normal from Box-Muller */
    int has_spare;
} dsi_rng;

#define DSI_RNG_STATE_BYTES 40 /* 4*8 state + 4 spare + 4 has_spare */

void dsi_rng_seed(dsi_rng *r, uint64_t seed);
uint64_t dsi_rng_u64(dsi_rng *r);
/* uniform in [0, 1) with 24 random bits */
float dsi_rng_uniform(dsi_rng *r);
/* uniform in [0, 1) with 53 random bits */
double dsi_rng_uniform_d(dsi_rng *r);
/* unbiased integer in [0, n); n > 0 */
uint64_t dsi_rng_below(dsi_rng *r, uint64_t n);
float dsi_rng_normal(dsi_rng *r);
void dsi_rng_fill_normal(dsi_rng *r, float *x, size_t n, float mean, float std);
/* The same numbers (and the same state after) as dsi_rng_fill_normal, the
 * Box-Muller transform of large fills on the pool; work: n floats of scratch
 * (clobbered; may not overlap x). */
void dsi_rng_fill_normal_pooled(dsi_rng *r, float *x, size_t n, float mean, float std, float *work);
void dsi_rng_fill_uniform(dsi_rng *r, float *x, size_t n, float lo, float hi);
/* Fisher-Yates shuffle of n ints */
void dsi_rng_shuffle(dsi_rng *r, int *a, size_t n);
/* Derive an independent stream (for a child object) from this one. */
void dsi_rng_split(dsi_rng *parent, dsi_rng *child);

/* Little-endian serialisation of the full state (DSI_RNG_STATE_BYTES). */
void dsi_rng_save(const dsi_rng *r, unsigned char out[DSI_RNG_STATE_BYTES]);
void dsi_rng_load(dsi_rng *r, const unsigned char in[DSI_RNG_STATE_BYTES]);

#endif
