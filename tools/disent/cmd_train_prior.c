/* cmd_train_prior.c - `disent train-prior`: the second training stage of a
 * VQ-VAE, the autoregressive prior over its codes (the driver is shared with
 * `disent train`, see cli_train_main in cmd_train.c). */
#include "cli.h"

#include <stdio.h>

static const char train_prior_help[] =
    "usage: disent train-prior MODEL DATA [--epochs N] [--lr LR] [--out MODEL2] [CONFIG keys: --config FILE,\n"
    "                          --set KEY=VALUE]... [--checkpoint FILE] [--log DIR] [--quiet]\n"
    "       disent train-prior --resume CHECKPOINT DATA --epochs N --out MODEL2 [...]\n"
    "\n"
    "Trains the prior of a trained VQ-VAE (the \"prior\" stage: the encoder, decoder and\n"
    "codebook are frozen; the loss is the prior's negative log-likelihood of the codes of\n"
    "each batch, which the frozen encoder computes on the fly). Loads MODEL, switches it\n"
    "to the prior stage, creates a new optimizer and trains N more epochs (default 10)\n"
    "after the model's epoch counter; writes MODEL2 (default: MODEL, replaced atomically).\n"
    "The progress lines show the term bits_per_code; at the end the command prints the\n"
    "prior's bits per code on the validation set (valid = FRACTION) or else on the\n"
    "training data, next to log2 K, the uniform prior's.\n"
    "\n"
    "  --epochs N          prior epochs to run (more epochs after the model's counter)\n"
    "  --lr LR             learning rate of the new optimizer (optim.lr; default 1e-3)\n"
    "  other keys          as for disent train: fit keys (batch_size, steps_per_epoch,\n"
    "                      valid, patience, keep_best, log_every...), optimizer keys; model\n"
    "                      keys are ignored (the model file's options apply)\n"
    "\n"
    "  --log DIR           append the training log to DIR/train.jsonl and DIR/train.csv\n"
    "                      (as disent train --log writes them; one file for both stages)\n"
    "\n"
    "Checkpoints, Ctrl-C and --resume work as for disent train: Ctrl-C saves MODEL2.ckpt\n"
    "and prints the command to continue (--resume with the remaining --epochs).\n"
    "\n"
    "Example:\n"
    "  disent train --model vq-vae --mnist data/mnist --set epochs=5 --out vq.dsn\n"
    "  disent train-prior vq.dsn --mnist data/mnist --epochs 5 --lr 3e-4 --out vq-prior.dsn\n"
    "  disent sample vq-prior.dsn -n 64 --seed 1 --out samples/\n"
    "\n";

int cmd_train_prior(int argc, char **argv)
{
    if (cli_help(argc, argv, train_prior_help, cli_data_help, (const char *)NULL)) return 0;
    return cli_train_main(argc, argv, 1);
}
