/* option_docs.c - the doc line of every option key of dsn_fit and of the
 * optimizers (tests/test_options.c checks that none is missing). */
#include "api/describe.h"

#include <string.h>

typedef struct doc {
    int fit; /* 1: a dsn_fit key, 0: an optimizer key, 2: an audio key (dsn_dataset_from_audio, front ends) */
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
    {1, "data_shards", "shards of the training set, each with its own sampler and part of every batch (0: 1, or the processes of dsn_fit_mpi)"},
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
    {2, "frames", "window length in frames (0: one window per clip, of the longest clip's length)"},
    {2, "hop", "frames between window starts (0: frames, no overlap)"},
    {2, "min_tail", "fewest valid frames of a window after a clip's first (-1: frames / 2); shorter tails are left out, counted"},
    {2, "threads", "feature workers"},
    {2, "cache", "feature cache file (empty: none)"},
    {2, "label", "manifest column of the labels (empty: the first column)"},
    {2, "bad_clips", "silent or clipped clips: error (naming the clip), skip (left out, counted) or keep (counted)"},
    {2, "sample_rate", "feature rate in Hz: audio is resampled to it"},
    {2, "n_fft", "FFT size in samples (even)"},
    {2, "hop_length", "samples between STFT frames"},
    {2, "win_length", "analysis window length in samples (0: n_fft; at most n_fft)"},
    {2, "window", "analysis window"},
    {2, "power", "spectrogram exponent: 1 magnitude, 2 power"},
    {2, "n_mels", "mel bands (the frame size of a model)"},
    {2, "fmin", "lowest mel frequency in Hz"},
    {2, "fmax", "highest mel frequency in Hz (0: Nyquist)"},
    {2, "scale", "mel scale"},
    {2, "norm", "filter normalisation (slaney: unit area)"},
    {2, "log", "compression: log = ln(mel + eps), db = 10 log10(max(mel, amin)), linear = none"},
    {2, "eps", "log floor: ln(eps) is the value of silence (log)"},
    {2, "amin", "dB floor (db)"},
    {2, "top_db", "dB range kept below the clip's maximum (db; 0: all)"},
};

const char *dsi_api_option_doc(const char *what, const char *key)
{
    int fit = !strcmp(what, "fit") ? 1 : !strcmp(what, "audio") ? 2 : 0;
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        if (docs[i].fit == fit && !strcmp(docs[i].key, key)) return docs[i].text;
    return NULL;
}
