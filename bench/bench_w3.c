/* bench_w3.c - issue #9 W3: VQ-VAE conv training step (supersedes the
 * training half of bench_vqvae.c with the common output format).
 *
 *   build/bench/bench_w3 [steps] [threads]
 *
 * 32x32x3 images, batch 32, uniform random (fixed seed); encoder conv 4x4 s2
 * 3->128, ReLU, conv 4x4 s2 128->128, 2 residual blocks (ReLU, 3x3 128->32,
 * ReLU, 1x1 32->128), 1x1 128->64; VQ K 512, D 64, beta 0.25 (codebook loss,
 * no EMA); decoder 3x3 64->128, 2 residual blocks, transposed 4x4 s2 128->128,
 * ReLU, transposed 4x4 s2 128->3; MSE; Adam lr 3e-4. FLOPs: see bench_w.h;
 * the VQ distances are counted 1x (no gradient flows through them). */
#include "bench_w.h"

/* forward multiply-adds per image, layers with weights */
static double macs_layers(void)
{
    double m = 0;
    m += 16.0 * 16 * 128 * 3 * 16;                          /* conv 4x4 s2 3->128 -> 16x16 */
    m += 8.0 * 8 * 128 * 128 * 16;                          /* conv 4x4 s2 128->128 -> 8x8 */
    m += 2 * 2 * (64.0 * 32 * 128 * 9 + 64.0 * 128 * 32);   /* 2 x 2 residual blocks */
    m += 64.0 * 64 * 128;                                   /* 1x1 128->64 */
    m += 64.0 * 128 * 64 * 9;                               /* decoder 3x3 64->128 */
    m += 8.0 * 8 * 128 * 128 * 16;                          /* transposed 4x4 s2 128->128 */
    m += 16.0 * 16 * 128 * 3 * 16;                          /* transposed 4x4 s2 128->3 */
    return m;
}

int main(int argc, char **argv)
{
    bw_args a = bw_parse(argc, argv);
    enum { B = 32, OBS = 3 * 32 * 32 };
    dsn_model *m = bw_model("vq-vae", "channels=3, height=32, width=32, hidden=128, res_blocks=2, res_channels=32,"
                                      "code_dim=64, num_codes=512, beta=0.25, codebook_update=loss, restart_dead=0, seed=1");
    dsn_optimizer *opt = bw_adam(m, "3e-4");
    float *x = bw_random((size_t)B * OBS, 0.0f, 1.0f, 3);
    double gflop = (3.0 * 2.0 * macs_layers() + 2.0 * 64.0 * 512 * 64) * B * 1e-9;
    bw_train("W3", "vq-vae conv (32x32x3, batch 32, 128 ch, K 512, D 64, Adam)", a, m, opt, x, B, NULL, NULL, gflop);
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    return 0;
}
