/* option_docs.c - the doc line of every option key of dsn_fit and of the
 * optimizers (tests/test_options.c checks that none is missing). */
#include "api/describe.h"

#include <string.h>

typedef struct doc {
    int fit; /* 1: a dsn_fit key, 0: an optimizer key */
    const char *key, *text;
} doc;

static const doc docs[] = {
    {1, "epochs", "epochs to train"},
    {1, "steps_per_epoch", "steps per epoch (0: one pass over the training set)"},
    {1, "batch_groups", "groups per batch of a grouped model (default: min(16, the dataset's groups))"},
    {1, "group_size", "members drawn per group of a grouped model"},
    {1, "batch_size", "observations per batch of an ungrouped model"},
    {1, "patience", "stop after this many epochs without a better validation loss (0: never)"},
    {1, "keep_best", "end with the weights of the best validation epoch"},
    {1, "checkpoint", "checkpoint file written atomically (empty: none)"},
    {1, "checkpoint_every", "epochs between checkpoints"},
    {1, "log_every", "steps between progress callbacks"},
    {1, "seed", "seed of the batch order (default: the model's seed)"},
    {1, "max_skipped_steps", "consecutive non-finite steps tolerated (skipped) before failing"},
    {1, "log", "training log: JSONL file of every step and epoch, plus its CSV twin (empty: none)"},
    {1, "log_append", "append to an existing training log instead of replacing it"},
    {0, "lr", "learning rate"},
    {0, "beta1", "Adam's first-moment decay"},
    {0, "beta2", "Adam's second-moment decay"},
    {0, "eps", "Adam's denominator epsilon"},
    {0, "weight_decay", "L2 penalty (sgd, adam) or decoupled weight decay (adamw)"},
    {0, "momentum", "SGD momentum"},
    {0, "nesterov", "SGD with Nesterov momentum"},
    {0, "amsgrad", "Adam with the AMSGrad maximum of second moments"},
    {0, "clip_norm", "clip the gradient to this global L2 norm (0: no clipping)"},
    {0, "schedule", "learning-rate schedule"},
    {0, "step_size", "steps between decays of the step schedule"},
    {0, "gamma", "decay factor of the step schedule"},
    {0, "warmup", "steps of linear warm-up from 0 to lr"},
    {0, "total_steps", "length of the cosine schedule in steps"},
    {0, "min_ratio", "smallest learning rate of the cosine schedule, as a fraction of lr"},
};

const char *dsi_api_option_doc(const char *what, const char *key)
{
    int fit = !strcmp(what, "fit");
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        if (docs[i].fit == fit && !strcmp(docs[i].key, key)) return docs[i].text;
    return NULL;
}
