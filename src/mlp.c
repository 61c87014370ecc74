/* mlp.c: forward pass and backpropagation of the trained network (mlp.h).
 * Small kernels along the batch rather than BLAS: at the widths trained
 * (2-64) a GEMM call costs more than its arithmetic, and fixed loops keep
 * every network's summation order its own. */
#include "lyapdiag/mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"
#include "variates.h"

/* The vector helpers below are always inlined into the ISA builds: no call
 * crosses an ABI boundary, so the psabi note does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

struct lyap_mlp_workspace {
    int batch, layers;   /* layers = L + 2 */
    const double *input; /* the last forward pass's x */
    double **act;        /* [layers]: layer i's outputs, rows x batch */
    double *delta, *back; /* width-or-n_out x batch each: gradients of the current and previous layer */
    double *wz;           /* one layer's weights as the combine kernel reads them (broadcast) */
};

lyap_mlp_layer lyap_mlp_layer_of(const lyap_mlp_shape *s, int i)
{
    size_t d = (size_t)s->width, first = d * s->n_in + d, hidden = d * d + d;
    if (i == 0)
        return (lyap_mlp_layer){0, d * s->n_in, s->width, s->n_in};
    if (i <= s->depth)
        return (lyap_mlp_layer){first + (i - 1) * hidden, first + (i - 1) * hidden + d * d, s->width, s->width};
    size_t at = first + (size_t)s->depth * hidden;
    return (lyap_mlp_layer){at, at + (size_t)s->n_out * d, s->n_out, s->width};
}

size_t lyap_mlp_parameter_count(const lyap_mlp_shape *s)
{
    lyap_mlp_layer out = lyap_mlp_layer_of(s, s->depth + 1);
    return out.b + (size_t)s->n_out;
}

int lyap_mlp_workspace_create(const lyap_mlp_shape *s, int batch, lyap_mlp_workspace **out)
{
    *out = NULL;
    if (s->n_in < 1 || s->width < 1 || s->depth < 0 || s->n_out < 1 || batch < 1 || !(s->slope >= 0 && s->slope <= 1))
        return lyap_fail(LYAP_EINTERNAL, "mlp: bad shape (n_in %d, width %d, depth %d, n_out %d, slope %g, batch %d)",
                         s->n_in, s->width, s->depth, s->n_out, s->slope, batch);
    lyap_mlp_workspace *ws;
    LYAP_CALL(lyap_alloc(&ws, 1, sizeof *ws, "network workspace"));
    ws->batch = batch;
    ws->layers = s->depth + 2;
    size_t rows = (size_t)(s->width > s->n_out ? s->width : s->n_out);
    int status = lyap_alloc(&ws->act, (size_t)ws->layers, sizeof *ws->act, "activations");
    for (int i = 0; status == LYAP_OK && i < ws->layers; i++)
        status = lyap_alloc(&ws->act[i], (size_t)lyap_mlp_layer_of(s, i).rows * batch, sizeof **ws->act,
                            "activations");
    if (status == LYAP_OK)
        status = lyap_alloc(&ws->delta, rows * batch, sizeof *ws->delta, "gradients");
    if (status == LYAP_OK)
        status = lyap_alloc(&ws->back, rows * batch, sizeof *ws->back, "gradients");
    if (status == LYAP_OK) /* the largest layer, d x max(n_in, d, n_out), in vectors of 8 */
        status = lyap_alloc(&ws->wz, (size_t)s->width * (size_t)(s->n_in > (int)rows ? s->n_in : (int)rows) * 8,
                            sizeof *ws->wz, "weights");
    if (status != LYAP_OK)
        lyap_mlp_workspace_destroy(&ws);
    *out = ws;
    return status;
}

void lyap_mlp_workspace_destroy(lyap_mlp_workspace **ws)
{
    if (!ws || !*ws)
        return;
    for (int i = 0; (*ws)->act && i < (*ws)->layers; i++)
        free((*ws)->act[i]);
    free((*ws)->act);
    free((*ws)->delta);
    free((*ws)->back);
    free((*ws)->wz);
    free(*ws);
    *ws = NULL;
}

/* ---- kernels ------------------------------------------------------------------
 * Every output element is an ordered sum (init + sum over the inner index
 * ascending, or 8 fixed lanes j mod 8 for the sums over the batch), so the
 * blocking and the vector width change speed only: the ISA builds give
 * the same bits (variates.h). Blocks of 4, 2 or 1 outputs x 16 batch
 * entries run in GCC vector types (one AVX-512 register, two AVX2 or four SSE2
 * ones, the same lane-wise IEEE arithmetic); the edges run the same sums
 * in scalars. */
enum { LANES = 8, ROWS = 4 };
typedef double v8 __attribute__((vector_size(LANES * sizeof(double))));
typedef double v8u __attribute__((vector_size(LANES * sizeof(double)), aligned(sizeof(double)), may_alias));
typedef long long m8 __attribute__((vector_size(LANES * sizeof(double))));

static inline __attribute__((always_inline)) v8 load(const double *p)
{
    return *(const v8u *)p;
}

static inline __attribute__((always_inline)) void store(double *p, v8 v)
{
    *(v8u *)p = v;
}

/* Lane-wise TRUE_ where MASK, else FALSE_. */
static inline __attribute__((always_inline)) v8 select8(m8 mask, v8 true_, v8 false_)
{
    return (v8)((mask & (m8)true_) | (~mask & (m8)false_));
}

/* a b + c rounded once (a fused multiply-add), lane-wise, in every build:
 * the AVX builds (with FMA) vectorize fma() into their FMA instruction,
 * the SSE2 build calls C's fma(), which rounds the same (correctly) in
 * software; so the builds keep one set of bits, and the AVX ones do half
 * the additions' work. */
static inline __attribute__((always_inline)) v8 madd(v8 a, v8 b, v8 c)
{
    v8 r;
    for (int t = 0; t < LANES; t++)
        r[t] = __builtin_fma(a[t], b[t], c[t]);
    return r;
}

/* phi, or the factor phi' of a post-activation, lane-wise: a select of v
 * and slope v (v 1 = v exactly), one compare and one multiply. */
static inline __attribute__((always_inline)) v8 finish8(v8 v, const double *gate, int activate, double slope)
{
    if (activate)
        v = select8(v > 0, v, slope * v);
    if (gate)
        v = select8(load(gate) > 0, v, slope * v);
    return v;
}

static inline __attribute__((always_inline)) double finish1(double v, const double *gate, int activate, double slope)
{
    if (activate)
        v = v > 0 ? v : slope * v;
    if (gate)
        v *= *gate > 0 ? 1.0 : slope;
    return v;
}

/* R (1, 2 or 4) outputs from O on x C vectors (1, 2 or 4: 8 to 32 batch
 * entries from J on), R C independent chains of additions in registers
 * (constant R, C and fully unrolled loops: the arrays become registers).
 * WZ holds the weights broadcast, vector i NOUT + o (combine_body). */
static inline __attribute__((always_inline)) void combine_block(int r, int c, int o, int j, int nin, int nout,
                                                                const double *wz, const double *init,
                                                                const double *in, int batch, double *out,
                                                                int activate, const double *gate, double slope)
{
    v8 acc[4][4];
#pragma GCC unroll 4
    for (int k = 0; k < r; k++)
#pragma GCC unroll 4
        for (int q = 0; q < c; q++)
            acc[k][q] = (v8){0} + (init ? init[o + k] : 0.0);
    for (int i = 0; i < nin; i++) {
        const double *xi = in + (size_t)i * batch + j, *wi = wz + ((size_t)i * nout + o) * LANES;
        v8 x[4];
#pragma GCC unroll 4
        for (int q = 0; q < c; q++)
            x[q] = load(xi + q * LANES);
#pragma GCC unroll 4
        for (int k = 0; k < r; k++) {
            v8 w = load(wi + k * LANES);
#pragma GCC unroll 4
            for (int q = 0; q < c; q++)
                acc[k][q] = madd(w, x[q], acc[k][q]);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < r; k++)
#pragma GCC unroll 4
        for (int q = 0; q < c; q++) {
            size_t at = (size_t)(o + k) * batch + j + (size_t)q * LANES;
            store(out + at, finish8(acc[k][q], gate ? gate + at : NULL, activate, slope));
        }
}

/* All outputs at batch entries J..J+8C-1, in blocks of 4, 2, 1 rows. */
static inline __attribute__((always_inline)) void combine_cols(int c, int j, int nout, int nin, const double *wz,
                                                               const double *init, const double *in, int batch,
                                                               double *out, int activate, const double *gate,
                                                               double slope)
{
    int o = 0;
    for (; o + 4 <= nout; o += 4)
        combine_block(4, c, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
    for (; o + 2 <= nout; o += 2)
        combine_block(2, c, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
    for (; o < nout; o++)
        combine_block(1, c, o, j, nin, nout, wz, init, in, batch, out, activate, gate, slope);
}

/* OUT[o][j] = INIT[o] (or 0 without INIT) + sum_i W(o, i) IN[i][j], i
 * ascending, W(o, i) = w[o SO + i SI]; then, if ACTIVATE, phi with SLOPE,
 * or, if GATE, times phi'(GATE[o][j]) (1 where > 0, else SLOPE).
 * The batch entries below the last multiple of 16 run in vectors, the
 * rest in scalars. The vectors multiply by W(o, i) broadcast as
 * (v8){0} + W(o, i) (so a -0 weight counts as +0 there, as in the
 * kernels before), done once per call into WZ (nout nin vectors, input
 * by input): the inner loops then only load and multiply-add (a scalar
 * broadcast in the loop became shuffles). */
static inline __attribute__((always_inline)) void combine_body(int nout, int nin, const double *w, int so, int si,
                                                               const double *init, const double *in, int batch,
                                                               double *out, int activate, const double *gate,
                                                               double slope, double *wz)
{
    int full_j = batch - batch % (2 * LANES), j = 0;
    if (full_j > 0)
        for (int i = 0; i < nin; i++)
            for (int o = 0; o < nout; o++)
                store(wz + ((size_t)i * nout + o) * LANES, (v8){0} + w[(size_t)o * so + (size_t)i * si]);
    for (; j + 4 * LANES <= full_j; j += 4 * LANES)
        combine_cols(4, j, nout, nin, wz, init, in, batch, out, activate, gate, slope);
    for (; j < full_j; j += 2 * LANES)
        combine_cols(2, j, nout, nin, wz, init, in, batch, out, activate, gate, slope);
    for (int o = 0; o < nout; o++) /* the batch entries past the last full chunk */
        for (j = full_j; j < batch; j++) {
            double acc = init ? init[o] : 0.0;
            for (int i = 0; i < nin; i++)
                acc = __builtin_fma(w[(size_t)o * so + (size_t)i * si], in[(size_t)i * batch + j], acc);
            size_t at = (size_t)o * batch + j;
            out[at] = finish1(acc, gate ? gate + at : NULL, activate, slope);
        }
}

/* G[r][c] = sum_j A[r][j] B[c][j] and, if GB, GB[r] = sum_j A[r][j] (or 0
 * if ZERO_B): each sum in 8 lanes j mod 8 (for G, even and odd chunks of 8
 * apart, then added), then ((0+1)+(2+3))+((4+5)+(6+7)). */
static inline __attribute__((always_inline)) double fold(v8 lane)
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

static inline __attribute__((always_inline)) void outer_body(int rows, int cols, const double *a, const double *b,
                                                             int batch, double *g, double *gb, int zero_b)
{
    int full = batch - batch % LANES, full_c = cols - cols % ROWS;
    for (int r = 0; r < rows; r++) {
        const double *ar = a + (size_t)r * batch;
        /* four columns at once: four independent chains of additions */
        for (int c = 0; c < full_c; c += ROWS) {
            const double *b0 = b + (size_t)c * batch, *b1 = b0 + batch, *b2 = b1 + batch, *b3 = b2 + batch;
            /* even and odd chunks of 8 in separate lanes: 8 chains of additions */
            v8 l0 = {0}, l1 = {0}, l2 = {0}, l3 = {0}, m0 = {0}, m1 = {0}, m2 = {0}, m3 = {0};
            int j = 0;
            for (; j + 2 * LANES <= full; j += 2 * LANES) {
                v8 x = load(ar + j), y = load(ar + j + LANES);
                l0 = madd(x, load(b0 + j), l0), l1 = madd(x, load(b1 + j), l1);
                l2 = madd(x, load(b2 + j), l2), l3 = madd(x, load(b3 + j), l3);
                m0 = madd(y, load(b0 + j + LANES), m0), m1 = madd(y, load(b1 + j + LANES), m1);
                m2 = madd(y, load(b2 + j + LANES), m2), m3 = madd(y, load(b3 + j + LANES), m3);
            }
            for (; j < full; j += LANES) {
                v8 x = load(ar + j);
                l0 = madd(x, load(b0 + j), l0), l1 = madd(x, load(b1 + j), l1);
                l2 = madd(x, load(b2 + j), l2), l3 = madd(x, load(b3 + j), l3);
            }
            for (j = full; j < batch; j++)
                l0[j - full] = __builtin_fma(ar[j], b0[j], l0[j - full]),
                l1[j - full] = __builtin_fma(ar[j], b1[j], l1[j - full]),
                l2[j - full] = __builtin_fma(ar[j], b2[j], l2[j - full]),
                l3[j - full] = __builtin_fma(ar[j], b3[j], l3[j - full]);
            double *gr = g + (size_t)r * cols + c;
            gr[0] = fold(l0 + m0), gr[1] = fold(l1 + m1), gr[2] = fold(l2 + m2), gr[3] = fold(l3 + m3);
        }
        for (int c = full_c; c < cols; c++) {
            const double *bc = b + (size_t)c * batch;
            v8 lane = {0};
            for (int j = 0; j < full; j += LANES)
                lane = madd(load(ar + j), load(bc + j), lane);
            for (int j = full; j < batch; j++)
                lane[j - full] = __builtin_fma(ar[j], bc[j], lane[j - full]);
            g[(size_t)r * cols + c] = fold(lane);
        }
        if (gb) {
            v8 lane = {0};
            for (int j = 0; j < full; j += LANES)
                lane += load(ar + j);
            for (int j = full; j < batch; j++)
                lane[j - full] += ar[j];
            gb[r] = zero_b ? 0.0 : fold(lane);
        }
    }
}

#define COMBINE_PARAMS                                                                                            \
    (int nout, int nin, const double *w, int so, int si, const double *init, const double *in, int batch,          \
     double *out, int activate, const double *gate, double slope, double *wz)
ISA_VARIANTS(combine, COMBINE_PARAMS,
             combine_body(nout, nin, w, so, si, init, in, batch, out, activate, gate, slope, wz))
ISA_VARIANTS(outer, (int rows, int cols, const double *a, const double *b, int batch, double *g, double *gb,
                     int zero_b),
             outer_body(rows, cols, a, b, batch, g, gb, zero_b))

typedef void(*combine_fn) COMBINE_PARAMS;
typedef void (*outer_fn)(int, int, const double *, const double *, int, double *, double *, int);

/* The ISA the kernels run: the widest this CPU has, unless a test forces
 * one (lyap_mlp_force_isa, variates.h). */
static lyap_variates_isa forced_isa = LYAP_ISA_UNKNOWN;

void lyap_mlp_force_isa(lyap_variates_isa isa)
{
    forced_isa = isa;
}

static lyap_variates_isa kernel_isa(void)
{
    static lyap_variates_isa best = LYAP_ISA_UNKNOWN;
    if (best == LYAP_ISA_UNKNOWN)
        best = lyap_variates_best_isa();
    return forced_isa != LYAP_ISA_UNKNOWN ? forced_isa : best;
}

static combine_fn combine_kernel(void)
{
    lyap_variates_isa isa = kernel_isa();
    return isa == LYAP_ISA_AVX512 ? combine_avx512 : isa == LYAP_ISA_AVX2 ? combine_avx2 : combine_sse2;
}

static outer_fn outer_kernel(void)
{
    lyap_variates_isa isa = kernel_isa();
    return isa == LYAP_ISA_AVX512 ? outer_avx512 : isa == LYAP_ISA_AVX2 ? outer_avx2 : outer_sse2;
}

/* ---- the network ------------------------------------------------------------- */

void lyap_mlp_forward(const lyap_mlp_shape *s, const double *params, const double *x, int batch,
                      lyap_mlp_workspace *ws, double *y)
{
    combine_fn combine = combine_kernel();
    ws->input = x;
    const double *in = x;
    for (int i = 0; i < ws->layers; i++) {
        lyap_mlp_layer l = lyap_mlp_layer_of(s, i);
        combine(l.rows, l.cols, params + l.w, l.cols, 1, params + l.b, in, batch, ws->act[i], i <= s->depth, NULL,
                s->slope, ws->wz);
        in = ws->act[i];
    }
    memcpy(y, ws->act[ws->layers - 1], sizeof *y * (size_t)s->n_out * batch);
}

double lyap_mlp_backward(const lyap_mlp_shape *s, const double *params, const double *t, int batch,
                         lyap_mlp_workspace *ws, double *grad)
{
    combine_fn combine = combine_kernel();
    outer_fn outer = outer_kernel();
    int last = ws->layers - 1;
    size_t outputs = (size_t)s->n_out * batch;
    const double *y = ws->act[last];
    double loss = 0, scale = 2.0 / (double)outputs;
    for (size_t j = 0; j < outputs; j++) {
        double e = y[j] - t[j];
        loss += e * e;
        ws->delta[j] = scale * e;
    }
    for (int i = last; i >= 0; i--) {
        lyap_mlp_layer l = lyap_mlp_layer_of(s, i);
        const double *in = i > 0 ? ws->act[i - 1] : ws->input;
        outer(l.rows, l.cols, ws->delta, in, batch, grad + l.w, grad + l.b, !s->biases);
        if (i == 0)
            break;
        /* back = W^T delta (rows ascending), through phi' of layer i - 1 */
        combine(l.cols, l.rows, params + l.w, 1, l.cols, NULL, ws->delta, batch, ws->back, 0, in, s->slope, ws->wz);
        double *swap = ws->delta;
        ws->delta = ws->back;
        ws->back = swap;
    }
    return loss / (double)outputs;
}

static double column_norm(const double *a, int rows, int batch, int j)
{
    double q = 0;
    for (int r = 0; r < rows; r++)
        q += a[(size_t)r * batch + j] * a[(size_t)r * batch + j];
    return sqrt(q);
}

double lyap_mlp_log_gain(const lyap_mlp_shape *s, int batch, const lyap_mlp_workspace *ws)
{
    double total = 0;
    for (int j = 0; j < batch; j++)
        total += log(column_norm(ws->act[s->depth], s->width, batch, j) / column_norm(ws->act[0], s->width, batch, j));
    return total / batch;
}

const double *lyap_mlp_activations(const lyap_mlp_workspace *ws, int i)
{
    return ws->act[i];
}
