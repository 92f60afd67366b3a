/* bench_w4.c - issue #9 W4: TS-DSAE reference configuration, full-stage step.
 *
 *   build/bench/bench_w4 [steps] [threads]
 *
 * 80 mel, T 250, batch 128, uniform random (fixed seed), Adam lr 1e-3. The
 * "ts-dsae" model with its defaults (per-frame MLPs 80->64->64 tanh for the
 * global and local features, masked mean-pool -> v 16, z_t 16, 2-layer prior
 * LSTM(32) teacher-forced, decoder [z_t; v] 32->64->64->80) and
 * constrained_epochs=0, so the step is a full-stage one from the start:
 * informed-prior KL against the frozen snapshot encoder and the four swap KL
 * terms (the doubled batch of swapped decodes re-encoded). A full frame mask
 * is passed (the masked pooling path). FLOPs: see bench_w.h. */
#include "bench_w.h"

enum { F = 80, DZ = 16, DV = 16, PH = 32 };
static int B = 128, T = 250, HD = 64; /* BENCH_SHAPE (bench_w.h): batch, frames, MLP width */

static double mlp_macs(void) { return (double)F * HD + (double)HD * HD; } /* 80->64->64 */
static double dec_macs(void) { return (double)(DZ + DV) * HD + (double)HD * HD + (double)HD * F; }
static double zhead_macs(void) { return (double)HD * 2 * DZ; }

int main(int argc, char **argv)
{
    bw_args a = bw_parse(argc, argv);
    bw_shape(&B, &T, &HD);
    char opts[256];
    snprintf(opts, sizeof opts, "frames=%d, n_mels=80, constrained_epochs=0, hidden=%d, dec_hidden=%d:%d", T, HD, HD,
             HD);
    dsn_model *m = bw_model("ts-dsae", opts);
    dsn_optimizer *opt = bw_adam(m, "1e-3");
    float *x = bw_random((size_t)B * T * F, -1.0f, 1.0f, 4);
    float *mask = malloc(sizeof(float) * B * T);
    for (int i = 0; i < B * T; i++) mask[i] = 1.0f;
    /* per frame: trainable forward MACs (main pass + the doubled swap batch), frozen snapshot separately */
    const double prior = (double)(T - 1) / T * (4.0 * PH * (DZ + PH) + 4.0 * PH * (PH + PH) + (double)PH * 2 * DZ);
    const double main_pass = mlp_macs() + mlp_macs() + zhead_macs() + prior + dec_macs();
    const double swap_pass = 2.0 * (dec_macs() + mlp_macs() + mlp_macs() + zhead_macs());
    const double vhead = (double)HD * 2 * DV / T * 3; /* main + 2 swap rows, per sequence */
    const double frozen = mlp_macs() + (double)HD * 2 * DV / T;
    const double gflop = (3.0 * 2.0 * (main_pass + swap_pass + vhead) + 2.0 * frozen) * B * T * 1e-9;
    char what[160];
    snprintf(what, sizeof what, "ts-dsae full stage (batch %d x T %d x 80, MLP %d:%d tanh, prior LSTM 2x32, swap terms, Adam)",
             B, T, HD, HD);
    bw_train("W4", what, a, m, opt, x, B, NULL, mask, gflop);
    free(mask);
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    return 0;
}
