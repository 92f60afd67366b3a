/* cli.h - shared pieces of the `disent` command-line program.
 *
 * The program is a host of the public API only (include/disent.h): it never
 * includes a lib/ header. Each subcommand is one function
 *     int cmd_NAME(int argc, char **argv)   (argv[0] is the subcommand name)
 * listed in the table in main.c with a one-line summary; it returns the exit
 * code (0 ok, 1 failure, 2 usage error, 130 interrupted). To add a subcommand:
 * write tools/disent/cmd_NAME.c, declare it below, add one table row. */
#ifndef DISENT_CLI_H
#define DISENT_CLI_H

#include <disent.h>

#include "../common/describe.h" /* host_info, host_part, host_ds, host_obs_shape, host_ds_shape */

#include <stddef.h>
#include <stdint.h>

/* ---- subcommands ---------------------------------------------------------- */
int cmd_train(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_swap(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_train_prior(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
/* `disent eval --metrics ...` (eval_metrics.c), dispatched by cmd_eval. */
int cli_eval_metrics(int argc, char **argv);
extern const char cli_eval_metrics_help[];
/* The flags both modes of `disent eval` end their flag loop with (cmd_eval.c):
 * --set KEY=VALUE (parsed into opts), --quiet, then an unknown flag (a usage
 * error), MODEL (the first argument that is not a flag; into *model) and an
 * unexpected argument (a usage error). Returns the exit code: 0 when
 * argv[*i] (and its value) was taken, 2 on a usage error, 1 when --set fails. */
int cli_eval_arg(int argc, char **argv, int *i, dsn_options *opts, int *quiet, const char **model);
int cmd_bank(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* The training driver behind `train` and `train-prior` (cmd_train.c): prior = 0
 * trains a new model (or resumes), prior = 1 loads MODEL, switches it to the
 * "prior" stage and trains that for --epochs more epochs. */
int cli_train_main(int argc, char **argv, int prior);

/* ---- errors ----------------------------------------------------------------
 * All messages go to stderr as "disent: <what>: <status>: <detail>". */
int cli_fail(const char *what, dsn_status st); /* prints, returns 1 */
/* dsn_model_load, or "disent: loading 'PATH': ..." and 1 */
int cli_model_load(dsn_model **m, const char *path);

/* ---- data-parallel training (mpi.c; stand-ins without MPI) ----------------- */
/* Start MPI if an MPI launcher (mpirun, srun) started the program; returns the
 * number of processes (1 without a launcher or without MPI), -1 on failure. */
int cli_mpi_start(int *argc, char ***argv);
int cli_mpi_rank(void);
int cli_mpi_size(void);
/* flag OR-ed over the processes (collective) */
int cli_mpi_any(int flag);
/* dsn_fit_mpi over every process, or dsn_fit alone */
dsn_status cli_fit(dsn_model *m, dsn_optimizer *opt, const dsn_dataset *train, const dsn_dataset *valid,
                   const dsn_options *opts, dsn_progress_fn progress, void *user);
/* the last cli_fit's gradient sums (1 if it ran over MPI) */
int cli_mpi_stats(int64_t *reductions, double *bytes, double *seconds);
/* End MPI (MPI_Abort of the job when rc is a failure); returns rc. */
int cli_mpi_end(int rc);
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ; /* prints "disent CMD: ...; see disent CMD --help", returns 2 */
void cli_note(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- argument helpers -------------------------------------------------------
 * cli_flag_value: if argv[*i] is `name` (with the value in the next argument)
 * or `name=value`, stores the value, advances *i and returns 1; returns -1 when
 * the value is missing (after printing a usage error) and 0 if no match. */
int cli_flag_value(const char *cmd, int argc, char **argv, int *i, const char *name, const char **value);
int cli_is_help(const char *arg);
/* If any argument asks for help (--help, -h): prints the texts (const char *,
 * up to a NULL) to stdout and returns 1; else 0. */
int cli_help(int argc, char **argv, ...);
/* The one MODEL argument of subcommand cmd: arg into *model; a second one is a
 * usage error ("unexpected argument", returns 2). 0 otherwise. */
int cli_model_arg(const char *cmd, const char *arg, const char **model);
/* Parse "0-6,8,10-12" into a fresh array (free with free()); each value in
 * [0, limit) unless limit is 0. Returns 0 on success, -1 on a bad list. */
int cli_parse_ranges(const char *text, size_t limit, size_t **out, size_t *n);
/* Parse "HxW" ("28x28"). */
int cli_parse_hw(const char *text, size_t *h, size_t *w);
/* mkdir -p for one level (an existing folder is fine). 0 on success. */
int cli_mkdir(const char *path);
/* "dir/name" into buf. */
void cli_join(char *buf, size_t cap, const char *dir, const char *name);

/* ---- data sources shared by train, encode and swap ------------------------- */
typedef struct cli_data {
    const char *mnist;      /* --mnist DIR */
    int mnist_test;         /* --test-set: the MNIST test files */
    const char *npy;        /* --npy X.npy */
    const char *labels;     /* --labels Y.npy */
    const char *audio;      /* --audio DIR|CSV */
    char **audio_files;     /* --audio FILE...: audio clips, one observation each */
    size_t n_audio_files;
    const char *features;   /* --features FILE.dsa */
    const char *label_column; /* --label-column NAME (features files) */
    const char *classes;    /* --classes / --digits 0-6: keep these labels only */
} cli_data;

/* Consume a data flag at argv[*i]; 1 if consumed, 0 if not a data flag, -1 on error. */
int cli_data_arg(cli_data *d, const char *cmd, int argc, char **argv, int *i);
/* Load the dataset the flags name (audio options: the audio.* keys of opts,
 * prefix removed; opts may be NULL). Returns the exit code (0 ok). */
int cli_data_load(const cli_data *d, const char *cmd, const dsn_options *audio_opts, dsn_dataset **out);
int cli_data_given(const cli_data *d);
extern const char cli_data_help[];

/* ---- audio: feature settings, audio files as observations, WAV output ----------
 * The feature settings of a model trained on audio are not stored in the model
 * file: give the same --sample-rate etc. as in training (audio.* keys). */
typedef struct cli_audio {
    const char *sample_rate, *n_fft, *hop_length, *fmin, *fmax; /* feature settings */
    const char *gl_iter, *format;                                /* synthesis */
    int wav;                                                     /* --wav */
} cli_audio;
extern const char cli_audio_help[];
/* Consume an audio flag at argv[*i] (as cli_data_arg). */
int cli_audio_arg(cli_audio *a, const char *cmd, int argc, char **argv, int *i);
/* A fresh bag of the feature settings: the model's audio front end
 * (dsn_model_audio) when it has one, the flags on top (a flag that
 * contradicts the model's front end is a usage error), frames and n_mels
 * from a sequence model m (may be NULL); synth adds the Griffin-Lim keys.
 * 0 ok, else exit code. */
int cli_audio_options(const cli_audio *a, const dsn_model *m, int synth, dsn_options **out);
/* Log-mel frames mel [T][D] -> Griffin-Lim audio -> a WAV file at path, with
 * the model's front end (m may be NULL) and the flags. */
int cli_wav_write(const cli_audio *a, const dsn_model *m, const char *path, const float *mel, size_t T, size_t D);
/* The sample_rate of a bag of audio settings (16000 when absent). */
int cli_audio_rate(const dsn_options *o);
/* Notes on how an audio dataset was built (short, silent, clipped, skipped
 * clips, masked and dropped frames): lines of the training log. */
void cli_audio_report(const dsn_dataset *ds);
/* Observations of a model from the data flags. Like cli_data_load, and also:
 * --audio FILE... (each clip's first T log-mel frames; a shorter clip is
 * zero-padded and *mask (n x T, free with free()) marks its valid frames;
 * *mask stays NULL when every clip fills T frames), and --audio DIR|CSV with
 * the model's frames and n_mels. mask may be NULL only if no files are given. */
int cli_data_load_for(const cli_data *d, const char *cmd, const cli_audio *a, const dsn_model *m,
                      dsn_dataset **out, float **mask);

/* ---- latent parts with codes (VQ-VAE) ---------------------------------------------- */
/* 1 if the model's part holds int32 codes (dsn_encoding_get_codes works), else 0. */
int cli_part_has_codes(const dsn_model *m, const char *part);
/* 1 if the model's observations are sequences [T, D] (then *T, *D are set). */
int cli_is_sequence(const dsn_model *m, size_t *T, size_t *D);
/* 0 if the model has a part called part; else prints which parts it has and
 * returns 2 (a usage error of subcommand cmd). */
int cli_require_part(const char *cmd, const dsn_model *m, const char *part);
/* 0 unless wav is set and the model's observations are not sequences [T, D]
 * (then a usage error of cmd, 2); *T and *D are set for sequences. */
int cli_require_wav_ok(const char *cmd, const dsn_model *m, int wav, size_t *T, size_t *D);
/* Write n decoded observations (obs, n * obs_size floats) to dir/name as a
 * float32 .npy of shape [n, obs_shape...]; path gets the file's path. */
int cli_write_obs_npy(const char *dir, const char *name, const dsn_model *m, const float *obs, size_t n, char *path,
                      size_t path_cap);

/* ---- .npy arrays (little-endian, C order) -------------------------------------
 * Writing: float32 or int32 with up to 4 dims, atomically enough for a CLI
 * (written in full, then closed). Reading: float32/float64/int32/int64 into a
 * fresh float or int32 array of prod(shape) values (free with free()). */
int cli_npy_write_f32(const char *path, const float *data, const size_t *shape, int ndim);
int cli_npy_write_i32(const char *path, const int32_t *data, const size_t *shape, int ndim);
/* Returns 0 on success; on failure prints a message and returns 1. */
int cli_npy_read_f32(const char *path, float **data, size_t *shape, int *ndim, int max_dim);
int cli_npy_read_i32(const char *path, int32_t **data, size_t *shape, int *ndim, int max_dim);
/* The element kind of a .npy file: 'f' (floats), 'i' (integers) or 0 (unreadable). */
char cli_npy_kind(const char *path);
/* 1 if path can be opened for reading. */
int cli_exists(const char *path);

/* ---- pictures ---------------------------------------------------------------------
 * How an observation is drawn: an image of h x w, or a spectrogram of a [T, D]
 * sequence (time to the right, first feature at the bottom). */
typedef struct cli_view {
    int kind;      /* 0 none (no picture), 1 image, 2 spectrogram */
    size_t h, w;   /* size of one cell in pixels */
    size_t T, D;   /* spectrogram: frames and features */
} cli_view;
/* Pick the view for a model's observations: --image HxW (may be NULL) wins;
 * one dim of square size: image; two dims [T, D]: spectrogram. */
int cli_view_for(const dsn_model *m, const char *image_hw, cli_view *v);
/* Write a grid of rows x cols cells; cell (r, c) is observation cells[r*cols+c]
 * (NULL leaves it blank). Values are shown as they are when they all lie in
 * [0, 1], otherwise scaled from the grid's min..max. 0 on success. */
int cli_grid_png(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols);
/* Texts of a labelled figure (each may be NULL): a title, captions over the
 * columns and down the rows, one label per row and per column, and the name
 * of the values (the colour bar). */
typedef struct cli_figure_text {
    const char *title, *col_title, *row_title, *value_label;
    const char *const *row_labels, *const *col_labels;
} cli_figure_text;
/* The spectrogram grid of sequence observations (v->kind 2; spectro.c):
 * rows x cols cells as in cli_grid_png, in colour with a colour bar, labels,
 * a time axis in seconds and a frequency axis in Hz from the audio settings
 * (sample_rate, hop_length, fmin, fmax, scale; NULL: frames and feature
 * rows). 0 on success. */
int cli_spectro_grid_png(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                         const cli_figure_text *text, const dsn_options *audio);
/* cli_spectro_grid_png with the audio settings of cli_figure_audio and the
 * row and column labels that label(ctx, is_col, index, buf, cap) writes
 * (up to 31 characters). 0 on success. */
typedef void (*cli_label_fn)(void *ctx, int is_col, size_t i, char *buf, size_t cap);
int cli_spectro_figure(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                       const char *title, const char *col_title, const char *row_title, cli_label_fn label, void *ctx,
                       const cli_audio *audio, const dsn_model *m);
/* A grid of observations (decode, sample): images through cli_grid_png,
 * sequences as a labelled spectrogram figure (cell r, c is observation
 * r * cols + c). 0 on success. */
int cli_obs_grid_png(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                     const char *title, const cli_audio *audio, const dsn_model *m);
/* The pictures and sounds of n observations obs of m written to folder out
 * (decode, sample): with a view, the grid out/png of cols columns (0: 16
 * images or 4 spectrograms a row) titled title; with --wav, out/wav_I.wav
 * for each [T, D] observation. Prints ", PATH" and ", N WAV files" after
 * the caller's line. 0 ok, else exit code (cmd names a failed allocation). */
int cli_obs_outputs(const char *cmd, const char *out, const char *png, const char *wav, const char *title,
                    const cli_view *v, size_t cols, const float *obs, size_t n, size_t T, size_t D,
                    const cli_audio *audio, const dsn_model *m);
/* The audio settings a figure of m's observations is labelled with: the
 * model's front end and the audio flags (cli_audio_options), or NULL (in
 * *out) when there are neither. 0 ok, else exit code. */
int cli_figure_audio(const cli_audio *a, const dsn_model *m, dsn_options **out);
/* The same grid on a white page with a title (lines separated by '\n'),
 * col_label over the columns and row_label down the rows: cells of row 0 and
 * column 0 are the header (the sources), set off by grey rules; the font is
 * tools/common/label_grid.h's. 0 on success. */
int cli_grid_png_labelled(const char *path, const cli_view *v, const float *const *cells, size_t rows, size_t cols,
                          const char *title, const char *col_label, const char *row_label);
/* 8-bit grey PNG (stored deflate blocks). 0 on success. */
int cli_png_write(const char *path, const unsigned char *pix, size_t w, size_t h);

#endif /* DISENT_CLI_H */
