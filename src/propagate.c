/* propagate.c: the Monte Carlo kernels (DESIGN.md, "propagate"): the
 * matrix path here, the exact path in src/exact.c.
 *
 * Activations are renormalized to unit length every layer, so any depth is
 * safe and log-norms accumulate in double (DESIGN.md, Principles).
 */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exact.h"
#include "lyapdiag/error.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/weights.h"

struct lyap_propagate_plan_s {
    int d, batch;
    double a;
    lyap_family family;
    lyap_method method;
    exact_sampler *exact; /* exact path */
    /* matrix path */
    lyap_weights *sampler;
    double *W;     /* [d*d] this layer's weights, column-major */
    double *x;     /* [d*batch] unit activations, one column per input */
    double *y;     /* [d*batch] pre-activations */
    /* looks-linear: W = [[A, -A], [-A, A]] acts through its h x h block */
    int h;         /* d/2 for looks-linear families, else 0 */
    double *t;     /* [h*batch] u - v of each column */
    /* matrix path in single precision (gaussian or uniform entries, float) */
    int single;
    float *Wf, *xf, *yf; /* as W, x, y */
    /* lattice weights (rows that can cancel exactly): pre-activations within
     * this many times the scale of 0 are rounding residues of an exact 0 */
    double residue_factor;
    /* biases (lyap_propagate_set_biases): sd 0 = none */
    int biased;                /* lyap_propagate_set_biases was called: log-norms tracked */
    int paired;                /* lyap_propagate_set_input_cosine: pairs of columns start at cosine c0 */
    double c0;
    double bias_sd, log_norm0; /* sqrt(sb2) (0: none added), log|x_0| */
    double *b, *log_norm;      /* [d] this layer's biases, [batch] log|x_l| per column */
    /* current replica */
    uint64_t seed, task_key;
    int replica;
    long layer;
    double s2;
};

int lyap_propagate_plan_create(lyap_family f, int d, double a, int batch, int depth, lyap_method method,
                               lyap_precision precision, lyap_propagate_plan *out)
{
    struct lyap_propagate_plan_s *p;
    *out = NULL;
    const lyap_family_info *info = lyap_family_info_of(f);
    if (method == LYAP_METHOD_EXACT && !info->exact_law)
        return lyap_fail(LYAP_EINTERNAL, "propagate: no exact law for family %s", lyap_family_name(f));
    int single = method == LYAP_METHOD_MATRIX && precision == LYAP_PRECISION_SINGLE;
    if (single && !info->single_precision)
        return lyap_fail(LYAP_EINTERNAL, "propagate: no single-precision path for family %s", lyap_family_name(f));
    LYAP_CALL(lyap_alloc(&p, 1, sizeof *p, "propagate plan"));
    p->d = d;
    p->a = a;
    p->batch = batch;
    p->family = f;
    /* a d-term dot product with |x| = 1 and +-1 weights rounds by at most
     * ~d^1.5 ulps of the scale (Higham's gamma_d bound), with a margin of 4 */
    if (info->lattice)
        p->residue_factor = 4.0 * d * sqrt((double)d) * DBL_EPSILON;
    p->method = method;
    if (method == LYAP_METHOD_EXACT) {
        int status = exact_create(info->theory, d, a, batch, depth, &p->exact);
        if (status != LYAP_OK)
            lyap_propagate_plan_destroy(&p);
        *out = p;
        return status;
    }
    size_t cells = (size_t)d * batch;
    p->single = single;
    int status = LYAP_OK;
    if (single) {
        status = lyap_weights_create(info->entries, d, &p->sampler);
        if (status == LYAP_OK)
            status = lyap_alloc(&p->Wf, (size_t)d * d, sizeof *p->Wf, "weight matrix");
        if (status == LYAP_OK)
            status = lyap_alloc(&p->xf, cells, sizeof *p->xf, "activations");
        if (status == LYAP_OK)
            status = lyap_alloc(&p->yf, cells, sizeof *p->yf, "pre-activations");
    } else if (info->looks_linear) {
        p->h = d / 2;
        status = lyap_weights_create(info->entries, p->h, &p->sampler);
        if (status == LYAP_OK)
            status = lyap_alloc(&p->W, (size_t)p->h * p->h, sizeof *p->W, "weight block");
        if (status == LYAP_OK)
            status = lyap_alloc(&p->t, (size_t)p->h * batch, sizeof *p->t, "looks-linear differences");
    } else {
        status = lyap_weights_create(info->entries, d, &p->sampler);
        if (status == LYAP_OK)
            status = lyap_alloc(&p->W, (size_t)d * d, sizeof *p->W, "weight matrix");
    }
    /* the inputs are drawn in double in both precisions (y: scratch) */
    if (status == LYAP_OK)
        status = lyap_alloc(&p->x, cells, sizeof *p->x, "activations");
    if (status == LYAP_OK)
        status = lyap_alloc(&p->y, cells, sizeof *p->y, "pre-activations");
    if (status != LYAP_OK) {
        lyap_propagate_plan_destroy(&p);
        return status;
    }
    *out = p;
    return LYAP_OK;
}

/* The same in single precision, the sums of squares in double. */
static void activate_and_normalize_float(int d, int batch, float a, float *y, double *lognorm)
{
    for (int j = 0; j < batch; j++) {
        float *col = y + (size_t)j * d;
        double sum = 0;
        for (int i = 0; i < d; i++) {
            float z = col[i] > 0 ? col[i] : a * col[i];
            col[i] = z;
            sum += (double)z * z;
        }
        lognorm[j] = 0.5 * log(sum);
        if (sum > 0) {
            float inverse = (float)(1 / sqrt(sum));
            for (int i = 0; i < d; i++)
                col[i] *= inverse;
        }
    }
}

/* phi(z) = max(z, a z) (0 <= a <= 1) on Y, fused with the column norms
 * (one pass over the data instead of two): each column scaled to unit
 * length, LOGNORM the log of its norm before; a zero column stays zero
 * with log-norm -inf. Plain sums of squares suffice: columns enter with
 * norm O(1), far from overflow or underflow. a = 1 only normalizes. */
static void activate_and_normalize(int d, int batch, double a, double *y, double *lognorm)
{
    for (int j = 0; j < batch; j++) {
        double *col = y + (size_t)j * d, sum = 0;
        for (int i = 0; i < d; i++) {
            double z = col[i] > 0 ? col[i] : a * col[i];
            col[i] = z;
            sum += z * z;
        }
        lognorm[j] = 0.5 * log(sum);
        if (sum > 0) {
            double inverse = 1 / sqrt(sum);
            for (int i = 0; i < d; i++)
                col[i] *= inverse;
        }
    }
}

/* Sets the entries of Y within FLOOR of 0 to exactly 0. With +-1 weights
 * (rademacher) a row can cancel x exactly (repeated rows make equal
 * components), and the network then dies as at ReLU; floating point
 * leaves a residue of a few ulps instead, which renormalization would
 * blow up into a live, meaningless direction. */
static void zero_rounding_residues(size_t n, double floor, double *y)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(y[i]) <= floor)
            y[i] = 0;
}

/* Column 2j + 1 <- c0 u + sqrt(1 - c0^2) v, u = column 2j, v the unit part
 * of column 2j + 1 orthogonal to u (both columns are unit on entry). */
static void pair_inputs(struct lyap_propagate_plan_s *p)
{
    int d = p->d;
    for (int j = 0; j + 1 < p->batch; j += 2) {
        const double *u = p->x + (size_t)j * d;
        double *v = p->x + (size_t)(j + 1) * d, along = 0, norm = 0;
        for (int i = 0; i < d; i++)
            along += u[i] * v[i];
        for (int i = 0; i < d; i++) {
            v[i] -= along * u[i];
            norm += v[i] * v[i];
        }
        double side = norm > 0 ? sqrt(1 - p->c0 * p->c0) / sqrt(norm) : 0;
        for (int i = 0; i < d; i++)
            v[i] = p->c0 * u[i] + side * v[i];
    }
}

int lyap_propagate_set_input_cosine(lyap_propagate_plan p, double c0)
{
    if (p->method == LYAP_METHOD_EXACT || p->single || p->batch % 2 != 0 || !(c0 >= -1 && c0 <= 1))
        return lyap_fail(LYAP_EINTERNAL, "propagate: pairs of inputs need the double-precision matrix path, an "
                         "even batch (%d) and a cosine in [-1, 1] (%g)", p->batch, c0);
    p->paired = 1;
    p->c0 = c0;
    return LYAP_OK;
}

const double *lyap_propagate_columns(lyap_propagate_plan p)
{
    return p->x;
}

void lyap_propagate_start(lyap_propagate_plan p, uint64_t seed, uint64_t task_key, int replica, double s2)
{
    lyap_rng rng;
    double *unused_lognorm = p->y; /* scratch: y is rewritten every layer */
    p->seed = seed;
    p->task_key = task_key;
    p->replica = replica;
    p->layer = 0;
    p->s2 = s2;
    if (p->method == LYAP_METHOD_EXACT) {
        exact_start(p->exact, seed, task_key, replica, s2);
        return;
    }
    /* A normalized Gaussian vector is uniform on the sphere. */
    lyap_rng_init(&rng, seed, task_key, (uint64_t)replica, 0, LYAP_RNG_INPUTS);
    lyap_rng_normal(&rng, p->x, (size_t)p->d * p->batch);
    activate_and_normalize(p->d, p->batch, 1.0, p->x, unused_lognorm);
    for (size_t i = 0; p->single && i < (size_t)p->d * p->batch; i++)
        p->xf[i] = (float)p->x[i];
    if (p->paired)
        pair_inputs(p);
    if (p->biased) /* the inputs at |x_0|^2 = d m0 */
        for (int j = 0; j < p->batch; j++)
            p->log_norm[j] = p->log_norm0;
}

int lyap_propagate_set_biases(lyap_propagate_plan p, double sb2, double m0)
{
    if (p->method == LYAP_METHOD_EXACT || p->single || !(sb2 >= 0) || !(m0 > 0))
        return lyap_fail(LYAP_EINTERNAL, "propagate: biases need the double-precision matrix path, sb2 >= 0 and "
                         "m0 > 0 (sb2 %g, m0 %g)", sb2, m0);
    if (!p->b) {
        LYAP_CALL(lyap_alloc(&p->b, (size_t)p->d, sizeof *p->b, "biases"));
        LYAP_CALL(lyap_alloc(&p->log_norm, (size_t)p->batch, sizeof *p->log_norm, "log-norms"));
    }
    p->biased = 1;
    p->bias_sd = sqrt(sb2);
    p->log_norm0 = 0.5 * log(p->d * m0);
    return LYAP_OK;
}

const double *lyap_propagate_log_norms(lyap_propagate_plan p)
{
    return p->log_norm;
}

/* Adds this layer's biases to the pre-activations of unit columns: h/|x| =
 * W u + b e^(-log|x|). A column that is exactly 0 (log|x| = -inf) gets
 * b itself at scale 1. */
static void add_biases(struct lyap_propagate_plan_s *p)
{
    lyap_rng rng;
    lyap_rng_init(&rng, p->seed, p->task_key, (uint64_t)p->replica, (uint64_t)p->layer, LYAP_RNG_BIASES);
    lyap_rng_normal(&rng, p->b, (size_t)p->d);
    for (int j = 0; j < p->batch; j++) {
        double *col = p->y + (size_t)j * p->d;
        if (p->log_norm[j] == -INFINITY)
            p->log_norm[j] = 0;
        double c = p->bias_sd * exp(-p->log_norm[j]);
        for (int i = 0; i < p->d; i++)
            col[i] += c * p->b[i];
    }
}

int lyap_propagate_signal_layer(lyap_propagate_plan p, double s2, double sb2, double *log_q)
{
    if (p->method != LYAP_METHOD_EXACT || lyap_family_info_of(p->family)->theory != LYAP_THEORY_GAUSSIAN)
        return lyap_fail(LYAP_EINTERNAL, "propagate: the signal with biases has an exact path for gaussian "
                         "weights only");
    exact_signal_layer(p->exact, s2, sb2, log_q);
    return LYAP_OK;
}

int lyap_propagate_layer(lyap_propagate_plan p, double *increments)
{
    lyap_rng rng;
    if (p->method == LYAP_METHOD_EXACT) {
        exact_layer(p->exact, increments);
        return LYAP_OK;
    }
    int d = p->d, batch = p->batch;
    p->layer++;
    double scale;
    lyap_rng_init(&rng, p->seed, p->task_key, (uint64_t)p->replica, (uint64_t)p->layer, LYAP_RNG_WEIGHTS);
    if (p->single) {
        LYAP_CALL(lyap_weights_draw_float(p->sampler, &rng, p->s2, p->Wf, &scale));
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, batch, d, (float)scale, p->Wf, d, p->xf, d, 0.0f,
                    p->yf, d);
        activate_and_normalize_float(d, batch, (float)p->a, p->yf, increments);
        float *swap = p->xf;
        p->xf = p->yf;
        p->yf = swap;
        return LYAP_OK;
    }
    LYAP_CALL(lyap_weights_draw(p->sampler, &rng, p->s2, p->W, &scale));
    lyap_propagate_multiply(d, p->h, batch, scale, p->W, p->x, p->t, p->y);
    if (p->residue_factor > 0) /* an exact 0 of W x, before the biases move it */
        zero_rounding_residues((size_t)d * batch, p->residue_factor * scale, p->y);
    if (p->bias_sd > 0)
        add_biases(p);
    activate_and_normalize(d, batch, p->a, p->y, increments);
    for (int j = 0; p->biased && j < batch; j++)
        p->log_norm[j] += increments[j];
    double *swap = p->x; /* x_{l-1} had unit norm, so log|y| is the increment */
    p->x = p->y;
    p->y = swap;
    return LYAP_OK;
}

void lyap_propagate_plan_destroy(lyap_propagate_plan *p)
{
    if (!p || !*p)
        return;
    lyap_weights_destroy(&(*p)->sampler);
    exact_destroy(&(*p)->exact);
    free((*p)->W);
    free((*p)->x);
    free((*p)->y);
    free((*p)->t);
    free((*p)->Wf);
    free((*p)->xf);
    free((*p)->yf);
    free((*p)->b);
    free((*p)->log_norm);
    free(*p);
    *p = NULL;
}

void lyap_propagate_multiply(int d, int h, int n, double scale, const double *W, const double *x, double *t,
                             double *y)
{
    if (h == 0) {
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, n, d, scale, W, d, x, d, 0.0, y, d);
        return;
    }
    /* [[A, -A], [-A, A]] [u; v] = [z; -z] with z = A (u - v): one h x h
     * product instead of d x d (THEORY.md "Looks-linear"). */
    for (int j = 0; j < n; j++)
        for (int i = 0; i < h; i++)
            t[(size_t)j * h + i] = x[(size_t)j * d + i] - x[(size_t)j * d + h + i];
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, h, n, h, scale, W, h, t, h, 0.0, y, d);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < h; i++)
            y[(size_t)j * d + h + i] = -y[(size_t)j * d + i];
}

void lyap_propagate_set_blas_threads(int nthreads)
{
    openblas_set_num_threads(nthreads);
}

const char *lyap_propagate_blas_core(void)
{
    /* OpenBLAS names the kernels it chose at load time from the CPU model
     * (or from OPENBLAS_CORETYPE): "Prescott" on a VM that hides an
     * AVX-512 model means generic SSE3 kernels (jobs/openblas-core.sh). */
    const char *core = openblas_get_corename();
    return core && *core ? core : "unknown";
}

void lyap_propagate_apply(int d, int batch, double a, const double *W, double *x, double *y, double *increments)
{
    /* row-major W is W^T in column-major terms */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, batch, d, 1.0, W, d, x, d, 0.0, y, d);
    activate_and_normalize(d, batch, a, y, increments);
    memcpy(x, y, (size_t)d * batch * sizeof *x);
}
