/* vq_vae.h - the "vq-vae" family's calls beyond the model interface, for
 * lib/api/vq.c (internal). Every function checks dsi_vqvae_is() first in the
 * API layer; here the model is assumed to be a vq-vae. */
#ifndef DSI_MODELS_VQ_VAE_H
#define DSI_MODELS_VQ_VAE_H

#include "latent/vq.h"
#include "models/model.h"
#include "models/vq_prior.h"

extern const dsi_model_vt dsi_vq_vae_vt;

enum { DSI_VQ_STAGE_AE = 0, DSI_VQ_STAGE_PRIOR = 1 };

int dsi_vqvae_is(const dsn_model *m);
int dsi_vqvae_num_codes(const dsn_model *m);
/* code positions per observation */
int dsi_vqvae_positions(const dsn_model *m);
/* Switch the training stage: freezes / unfreezes the parameter groups and
 * records the stage in the model's options (so a saved model keeps it). */
dsn_status dsi_vqvae_set_stage(dsn_model *m, int stage);
int dsi_vqvae_stage(const dsn_model *m);
void dsi_vqvae_set_sampling(dsn_model *m, float temperature, int top_k);
void dsi_vqvae_get_sampling(const dsn_model *m, float *temperature, int *top_k);
/* The training-time codebook tracker (vq.h). */
void dsi_vqvae_stats(const dsn_model *m, dsi_vq_stats *s);
/* Codebook vectors (normalised in cosine mode) of rows codes into values
 * [rows, D]; DSN_E_INVALID for a code outside [0, K). No allocation. */
dsn_status dsi_vqvae_codes_to_values(const dsn_model *m, const int32_t *codes, size_t rows, float *values);
/* Nearest codes [n, P] of n observations (inference on t). */
dsn_status dsi_vqvae_encode_codes(const dsn_model *m, dsi_tape *t, const float *x, size_t n, int32_t *codes);
/* Prior NLL (nats per code, mean over the n * P codes) on t. */
dsn_status dsi_vqvae_prior_nll(const dsn_model *m, dsi_tape *t, const int32_t *codes, size_t n, double *nats);
/* Encoder outputs as rows [n * P, D] (normalised in cosine mode), in t's arena. */
const float *dsi_vqvae_latents(const dsn_model *m, dsi_tape *t, const float *x, size_t n);
const dsi_vq_prior *dsi_vqvae_prior(const dsn_model *m);

#endif
