/* simd_gemm_w.h - the small-matrix gemm kernels of simd_gemm.c, written once
 * and compiled per vector width (see simd_vec.h). No include guard on purpose.
 *
 * Two products share one register-blocked kernel: C[M,N] = act(A[M,K] B[K,N]
 * (+ C) (+ bias)) for narrow layers, and C[K,N] = A[M,K]^T B[M,N] (+ C) for
 * their weight gradients. The kernel reads the left operand through strides,
 * element (r, k) at A[r rs + k ks]: (lda, 1) for A, (1, lda) for A^T; both
 * callers pass constants, and the kernel is inlined, so each product
 * compiles to its own loops. Column blocks of GS_FULL vectors (AVX-512: 4,
 * 64 columns; AVX2: 2, 16 columns: the 16 registers hold 12 accumulators),
 * 6 rows at a time; with AVX-512 a last block of 65..80 columns is taken as 5
 * vectors, 4 rows at a time (at most 24 accumulators). Per k one broadcast of
 * the left operand per row and one load per vector of the B row, which stays
 * in L1 (K N small). No packing. Each C element is act(((sum_k A B in k
 * order, from 0) + C) + bias): its value depends neither on its position nor
 * on M, N, nor on the width, so both levels give the same bits. */
#undef GS_NV
#undef GS_FULL
#if DSI_VW == 16
#define GS_NV 5
#define GS_FULL 4
#else
#define GS_NV 2
#define GS_FULL 2
#endif

/* One step k of a block's accumulation, shared by gs_block and gt_block: the
 * B row k (masked on a ragged block), then acc[r][v] += A(r, k) B(k, v) for
 * the R rows and nv vectors; AIDX is the left operand's index of (r, k). A
 * macro, not a function, so both kernels compile to exactly their own loops. */
#undef GS_KSTEP
#define GS_KSTEP(k, AIDX)                                                                                      \
    do {                                                                                                       \
        vecf bv[GS_NV];                                                                                        \
        _Pragma("GCC unroll 8") for (int v = 0; v < GS_NV; v++) bv[v] =                                        \
            v >= nv ? vzero() : full ? vload(B + (size_t)(k) * ldb + DSI_VW * v)                               \
                                     : vloadm(mk[v], B + (size_t)(k) * ldb + DSI_VW * v);                      \
        _Pragma("GCC unroll 8") for (int r = 0; r < 6; r++) if (r < R) {                                       \
            const vecf a = vset1(A[AIDX]);                                                                     \
            _Pragma("GCC unroll 8") for (int v = 0; v < GS_NV; v++) if (v < nv) acc[r][v] =                    \
                vfmadd(a, bv[v], acc[r][v]);                                                                   \
        }                                                                                                      \
    } while (0)

static inline __attribute__((always_inline)) VT void VN(gs_block)(int R, int nv, int full, const vmask *mk, int K,
                                                                   const float *A, size_t rs, size_t ks,
                                                                   const float *B, int ldb, int beta, float *C,
                                                                   int ldc, const float *bias, int act)
{
    vecf acc[6][GS_NV];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < GS_NV; v++) acc[r][v] = vzero();
    for (int k = 0; k < K; k++) GS_KSTEP(k, (size_t)r * rs + (size_t)k * ks);
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        if (r < R)
            _Pragma("GCC unroll 8")
            for (int v = 0; v < GS_NV; v++)
                if (v < nv) {
                    float *c = C + (size_t)r * ldc + DSI_VW * v;
                    vecf x = acc[r][v];
                    if (beta) x = vadd(x, vloadm(mk[v], c));
                    if (bias) x = vadd(x, vloadm(mk[v], bias + DSI_VW * v));
                    if (act == DSI_GS_RELU) x = vmax(x, vzero());
                    else if (act == DSI_GS_TANH) x = vtanh(x);
                    vstorem(c, mk[v], x);
                }
}

/* The blocking of both panels over C's N columns and ROWS_ rows: column
 * blocks of nv vectors (w columns; masks mk for the tail; Bj = B + j), in
 * each full blocks of rows from i = 0 (4 rows of GS_NV vectors, else 6), then
 * the last 1-5 rows, each block by the panel's BLOCK_(rows, vectors, whole):
 * whole = 1 when the column block has no tail (B rows loaded without masks
 * in the k loop). The rest (a declaration) comes before the row blocks of
 * each column block. */
#undef GS_BLOCKS
#define GS_BLOCKS(ROWS_, BLOCK_, ...)                                                                               \
    for (int j = 0; j < N;) {                                                                                      \
        const int left = N - j;                                                                                    \
        const int nv = left > GS_FULL * DSI_VW && left <= GS_NV * DSI_VW ? GS_NV                                   \
                       : left >= GS_FULL * DSI_VW                        ? GS_FULL                                 \
                                                                         : (left + DSI_VW - 1) / DSI_VW;          \
        const int w = left < DSI_VW * nv ? left : DSI_VW * nv;                                                     \
        vmask mk[GS_NV];                                                                                           \
        for (int v = 0; v < GS_NV; v++) {                                                                          \
            const int l = w - DSI_VW * v;                                                                          \
            mk[v] = vtail(l > 0 ? l : 0);                                                                          \
        }                                                                                                          \
        const float *Bj = B + j;                                                                                   \
        __VA_ARGS__;                                                                                               \
        int i = 0;                                                                                                 \
        const int whole = w == DSI_VW * nv;                                                                        \
        if (GS_NV > GS_FULL && nv == GS_NV) {                                                                      \
            if (whole)                                                                                             \
                for (; i + 4 <= (ROWS_); i += 4) BLOCK_(4, GS_NV, 1);                                              \
            else                                                                                                   \
                for (; i + 4 <= (ROWS_); i += 4) BLOCK_(4, GS_NV, 0);                                              \
        } else if (nv == GS_FULL) {                                                                                \
            if (whole)                                                                                             \
                for (; i + 6 <= (ROWS_); i += 6) BLOCK_(6, GS_FULL, 1);                                            \
            else                                                                                                   \
                for (; i + 6 <= (ROWS_); i += 6) BLOCK_(6, GS_FULL, 0);                                            \
        } else if (whole) {                                                                                        \
            for (; i + 6 <= (ROWS_); i += 6) BLOCK_(6, nv, 1);                                                     \
        } else {                                                                                                   \
            for (; i + 6 <= (ROWS_); i += 6) BLOCK_(6, nv, 0);                                                     \
        }                                                                                                          \
        switch ((ROWS_) - i) {                                                                                     \
        case 5: BLOCK_(5, nv, 0); break;                                                                           \
        case 4: BLOCK_(4, nv, 0); break;                                                                           \
        case 3: BLOCK_(3, nv, 0); break;                                                                           \
        case 2: BLOCK_(2, nv, 0); break;                                                                           \
        case 1: BLOCK_(1, nv, 0); break;                                                                           \
        default: break;                                                                                            \
        }                                                                                                          \
        j += w;                                                                                                    \
    }

/* C[M, N] from rows of the left operand (M rows, K deep): column blocks, full
 * blocks of rows, then the last 1-5 rows */
static inline __attribute__((always_inline)) VT void VN(gs_panel)(int M, int N, int K, const float *A, size_t rs,
                                                                   size_t ks, const float *B, int ldb, int beta,
                                                                   float *C, int ldc, const float *bias, int act)
{
#define GS_ATF(R_, NV_, F_)                                                                                         \
    VN(gs_block)(R_, NV_, F_, mk, K, A + (size_t)i * rs, rs, ks, Bj, ldb, beta, C + (size_t)i * ldc + j, ldc, bj, act)
    GS_BLOCKS(M, GS_ATF, const float *bj = bias ? bias + j : NULL)
#undef GS_ATF
}

static VT void VN(gemm_small)(int M, int N, int K, const float *A, int lda, const float *B, int ldb, int beta,
                              float *C, int ldc, const float *bias, int act)
{
    /* the linear layers' cases compiled on their own, with the write-back's
     * choices constant (no branches between the blocks' activations) */
    if (!beta && bias && act == DSI_GS_TANH)
        VN(gs_panel)(M, N, K, A, (size_t)lda, 1, B, ldb, 0, C, ldc, bias, DSI_GS_TANH);
    else if (!beta && bias && act == DSI_GS_NONE)
        VN(gs_panel)(M, N, K, A, (size_t)lda, 1, B, ldb, 0, C, ldc, bias, DSI_GS_NONE);
    else
        VN(gs_panel)(M, N, K, A, (size_t)lda, 1, B, ldb, beta, C, ldc, bias, act);
}

/* One block of the transposed product over the inner rows [0, Ms) of a
 * sub-chunk: the accumulators start from 0 (first) or from the partial sums
 * parked in P (ld pld, full vectors), and end in P, or (last) in C as
 * acc (+ C if beta). Parking and reloading a float is exact, so a chunk's sum
 * is the one of a single k loop over it. */
static inline __attribute__((always_inline)) VT void VN(gt_block)(int R, int nv, int full, const vmask *mk, int Ms,
                                                                   const float *A, size_t lda, const float *B,
                                                                   int ldb, float *P, int pld, int first, int last,
                                                                   int beta, float *C, int ldc)
{
    vecf acc[6][GS_NV];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        _Pragma("GCC unroll 8")
        for (int v = 0; v < GS_NV; v++)
            acc[r][v] = r < R && v < nv && !first ? vload(P + (size_t)r * pld + DSI_VW * v) : vzero();
    for (int k = 0; k < Ms; k++) GS_KSTEP(k, (size_t)r + (size_t)k * lda);
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 6; r++)
        if (r < R)
            _Pragma("GCC unroll 8")
            for (int v = 0; v < GS_NV; v++)
                if (v < nv) {
                    if (!last) {
                        vstore(P + (size_t)r * pld + DSI_VW * v, acc[r][v]);
                        continue;
                    }
                    float *c = C + (size_t)r * ldc + DSI_VW * v;
                    vecf x = acc[r][v];
                    if (beta) x = vadd(x, vloadm(mk[v], c));
                    vstorem(c, mk[v], x);
                }
}

/* C[K,N] (+)= A[Ms rows, K]^T B[Ms, N] over one sub-chunk: the blocks of
 * gs_panel (column blocks, 6 rows, 4 x 5 vectors on AVX-512), each through
 * gt_block */
static inline __attribute__((always_inline)) VT void VN(gt_panel)(int K, int N, int Ms, const float *A, size_t lda,
                                                                   const float *B, int ldb, float *P, int pld,
                                                                   int first, int last, int beta, float *C, int ldc)
{
#define GT_ATF(R_, NV_, F_)                                                                                        \
    VN(gt_block)(R_, NV_, F_, mk, Ms, A + i, lda, Bj, ldb, P + (size_t)i * pld + j, pld, first, last, beta,         \
                 C + (size_t)i * ldc + j, ldc)
    GS_BLOCKS(K, GT_ATF, (void)0)
#undef GT_ATF
}

/* C[K,N] = A[M,K]^T B[M,N] (+ C): the long inner dimension M is cut into
 * chunks of GT_CHUNK rows; each chunk's product is summed from 0 in order
 * and added to C. An element is ((C + s_0) + s_1) + ... over the chunks:
 * fixed for a given M, independent of its position. A chunk is walked in
 * sub-chunks of Ms rows whose A and B rows fit in L1 together (all blocks of
 * C pass over one sub-chunk before the next), the blocks' partial sums parked
 * in P between sub-chunks (K, N <= 128: at most 64 KiB on the stack); a
 * chunk of 256 rows of B alone (64 columns: 64 KiB) does not fit in L1. */
static VT void VN(gemm_small_tn)(int K, int N, int M, const float *A, int lda, const float *B, int ldb, int beta,
                                 float *C, int ldc)
{
    const int pld = (N + DSI_VW - 1) / DSI_VW * DSI_VW;
    float P[128 * 128] __attribute__((aligned(64)));
    /* bytes of one inner row touched: N floats of B, the K floats of A (whole lines) */
    const int rowb = 4 * N + ((4 * K + 63) / 64 + 1) * 64;
    int Ms = 24576 / rowb;
    Ms = Ms < 16 ? 16 : Ms > GT_CHUNK ? GT_CHUNK : Ms & ~7;
    for (int m0 = 0; m0 < M; m0 += GT_CHUNK) {
        const int Mc = M - m0 < GT_CHUNK ? M - m0 : GT_CHUNK, bt = beta || m0 > 0;
        for (int s0 = 0; s0 < Mc; s0 += Ms) {
            const int n = Mc - s0 < Ms ? Mc - s0 : Ms;
            VN(gt_panel)(K, N, n, A + (size_t)(m0 + s0) * lda, (size_t)lda, B + (size_t)(m0 + s0) * ldb, ldb, P,
                         pld, s0 == 0, s0 + n == Mc, bt, C, ldc);
        }
    }
}
