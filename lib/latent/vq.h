/* vq.h - vector-quantisation codebook (VQ-VAE) (internal).
 *
 * A dsi_vq owns a codebook e [K, D] stored as a parameter of the model's
 * dsi_params (so optimizers, clipping, freezing and saving treat it like any
 * weight), plus EMA state, usage statistics and a ring of recent encoder
 * outputs for restarting dead codes. Nothing here is thread-safe per object.
 *
 * Quantisation: k_i = argmin_j ||z_i - e_j||^2 with the distances
 * ||z||^2 - 2 z.e + ||e||^2 from one gemm per chunk of 256 vectors (the
 * chunk's [256, K] block stays in cache), clamped at 0; ties go to the lowest
 * index. z_q = e_k with the straight-through gradient (dz_e = dz_q).
 * Loss = red(||sg[z_e] - e_k||^2) (codebook loss, omitted in EMA mode)
 *      + beta * red(||z_e - sg[e_k]||^2) (commitment loss).
 * Cosine mode: z_e and the codes are l2-normalised (v / max(||v||, 1e-12))
 * before distances, z_q and the losses; gradients flow through the
 * normalisation.
 * EMA (decay g, Laplace eps): N_k <- g N_k + (1-g) n_k; m_k <- g m_k + (1-g)
 * sum_{i: k_i = k} z_i; N~_k = (N_k + eps) / (sum N + K eps) * sum N;
 * e_k = m_k / N~_k. The EMA state starts (and restarts) at N_k = 1, m_k = e_k. */
#ifndef DSI_LATENT_VQ_H
#define DSI_LATENT_VQ_H

#include "autodiff/ops.h"
#include "autodiff/params.h"
#include "core/dist.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "autodiff/reduce.h"

#include <stdint.h>

#define DSI_VQ_CHUNK 256

typedef struct dsi_vq_config {
    int K, D;
    float beta;      /* commitment weight (0.25) */
    int ema;         /* 1: EMA codebook updates, no codebook loss */
    float decay;     /* EMA decay g (0.99) */
    float eps;       /* Laplace smoothing of the EMA counts (1e-5) */
    int cosine;      /* 1: l2-normalised codes and inputs */
    int dead_after;  /* a code unused for this many tracked steps is dead (100) */
    int buffer;      /* recent encoder outputs kept for restarts (4096) */
    uint64_t seed;   /* for k-means++ and restarts */
} dsi_vq_config;

dsi_vq_config dsi_vq_defaults(int K, int D);

typedef struct dsi_vq_stats {
    double perplexity;      /* last tracked step: exp(-sum_k p_k log p_k) */
    double used_frac;       /* last tracked step: codes used / K */
    int used;
    double acc_perplexity;  /* the same over all vectors since dsi_vq_stats_reset */
    double acc_used_frac;
    int acc_used;
    int dead;               /* codes unused for >= dead_after tracked steps */
    long long steps, vectors, restarts;
} dsi_vq_stats;

typedef struct dsi_vq {
    dsi_vq_config cfg;
    dsi_params *ps;
    int param;              /* codebook index in ps */
    float *ema_count, *ema_sum; /* [K], [K, D] */
    int ema_ready;
    double *acc;            /* [K] accumulated counts */
    int *step_count;        /* [K] counts of the last tracked step */
    long long *idle;        /* [K] tracked steps since last use */
    float *buf;             /* [buffer, D] ring of recent (normalised if cosine) encoder outputs */
    int *pick;              /* [buffer] scratch for sampling without replacement */
    int buf_n, buf_pos;
    float *work;            /* CHUNK*K distances + K norms + CHUNK*D rows + K*D codes */
    double *tmp;            /* [K*D + K] EMA / k-means sums */
    dsi_rng rng;
    dsi_vq_stats st;
    const dsi_dist *dist;   /* data-parallel training: EMA batch statistics are summed over
                             * these processes (NULL: this process alone) */
} dsi_vq;

/* Declare the codebook parameter "<name>" [K, D] in ps (before
 * dsi_params_finalize) and allocate the state. In EMA mode put the codebook
 * in a group you freeze (it gets no gradient anyway). */
dsn_status dsi_vq_init(dsi_vq *vq, const dsi_vq_config *cfg, dsi_params *ps, const char *name, int group);
void dsi_vq_release(dsi_vq *vq);
/* The codebook var (valid after dsi_params_finalize), or NULL. */
dsi_var *dsi_vq_codebook(dsi_vq *vq);
/* e ~ uniform(-1/K, 1/K) (the reference initialisation); resets EMA state. */
dsn_status dsi_vq_init_uniform(dsi_vq *vq);

enum { DSI_VQ_ROWS = 0,   /* z_e [..., D]: one vector per row */
       DSI_VQ_NCHW = 1 }; /* z_e [N, D, H, W]: one vector per pixel (rows in n, h, w order) */

typedef struct dsi_vq_result {
    dsi_var *z_q;     /* shape of z_e: values e_k, straight-through gradient to z_e */
    dsi_var *loss;    /* scalar: codebook loss (not in EMA mode) + beta * commitment loss */
    int *idx;         /* [n] code of each vector (tape arena); with a row mask: of the valid rows only */
    const float *rows;/* [n, D] the vectors as quantised (normalised in cosine mode); ditto */
    int n;            /* rows in idx / rows (the valid ones with a mask) */
    double sq_err;    /* sum_i ||rows_i - e_k||^2 (for logging) */
} dsi_vq_result;

/* Quantise z_e. red sets how the losses are reduced over the valid n x D
 * elements (autodiff/reduce.h). row_mask [n] (per vector, in the order of the
 * rows: NCHW positions of each item in turn; NULL = all valid): a vector with
 * mask 0 (padding) still gets its nearest code in z_q, but adds nothing to the
 * codebook and commitment losses, their gradients, the statistics, the EMA
 * rows returned in res or the restart buffer. track: update the statistics,
 * the idle counters and the restart buffer (training steps). Returns the
 * tape status. */
dsn_status dsi_vq_quantize(dsi_tape *t, dsi_vq *vq, dsi_var *z_e, int layout, dsi_reduction red, int track,
                           const float *row_mask, dsi_vq_result *res);

/* Usage statistics, idle counters and restart buffer for one training step
 * (what dsi_vq_quantize does with track = 1; a trainer calls it only for a
 * step the optimizer accepted). */
void dsi_vq_track(dsi_vq *vq, const float *rows, const int *idx, int n);
/* Non-differentiable updates. rows/idx as returned by dsi_vq_quantize. */
dsn_status dsi_vq_ema_update(dsi_vq *vq, const float *rows, const int *idx, int n);
/* Data-parallel training (vq->dist set): process 0's codebook, EMA state
 * and idle counters to every process, after an update that used only local
 * vectors (k-means seeding, restarts). Collective. */
dsn_status dsi_vq_sync(dsi_vq *vq);
/* Data-parallel training: make the usage statistics and idle counters of
 * the last tracked step those of the global batch (a code used on any
 * process is not idle). ema_done: dsi_vq_ema_update has just summed the
 * step's counts (no further collective); else the counts are summed here. */
dsn_status dsi_vq_sync_usage(dsi_vq *vq, int ema_done);
/* Replace every dead code with a distinct recent encoder output; returns how
 * many were restarted (0 when none are dead or the buffer is empty). */
int dsi_vq_restart_dead(dsi_vq *vq);
/* k-means++ seeding on z [n, D] (n >= 1), then `iters` Lloyd iterations;
 * writes the codebook, resets EMA state and idle counters. */
dsn_status dsi_vq_init_kmeans(dsi_vq *vq, const float *z, int n, int iters);

/* Nearest codes for z [n, D] (inference, no tape, no allocation):
 * idx [n], dmin [n] or NULL (squared distances, clamped at 0). */
dsn_status dsi_vq_assign(dsi_vq *vq, const float *z, int n, int *idx, float *dmin);
/* The kernel: E [K, D], en2 [K] = ||e_k||^2, work >= DSI_VQ_CHUNK*K floats. */
void dsi_vq_assign_rows(const float *z, int n, const float *E, const float *en2, int K, int D, float *work,
                        int *idx, float *dmin);

void dsi_vq_stats_get(const dsi_vq *vq, dsi_vq_stats *s);
/* Clear the accumulated histogram (not the idle counters). */
void dsi_vq_stats_reset(dsi_vq *vq);
/* exp(-sum p log p) of a histogram (1 for an empty one) */
double dsi_vq_perplexity(const double *counts, int K);

/* Training state that is not a parameter (EMA counts and sums, idle
 * counters, restart ring and its position, RNG): integers as integers.
 * Loading validates every value against this vq's K, D and buffer and
 * leaves the state unchanged on failure (DSN_E_FORMAT). */
void dsi_vq_state_save(const dsi_vq *vq, dsi_writer *w);
dsn_status dsi_vq_state_load(dsi_vq *vq, dsi_reader *r);
#endif
