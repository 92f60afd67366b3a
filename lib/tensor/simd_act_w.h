/* simd_act_w.h - the activation kernels of simd.c, written once and compiled
 * per vector width (included by simd.c after simd_vec.h, once with DSI_VW 16
 * and once with 8; see simd_vec.h). No include guard on purpose. */

/* y = f(x): full vectors, then one masked tail */
#define UNARY_W(name, expr)                                                                                       \
    static VT void VN(name)(const float *x, float *y, size_t n)                                                  \
    {                                                                                                             \
        size_t k = 0;                                                                                             \
        for (; k + DSI_VW <= n; k += DSI_VW) {                                                                    \
            vecf v = vload(x + k);                                                                                \
            vstore(y + k, expr);                                                                                  \
        }                                                                                                         \
        if (k < n) {                                                                                              \
            const vmask mk = vtail(n - k);                                                                        \
            vecf v = vloadm(mk, x + k);                                                                           \
            vstorem(y + k, mk, expr);                                                                             \
        }                                                                                                         \
    }
UNARY_W(tanh, vtanh(v))
UNARY_W(sigm, vsigm(v))
UNARY_W(relu, vmax(v, vzero()))

/* gz = f'(y) gy, from the op's output y */
#define BINARY_W(name, expr)                                                                                      \
    static VT void VN(name)(const float *y, const float *gy, float *gz, size_t n)                                \
    {                                                                                                             \
        size_t k = 0;                                                                                             \
        for (; k + DSI_VW <= n; k += DSI_VW) {                                                                    \
            vecf v = vload(y + k), g = vload(gy + k);                                                             \
            vstore(gz + k, expr);                                                                                 \
        }                                                                                                         \
        if (k < n) {                                                                                              \
            const vmask mk = vtail(n - k);                                                                        \
            vecf v = vloadm(mk, y + k), g = vloadm(mk, gy + k);                                                   \
            vstorem(gz + k, mk, expr);                                                                            \
        }                                                                                                         \
    }
BINARY_W(relu_grad, vsel(vcmp(v, vzero(), _CMP_GT_OQ), g))
BINARY_W(tanh_grad, vmul(g, vsub(vset1(1.0f), vmul(v, v))))
BINARY_W(sigm_grad, vmul(vmul(g, v), vsub(vset1(1.0f), v)))

/* gx += (x > 0 ? gy : 0) and gx += gy (1 - y^2), accumulating (the unary op's backward) */
#define ACC_W(name, expr)                                                                                         \
    static VT void VN(name)(const float *v_, const float *gy, float *gx, size_t n)                               \
    {                                                                                                             \
        for (size_t k = 0; k < n; k += DSI_VW) {                                                                  \
            const vmask mk = vtail(n - k);                                                                        \
            const vecf v = vloadm(mk, v_ + k), g = vloadm(mk, gy + k);                                            \
            vstorem(gx + k, mk, vadd(vloadm(mk, gx + k), expr));                                                  \
        }                                                                                                         \
    }
ACC_W(relu_gacc, vsel(vcmp(v, vzero(), _CMP_GT_OQ), g))
ACC_W(tanh_gacc, vmul(g, vsub(vset1(1.0f), vmul(v, v))))

#undef UNARY_W
#undef BINARY_W
#undef ACC_W
