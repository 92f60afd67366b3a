/* option_docs.c - the doc line of every model option key. A family-specific
 * line (family set) wins over a shared one (family NULL). tests/test_options.c
 * checks that every key a family reads has a line here. */
#include "models/option_docs.h"

#include <stddef.h>
#include <string.h>

typedef struct doc {
    const char *family, *key, *text;
} doc;

static const doc docs[] = {
    {NULL, "seed", "seed of the parameter initialisation and of the training noise"},
    {NULL, "hidden", "widths of the hidden layers of the encoder MLP, e.g. 500:500"},
    {NULL, "activation", "activation of the hidden layers"},
    {NULL, "likelihood", "observation likelihood of the decoder"},
    {NULL, "obs_var", "variance of the Gaussian likelihood (fixed)"},
    {NULL, "channels", "convolution channels per layer"},
    {NULL, "beta", "weight of the KL (or commitment) term"},
    {NULL, "frames", "frames T of each sequence (observations are [T, n_mels])"},
    {NULL, "prior_hidden", "hidden size of the prior network"},
    {NULL, "prior_layers", "layers of the prior network"},
    /* ML-VAE */
    {"ml-vae", "input_dim", "floats per observation of the MLP encoder"},
    {"ml-vae", "style_dim", "size of the per-observation style latent"},
    {"ml-vae", "content_dim", "size of the per-group content latent"},
    {"ml-vae", "accumulation", "how a group's content posteriors combine: product of Gaussians or mean"},
    {"ml-vae", "beta", "weight of the content KL term"},
    {"ml-vae", "style_beta", "weight of the style KL term (default: beta; 3 beta for images)"},
    {"ml-vae", "warmup_style_beta", "style KL weight at the start of the warm-up, falling to style_beta (default: style_beta; 10 beta for images)"},
    {"ml-vae", "warmup_epochs", "epochs of the style KL warm-up (default 0; 3 for images)"},
    {"ml-vae", "encoder", "encoder network: MLP, convolutional, or chosen from the observation shape"},
    {"ml-vae", "image", "observation shape as C:H:W (or H:W) for the convolutional encoder"},
    {"ml-vae", "channels", "channels of the convolution layers of the conv encoder"},
    {"ml-vae", "enc_res_blocks", "conv encoder: 3x3 residual blocks after each stride-2 convolution"},
    {"ml-vae", "dec_res_blocks", "conv decoder: 3x3 residual blocks before each transposed convolution"},
    {"ml-vae", "group_penalty", "weight of the between-group scatter of the style means, which keeps the group's class out of style (default 0; 10 for images)"},
    {"ml-vae", "style_decorrelation", "weight of the off-diagonal covariance of the batch's style means (DIP-VAE-I), which puts the style factors on separate axes (default 0)"},
    {"ml-vae", "content_contrast", "weight of the prototype term: each member's content mean classified against the groups' mean contents (default 0; 10 for images)"},
    /* VQ-VAE */
    {"vq-vae", "layout", "observations are images [C, H, W] or sequences [frames, features]"},
    {"vq-vae", "channels", "image channels C"},
    {"vq-vae", "height", "image height H"},
    {"vq-vae", "width", "image width W"},
    {"vq-vae", "features", "features per frame of a sequence observation"},
    {"vq-vae", "frames", "frames of a sequence observation"},
    {"vq-vae", "hidden", "channels of the encoder and decoder convolutions"},
    {"vq-vae", "res_blocks", "residual blocks in the encoder and in the decoder"},
    {"vq-vae", "res_channels", "hidden channels inside a residual block"},
    {"vq-vae", "code_dim", "size D of a code vector"},
    {"vq-vae", "num_codes", "codebook size K"},
    {"vq-vae", "beta", "weight of the commitment loss"},
    {"vq-vae", "codebook_update", "codebook learns by its loss term or by exponential moving averages"},
    {"vq-vae", "decay", "EMA decay of the codebook statistics"},
    {"vq-vae", "ema_eps", "Laplace smoothing of the EMA code counts"},
    {"vq-vae", "kmeans_init", "initialise the codebook by k-means on the first batch"},
    {"vq-vae", "kmeans_iters", "k-means iterations of kmeans_init"},
    {"vq-vae", "restart_dead", "move codes unused for dead_after steps onto recent encoder outputs"},
    {"vq-vae", "dead_after", "steps without use after which a code is dead"},
    {"vq-vae", "restart_every", "steps between dead-code restarts"},
    {"vq-vae", "restart_buffer", "recent encoder outputs kept to restart dead codes from"},
    {"vq-vae", "cosine", "quantise by cosine similarity (normalised vectors) instead of distance"},
    {"vq-vae", "data_var", "data variance that scales the reconstruction loss"},
    {"vq-vae", "prior_channels", "channels of the autoregressive prior over codes"},
    {"vq-vae", "prior_layers", "masked convolution layers of the image prior"},
    {"vq-vae", "prior_kernel", "kernel size of the image prior's masked convolutions"},
    {"vq-vae", "prior_hidden", "hidden size of the prior's output layers"},
    {"vq-vae", "temperature", "sampling temperature of the prior (0: most likely code)"},
    {"vq-vae", "top_k", "sample only among the top_k most likely codes (0: all)"},
    {"vq-vae", "stage", "training stage: the autoencoder, or the prior over frozen codes"},
    /* DSAE and TS-DSAE */
    {"dsae", "config", "preset: the paper's configuration or this library's default (keys below override it)"},
    {"ts-dsae", "config", "preset: the paper's configuration, this library's default, or speech (the default with "
                          "swap_critic 10; keys below override it)"},
    {NULL, "n_mels", "features per frame (mel bands)"},
    {NULL, "v_dim", "size of the global (per-sequence) latent v"},
    {NULL, "z_dim", "size of the local (per-frame) latent z_t"},
    {NULL, "dec_hidden", "widths of the hidden layers of the decoder MLP"},
    {NULL, "global_encoder", "encoder of v: MLP over pooled frames or a bi-LSTM"},
    {NULL, "global_features", "per-frame MLP features before pooling for v, or none"},
    {NULL, "local_encoder", "encoder of z_t: per-frame MLP, LSTM or bi-LSTM"},
    {NULL, "encoder_lstm", "hidden size of the encoder LSTMs"},
    {NULL, "posterior", "q(z_t) factorised per frame or conditioned on the past (full)"},
    {NULL, "decoder", "decoder: per-frame MLP, LSTM or bi-LSTM"},
    {NULL, "decoder_lstm", "hidden size of the decoder LSTM"},
    {NULL, "scaling", "loss terms averaged (mean) or summed over dimensions and frames"},
    {NULL, "beta_v", "weight of the KL term of v"},
    {NULL, "beta_z", "weight of the KL term of z"},
    {NULL, "noise", "training draws latents from the posterior (sample) or uses its mean"},
    {NULL, "decoder_film", "condition the decoder on v by FiLM (feature-wise scale and shift)"},
    {NULL, "z_norm", "normalise z_t by its mean over frames (none or mean)"},
    {NULL, "local_context", "neighbouring frames on each side the local encoder sees"},
    {NULL, "register_v", "weight of the penalty on the batch correlation between v and a register proxy of each clip "
                         "(its mean lowest strong band)"},
    {NULL, "static_z", "weight of the penalty on the batch correlation between z's time mean and v"},
    {NULL, "local_input", "local encoder input: the frames (raw), minus the clip's mean spectrum (centred) or minus "
                          "the clip's mean spectral envelope (flat)"},
    {NULL, "global_input", "global encoder input: the frames (raw) or each frame's smooth spectral envelope (envelope)"},
    {NULL, "envelope_k", "DCT coefficients along the mel axis kept in the spectral envelope (global_input, local_input=flat)"},
    {NULL, "local_eq", "scale of a random smooth per-clip equaliser on the local encoder's training input"},
    {NULL, "iid_z", "weight of an extra KL of every frame's z to N(0, I), which cannot predict z from its past"},
    {NULL, "adv_z", "gradient-reversal strength of a frame adversary that tells each z_t's clip by its v (0: off)"},
    {NULL, "adv_frames", "frames per clip the z_t adversary reads at each step"},
    {NULL, "adv_hidden", "widths of the hidden layers of the z_t adversary's MLP"},
    {"ts-dsae", "constrained_epochs", "epochs of the first (constrained) stage before the switch"},
    {"ts-dsae", "informed_prior", "second stage: KL of v to the frozen stage-one encoder's posterior"},
    {"ts-dsae", "swap_vg", "weight of the swap term on v of the global swap"},
    {"ts-dsae", "swap_zg", "weight of the swap term on z of the global swap"},
    {"ts-dsae", "swap_vl", "weight of the swap term on v of the local swap"},
    {"ts-dsae", "swap_zl", "weight of the swap term on z of the local swap"},
    {"ts-dsae", "swap_stop_grad", "stop gradients into the reference posteriors of the swap terms"},
    {"ts-dsae", "swap_critic", "weight of the swap terms on v measured by the frozen stage-one encoder"},
};

const char *dsi_model_option_doc(const char *family, const char *key)
{
    const char *shared = NULL;
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        if (strcmp(docs[i].key, key)) continue;
        if (!docs[i].family) {
            if (!shared) shared = docs[i].text;
        } else if (family && !strcmp(docs[i].family, family)) {
            return docs[i].text;
        }
    }
    return shared;
}
