/* minimal.c - the smallest C host of libdisent: load a trained model, encode
 * two observations, swap one latent part between them, decode.
 *
 *   minimal MODEL [X.npy] [PART]
 *
 * X.npy gives the two observations (its first two rows); without it two
 * synthetic ones are used. PART defaults to the model's first part (ML-VAE:
 * "content"). The output is the same, number for number, as minimal_cxx's. */
#include <disent.h>

#include "example_args.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: minimal MODEL [X.npy] [PART]\n");
        return 2;
    }
    dsn_model *m;
    CHECK(dsn_model_load(&m, argv[1]));
    size_t n = host_info(m).obs_size;
    const char *part = argc > 3 ? argv[3] : host_part(m, 0).name;
    printf("model: %s, %zu floats per observation, %d parts\n", host_info(m).family, n, host_info(m).num_parts);

    /* two observations, a and b */
    float *x = malloc(2 * n * sizeof *x), *out = malloc(2 * n * sizeof *out);
    if (argc > 2) {
        dsn_dataset *ds;
        CHECK(dsn_dataset_from_npy(&ds, argv[2], NULL));
        CHECK(dsn_dataset_get(ds, x, n, NULL, 0));
        CHECK(dsn_dataset_get(ds, x + n, n, NULL, 1));
        dsn_dataset_free(ds);
    } else {
        for (size_t i = 0; i < n; i++) {
            x[i] = (float)(i % 7) / 7.0f;
            x[n + i] = (float)(i % 3) / 3.0f;
        }
    }

    /* a session (scratch) and one encoding per observation */
    dsn_session *s;
    dsn_encoding *a, *b;
    CHECK(dsn_session_create(&s, m, 1));
    CHECK(dsn_encoding_create(&a, m, 1));
    CHECK(dsn_encoding_create(&b, m, 1));
    CHECK(dsn_encode(s, a, x, 1, NULL));
    CHECK(dsn_encode(s, b, x + n, 1, NULL));

    size_t rows, dim;
    CHECK(dsn_encoding_get(b, NULL, 0, &rows, &dim, part, "value"));
    float *before = malloc(rows * dim * sizeof *before), *after = malloc(rows * dim * sizeof *after);
    CHECK(dsn_encoding_get(b, before, rows * dim, NULL, NULL, part, "value"));
    printf("part '%s' of b: %zu x %zu, first value %.6f\n", part, rows, dim, before[0]);

    /* swap the part: a gets b's, b gets a's */
    CHECK(dsn_swap(a, b, part));
    CHECK(dsn_encoding_get(a, after, rows * dim, NULL, NULL, part, "value"));
    printf("swap: a now holds b's '%s': %s\n", part, memcmp(before, after, rows * dim * sizeof *after) ? "FAILED" : "ok");

    /* decode both: a = (part of b, rest of a), b = (part of a, rest of b) */
    CHECK(dsn_decode(s, out, n, a));
    CHECK(dsn_decode(s, out + n, n, b));
    for (int k = 0; k < 2; k++) {
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += out[(size_t)k * n + i];
        printf("decoded %c: sum %.6f, first %.6f, finite %s\n", k ? 'b' : 'a', sum, out[(size_t)k * n],
               isfinite(sum) ? "yes" : "no");
    }

    free(before);
    free(after);
    free(x);
    free(out);
    dsn_encoding_free(a);
    dsn_encoding_free(b);
    dsn_session_free(s);
    dsn_model_free(m);
    return 0;
}
