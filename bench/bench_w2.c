/* bench_w2.c - issue #9 W2: DSAE with LSTMs, one training step.
 *
 *   build/bench/bench_w2 [steps] [threads] [mlp]
 *
 * Batch 128 x T 128 x 80 mel, uniform random (fixed seed), Adam lr 1e-3. The
 * "dsae" model with
 *   global_encoder=bilstm, global_features=none, encoder_lstm=256 (bi-LSTM
 *     80->256 per direction on the mel frames, averaged over directions and
 *     time -> v 16),
 *   hidden=256, local_encoder=mlp (per-frame MLP 80->256 tanh -> z_t 16),
 *   prior_layers=1, prior_hidden=256 (LSTM 16->256, teacher-forced),
 *   dec_hidden=256:256 (decoder [z_t; v] 32->256->256->80), MSE, KL(v), KL(z_t||prior).
 * Exactly the shapes (before global_features=none existed, the
 * bi-LSTM read 256-d MLP features; `bench_w2 .. mlp` still runs that).
 * FLOPs: see bench_w.h. */
#include "bench_w.h"

#include <string.h>

enum { F = 80, DZ = 16, DV = 16 };
static int B = 128, T = 128, H = 256; /* BENCH_SHAPE (bench_w.h) */

/* forward multiply-adds per frame (gmlp: the old variant with the global per-frame MLP) */
static double macs_per_frame(int gmlp)
{
    double m = 0;
    if (gmlp) m += (double)F * H;                 /* global per-frame MLP 80->256 */
    m += 2.0 * 4 * H * ((gmlp ? H : F) + H);      /* bi-LSTM (80 or 256)->256, two directions */
    m += (double)F * H + (double)H * 2 * DZ;      /* local MLP 80->256, z head 256->32 */
    m += (double)(T - 1) / T * (4.0 * H * (DZ + H) + (double)H * 2 * DZ); /* prior LSTM on T-1 frames + head */
    m += (double)(DZ + DV) * H + (double)H * H + (double)H * F;          /* decoder */
    m += (double)H * 2 * DV / T;                  /* v head, once per sequence */
    return m;
}

int main(int argc, char **argv)
{
    bw_args a = bw_parse(argc, argv);
    bw_shape(&B, &T, &H);
    const int gmlp = argc > 3 && !strcmp(argv[3], "mlp");
    char opts[512];
    snprintf(opts, sizeof opts,
             "frames=%d, n_mels=80, v_dim=16, z_dim=16, hidden=%d, activation=tanh, global_encoder=bilstm,%s"
             " encoder_lstm=%d, local_encoder=mlp, prior_layers=1, prior_hidden=%d, decoder=mlp, dec_hidden=%d:%d",
             T, H, gmlp ? "" : " global_features=none,", H, H, H, H);
    dsn_model *m = bw_model("dsae", opts);
    dsn_optimizer *opt = bw_adam(m, "1e-3");
    float *x = bw_random((size_t)B * T * F, -1.0f, 1.0f, 2);
    char what[160];
    snprintf(what, sizeof what, "dsae (batch %d x T %d x 80, bi-LSTM %d, prior LSTM %d, MLP %d, Adam)", B, T, H, H, H);
    bw_train("W2", what, a, m, opt, x, B, NULL, NULL, 3.0 * 2.0 * macs_per_frame(gmlp) * B * T * 1e-9);
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    return 0;
}
