/* vq_vae.h - the "vq-vae" family's internals that its tests reach
 * (internal). Everything the API needs goes through the model interface
 * (models/model.h); here the model is assumed to be a vq-vae. */
#ifndef DSI_MODELS_VQ_VAE_H
#define DSI_MODELS_VQ_VAE_H

#include "latent/vq.h"
#include "models/model.h"
#include "models/vq_prior.h"

extern const dsi_model_vt dsi_vq_vae_vt;

enum { DSI_VQ_STAGE_AE = 0, DSI_VQ_STAGE_PRIOR = 1 };

/* code positions per observation */
int dsi_vqvae_positions(const dsn_model *m);
/* The codebook and its training state (tests). */
const dsi_vq *dsi_vqvae_vq(const dsn_model *m);
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
