/* bench_w1.c - issue #9 W1: ML-VAE MLP training step.
 *
 *   build/bench/bench_w1 [steps] [threads]
 *
 * Batch 256 = 16 groups x 16 items of 784 uniform random pixels (fixed seed);
 * encoder 784->500->500 (ReLU), style and content heads (mean, log-var) of 10
 * each, product of Gaussians per group, decoder 20->500->500->784 Bernoulli
 * logits, KL terms, one Adam step (lr 1e-3). The "ml-vae" model with
 * hidden=500:500, activation=relu. FLOPs: see bench_w.h. */
#include "bench_w.h"

/* forward multiply-adds per item */
static double macs_per_item(void)
{
    return 784.0 * 500 + 500.0 * 500 + 500.0 * 20 + 500.0 * 20 /* encoder, style + content heads */
           + 20.0 * 500 + 500.0 * 500 + 500.0 * 784;            /* decoder */
}

int main(int argc, char **argv)
{
    bw_args a = bw_parse(argc, argv);
    enum { B = 256, D = 784 };
    dsn_model *m = bw_model("ml-vae", "input_dim=784, hidden=500:500, activation=relu, style_dim=10, content_dim=10,"
                                      "likelihood=bernoulli");
    dsn_optimizer *opt = bw_adam(m, "1e-3");
    float *x = bw_random((size_t)B * D, 0.0f, 1.0f, 1);
    int32_t groups[B];
    for (int i = 0; i < B; i++) groups[i] = i / 16;
    bw_train("W1", "ml-vae MLP (batch 256 = 16x16, 784-500-500, relu, style/content 10, Adam)", a, m, opt, x, B,
             groups, NULL, 3.0 * 2.0 * macs_per_item() * B * 1e-9);
    free(x);
    dsn_optimizer_free(opt);
    dsn_model_free(m);
    return 0;
}
