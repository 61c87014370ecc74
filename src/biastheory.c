/* biastheory.c: closed forms for networks with biases (THEORY.md "Biases",
 * "Two inputs: correlations"); see biastheory.h.
 *
 * The tail index reuses theory.c twice: lambda and v (lyap_theory_exact)
 * give the slope and curvature of log E[A^kappa] at 0, and the slope factor
 * E[(a^2 + (1 - a^2) T_K)^kappa] is theory.c's Beta mixture tilted by
 * e^(kappa h) (lyap_theory_h_log_mgf). The chi-square factor is
 * 2^kappa Gamma(d/2 + kappa)/Gamma(d/2), taken as a Pochhammer symbol
 * (gsl_sf_lnpoch) so that it keeps its digits at large d, where it nearly
 * cancels kappa log(2 s2/d). GSL errors are turned into LYAP_EMATH; the
 * previous GSL error handler is restored on return, as in theory.c.
 */
#include <math.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h> /* M_PI (not in C11) */
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sf_gamma.h>

#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/theory.h"

static const double KAPPA_SMALL = 1e-4;   /* below: the cumulant estimate -lambda/v (header) */
static const double KAPPA_EPSREL = 1e-10; /* Brent's stopping interval, relative */
enum { BRACKET_STEPS = 64, BRENT_ITERATIONS = 200 };

/* ---- arguments ---------------------------------------------------------------- */

static int check_args(int d, double a, double s2)
{
    if (d < 1)
        return lyap_fail(LYAP_EDECK, "biastheory: width d = %d must be >= 1", d);
    if (!(a >= 0.0 && a <= 1.0))
        return lyap_fail(LYAP_EDECK, "biastheory: slope a = %g must be in [0, 1]", a);
    if (!(s2 > 0.0 && isfinite(s2)))
        return lyap_fail(LYAP_EDECK, "biastheory: variance s2 = %g must be finite and > 0", s2);
    return LYAP_OK;
}

/* The arguments of the mean-field maps (NaN-returning, see the header). */
static int meanfield_args_ok(double a, double s2, double sb2)
{
    return a >= 0.0 && a <= 1.0 && s2 > 0.0 && isfinite(s2) && sb2 >= 0.0 && isfinite(sb2);
}

/* ---- the tail index --------------------------------------------------------------- */

typedef struct {
    int d;
    double a, s2;
    int status; /* the first failure inside the root finder's callback */
} moment_params;

static int log_moment(int d, double a, double s2, double kappa, double *value)
{
    gsl_sf_result poch;
    double tilt;
    int status = gsl_sf_lnpoch_e(0.5 * d, kappa, &poch);
    if (status != GSL_SUCCESS)
        return lyap_fail(LYAP_EMATH, "biastheory: gsl_sf_lnpoch(%g, %g) failed: %s", 0.5 * d, kappa,
                         gsl_strerror(status));
    LYAP_CALL(lyap_theory_h_log_mgf(d, a, kappa, &tilt));
    *value = kappa * log(2.0 * s2 / d) + poch.val + tilt;
    return LYAP_OK;
}

static double log_moment_fn(double kappa, void *params)
{
    moment_params *p = params;
    double value = NAN;
    if (p->status == LYAP_OK)
        p->status = log_moment(p->d, p->a, p->s2, kappa, &value);
    return value;
}

/* [lo, hi] around the root, from kappa = 1 by doubling or halving: the
 * function is convex and negative exactly on (0, kappa), and the caller has
 * left only roots above ~KAPPA_SMALL, so both walks end. */
static int bracket(moment_params *p, double *lo, double *hi)
{
    double k = 1.0, f;
    LYAP_CALL(log_moment(p->d, p->a, p->s2, k, &f));
    int up = f < 0.0;
    for (int i = 0; i < BRACKET_STEPS; i++) {
        double next = up ? 2.0 * k : 0.5 * k, g;
        LYAP_CALL(log_moment(p->d, p->a, p->s2, next, &g));
        if ((g < 0.0) != up) {
            *lo = up ? k : next;
            *hi = up ? next : k;
            return LYAP_OK;
        }
        k = next;
    }
    return lyap_fail(LYAP_EMATH, "biastheory: no sign change of log E[A^kappa] from kappa = 1 "
                     "(d = %d, a = %g, s2 = %g)", p->d, p->a, p->s2);
}

static int brent(moment_params *p, double lo, double hi, double *kappa)
{
    gsl_function f = {log_moment_fn, p};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s)
        return lyap_fail(LYAP_ENOMEM, "biastheory: cannot allocate a GSL root solver");
    int status = gsl_root_fsolver_set(s, &f, lo, hi), done = 0;
    for (int i = 0; status == GSL_SUCCESS && p->status == LYAP_OK && !done && i < BRENT_ITERATIONS; i++) {
        status = gsl_root_fsolver_iterate(s);
        lo = gsl_root_fsolver_x_lower(s);
        hi = gsl_root_fsolver_x_upper(s);
        done = gsl_root_test_interval(lo, hi, 0.0, KAPPA_EPSREL) == GSL_SUCCESS;
    }
    *kappa = gsl_root_fsolver_root(s);
    gsl_root_fsolver_free(s);
    if (p->status != LYAP_OK)
        return p->status;
    if (status != GSL_SUCCESS || !done)
        return lyap_fail(LYAP_EMATH, "biastheory: Brent's method did not converge on the tail index "
                         "(d = %d, a = %g, s2 = %g): %s", p->d, p->a, p->s2,
                         status != GSL_SUCCESS ? gsl_strerror(status) : "too many iterations");
    return LYAP_OK;
}

static int tail_index(int d, double a, double s2, double *kappa)
{
    double lambda, v, lo = 0.0, hi = 0.0;
    LYAP_CALL(check_args(d, a, s2));
    *kappa = NAN;
    if (a == 0.0) /* ReLU: the header says why there is no tail index to compute */
        return LYAP_OK;
    LYAP_CALL(lyap_theory_exact(LYAP_FAMILY_GAUSSIAN, d, a, s2, &lambda, &v, NULL));
    if (!(lambda < 0.0)) /* no stationary law */
        return LYAP_OK;
    /* log E[A^kappa] = 2 lambda kappa + 2 v kappa^2 + O(kappa^3) (log A has
     * mean 2 lambda and variance 4 v): the root to second order. */
    double estimate = -lambda / v;
    if (estimate < KAPPA_SMALL) {
        *kappa = estimate;
        return LYAP_OK;
    }
    moment_params p = {d, a, s2, LYAP_OK};
    LYAP_CALL(bracket(&p, &lo, &hi));
    return brent(&p, lo, hi, kappa);
}

int lyap_biastheory_log_moment(int d, double a, double s2, double kappa, double *value)
{
    LYAP_CALL(check_args(d, a, s2));
    if (!(kappa >= 0.0 && isfinite(kappa)))
        return lyap_fail(LYAP_EDECK, "biastheory: moment order kappa = %g must be finite and >= 0", kappa);
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    int status = log_moment(d, a, s2, kappa, value);
    gsl_set_error_handler(prev);
    return status;
}

int lyap_biastheory_tail_index(int d, double a, double s2, double *kappa)
{
    double k = NAN;
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    int status = tail_index(d, a, s2, &k);
    gsl_set_error_handler(prev);
    if (status == LYAP_OK)
        *kappa = k;
    return status;
}

/* ---- mean field -------------------------------------------------------------------- */

double lyap_biastheory_meanfield_signal(double a, double s2, double sb2, double m0, int depth)
{
    if (!meanfield_args_ok(a, s2, sb2) || !(m0 >= 0.0 && isfinite(m0)) || depth < 0)
        return NAN;
    double gain = 0.5 * (1.0 + a * a), m = m0;
    for (int l = 0; l < depth; l++)
        m = gain * (s2 * m + sb2);
    return m;
}

int lyap_biastheory_meanfield_phase(double a, double s2)
{
    if (!meanfield_args_ok(a, s2, 0.0))
        return 0;
    return s2 < lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, a) ? -1 : +1;
}

double lyap_biastheory_meanfield_fixed_point(double a, double s2, double sb2)
{
    if (!meanfield_args_ok(a, s2, sb2))
        return NAN;
    if (lyap_biastheory_meanfield_phase(a, s2) > 0)
        return INFINITY;
    return (1.0 + a * a) * sb2 / (2.0 - (1.0 + a * a) * s2);
}

/* ---- two inputs ----------------------------------------------------------------------- */

double lyap_biastheory_relu_kernel(double a, double s_u, double s_v, double rho)
{
    if (!(a >= 0.0 && a <= 1.0) || !(s_u >= 0.0) || !(s_v >= 0.0) || !(fabs(rho) <= 1.0))
        return NAN;
    /* phi(z) = (1+a)/2 z + (1-a)/2 |z|; E[u|v|] = 0 by symmetry. */
    double odd = 0.5 * (1.0 + a), even = 0.5 * (1.0 - a);
    double abs_moment = M_2_PI * (sqrt((1.0 - rho) * (1.0 + rho)) + rho * asin(rho)); /* E|u||v|/(s_u s_v) */
    return s_u * s_v * (odd * odd * rho + even * even * abs_moment);
}

int lyap_biastheory_meanfield_cosine(double a, double s2, double sb2, double m_x, double m_y,
                                     double c0, int depth, double *cosine)
{
    if (!meanfield_args_ok(a, s2, sb2))
        return lyap_fail(LYAP_EDECK, "biastheory: mean-field cosine needs a in [0, 1], s2 > 0 and "
                         "sb2 >= 0 (finite), not a = %g, s2 = %g, sb2 = %g", a, s2, sb2);
    if (!(m_x > 0.0 && m_y > 0.0 && isfinite(m_x) && isfinite(m_y)) || !(fabs(c0) <= 1.0) || depth < 0)
        return lyap_fail(LYAP_EDECK, "biastheory: mean-field cosine needs m_x, m_y > 0, |c0| <= 1 and "
                         "depth >= 0, not %g, %g, %g, %d", m_x, m_y, c0, depth);
    double gain = 0.5 * (1.0 + a * a), b = sb2, cxy = c0 * sqrt(m_x * m_y);
    cosine[0] = c0;
    for (int l = 1; l <= depth; l++) {
        double tx2 = s2 * m_x + b, ty2 = s2 * m_y + b, tx = sqrt(tx2), ty = sqrt(ty2);
        /* |rho| <= 1 by Cauchy-Schwarz; rounding can step past it when x = y */
        double rho = fmax(-1.0, fmin(1.0, (s2 * cxy + b) / (tx * ty)));
        cxy = lyap_biastheory_relu_kernel(a, tx, ty, rho);
        m_x = gain * tx2;
        m_y = gain * ty2;
        cosine[l] = cxy / sqrt(m_x * m_y);
        /* Homogeneity: dividing (m_x, m_y, c_xy, sb2) by one factor leaves
         * every cosine unchanged and keeps the state near 1. */
        double scale = 0.5 * (m_x + m_y);
        m_x /= scale;
        m_y /= scale;
        cxy /= scale;
        b /= scale;
    }
    return LYAP_OK;
}
