/* theory.c: exact Lyapunov exponent, CLT variance and critical variance of
 * deep Leaky ReLU networks with gaussian or orthogonal weights (THEORY.md,
 * "Exact values"), plus the Laplace-integral second route used by the tests,
 * and the tilted mixture E[e^(kappa h)] behind the tail index of a network
 * with biases (biastheory.c, THEORY.md "Biases").
 *
 * Everything reduces to the law of h = log(a^2 + (1 - a^2) T_K), a binomial
 * mixture of Beta(k/2, (d-k)/2) laws. Two choices make it fast and accurate
 * at every width:
 *  - T = sin^2(theta) turns the Beta density into
 *      p_k(theta) = 2 sin^(k-1) cos^(d-k-1) / B(k/2, (d-k)/2)  on [0, pi/2],
 *    polynomial in sin and cos, so k = 1 and k = d-1 have no endpoint
 *    singularity left. For large d it is peaked (width ~ 1/sqrt(2d)), so each
 *    integral runs over the window where log p is within WINDOW_DROP of its
 *    maximum: the quadrature always sees the peak.
 *  - h is centred at c = log((1+a^2)/2) (Jensen's bound, m_h <= c), so
 *      u = h - c = log(1 - q cos 2theta),  q = (1-a^2)/(1+a^2),
 *    is O(1/sqrt(d)) where the mass is: quadrature errors in m_h = c + E u
 *    scale with the spread of h, not with |m_h|, which matters because
 *    lambda at He scale is only O(1/d); and v_h = E u^2 - (E u)^2 does not
 *    cancel ((E u)^2 / E u^2 = O(q^2/d)).
 * GSL errors are turned into LYAP_EMATH; the previous GSL error handler is
 * restored on return, so the module leaves no global state behind.
 */
#include <math.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_math.h> /* M_LN2, M_PI_2 (not in C11) */
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "lyapdiag/error.h"
#include "lyapdiag/theory.h"

enum { QUAD_LIMIT = 512 };              /* subintervals per adaptive integral */
enum { QUAD_KEY = GSL_INTEG_GAUSS21 };  /* QAG rule (see beta_moments) */
static const double WEIGHT_MIN = 1e-18;  /* binomial weights below: dropped (THEORY.md) */
static const double WINDOW_DROP = 50.0;  /* log-density drop at window ends: e^-50 ~ 2e-22 */
static const double BETA_EPSREL = 1e-12; /* per-k E_k u, E_k u^2 (see beta_moments) */
static const double LAPLACE_EPSABS = 1e-13; /* test route: result is O(log d) */
static const double LAPLACE_EPSREL = 1e-13;

/* ---- argument checks (deck errors name the argument) ---------------------- */

static int check_width(int d)
{
    if (d < 1)
        return lyap_fail(LYAP_EDECK, "theory: width d = %d must be >= 1", d);
    return LYAP_OK;
}

static int check_slope(double a)
{
    if (!(a >= 0.0 && a <= 1.0)) /* also rejects NaN */
        return lyap_fail(LYAP_EDECK, "theory: slope a = %g must be in [0, 1]", a);
    return LYAP_OK;
}

static int check_variance(double s2)
{
    if (!(s2 > 0.0 && isfinite(s2)))
        return lyap_fail(LYAP_EDECK, "theory: variance s2 = %g must be finite and > 0", s2);
    return LYAP_OK;
}

static int gsl_status(int status, const char *what, int d, int k, double a)
{
    if (status == GSL_SUCCESS)
        return LYAP_OK;
    return lyap_fail(LYAP_EMATH, "theory: %s failed (d = %d, k = %d, a = %.17g): %s", what, d,
                     k, a, gsl_strerror(status));
}

/* ---- the Beta mixture ------------------------------------------------------ */

typedef struct {
    double lognorm; /* log(2 / B(k/2, (d-k)/2)) */
    int ps, pc;     /* powers of sin and cos in p_k: k-1, d-k-1 */
    double q;       /* (1-a^2)/(1+a^2) */
    double omq;     /* 1 - q = 2a^2/(1+a^2), computed without cancellation */
    int moment;     /* integrate u p_k (1), u^2 p_k (2) or e^(kappa u - shift) p_k (0) */
    double kappa;   /* the tilt of moment 0 (lyap_theory_h_log_mgf); 0 otherwise */
    double shift;   /* log of the tilted density's peak: keeps e^(kappa u) in range */
} beta_integrand;

/* u = h - c = log(1 - q cos 2theta). For q < 1/2 log1p keeps u relatively
 * accurate as a -> 1 (u = O(q)); otherwise 1 - q cos 2theta is formed as
 * (1 - q) + 2q sin^2 theta, a sum of positives, exact near theta = 0 where
 * small slopes make u large and steep. */
static double centred_h(double s, double theta, const beta_integrand *b)
{
    if (b->q < 0.5)
        return log1p(-b->q * cos(2.0 * theta));
    return log(b->omq + 2.0 * b->q * s * s);
}

static double log_beta_density(double s, double c, const beta_integrand *b)
{
    double lp = b->lognorm;
    if (b->ps) /* skip 0 * log(0) */
        lp += b->ps * log(s);
    if (b->pc)
        lp += b->pc * log(c);
    return lp;
}

static double beta_integrand_eval(double theta, void *params)
{
    const beta_integrand *b = params;
    double s = sin(theta), c = cos(theta);
    double u = centred_h(s, theta, b);
    if (b->moment == 0)
        return exp(log_beta_density(s, c, b) + b->kappa * u - b->shift);
    double p = exp(log_beta_density(s, c, b));
    return (b->moment == 1 ? u : u * u) * p;
}

/* Unnormalised log p_k: the window search needs only differences. */
static double log_shape(int ps, int pc, double theta)
{
    return (ps ? ps * log(sin(theta)) : 0.0) + (pc ? pc * log(cos(theta)) : 0.0);
}

/* log p_k up to a constant, tilted by kappa u when B is a tilted integrand
 * (kappa = 0 leaves it untouched: u = -inf at theta = 0 when a = 0). */
static double window_shape(int ps, int pc, const beta_integrand *b, double theta)
{
    double shape = log_shape(ps, pc, theta);
    if (b && b->kappa != 0.0)
        shape += b->kappa * centred_h(sin(theta), theta, b);
    return shape;
}

/* [lo, hi] around MODE, the maximum of a unimodal window_shape, outside
 * which it is WINDOW_DROP below its top. The curvature of log p_k at an
 * interior mode is 2(d-2), so start at the Gaussian estimate and widen until
 * the drop is reached (the tails of sin/cos powers are not exactly
 * Gaussian). d >= 3. */
static void widen_window(int ps, int pc, int d, const beta_integrand *b, double mode, double *lo,
                         double *hi)
{
    double top = window_shape(ps, pc, b, mode);
    double step = (sqrt(2.0 * WINDOW_DROP) + 1.0) / sqrt(2.0 * (d - 2));
    double w = step;
    while (mode - w > 0.0 && window_shape(ps, pc, b, mode - w) > top - WINDOW_DROP)
        w *= 1.5;
    *lo = fmax(0.0, mode - w);
    w = step;
    while (mode + w < M_PI_2 && window_shape(ps, pc, b, mode + w) > top - WINDOW_DROP)
        w *= 1.5;
    *hi = fmin(M_PI_2, mode + w);
}

/* [lo, hi] in [0, pi/2] outside which p_k < e^-WINDOW_DROP * max p_k. log p_k
 * is concave, so the mass outside is negligible (~1e-22). */
static void beta_window(int k, int d, double *lo, double *hi)
{
    int ps = k - 1, pc = d - k - 1;
    *lo = 0.0;
    *hi = M_PI_2;
    if (ps == 0 && pc == 0) /* d = 2: uniform in theta */
        return;
    if (ps == 0) { /* k = 1: p ~ cos^(d-2), decreasing */
        *hi = acos(exp(-WINDOW_DROP / pc));
        return;
    }
    if (pc == 0) { /* k = d-1: p ~ sin^(d-2), increasing */
        *lo = asin(exp(-WINDOW_DROP / ps));
        return;
    }
    widen_window(ps, pc, d, NULL, atan2(sqrt((double)ps), sqrt((double)pc)), lo, hi); /* tan^2 = ps/pc */
}

/* E_k u and E_k u^2 for 0 < k < d, by QAG on the window. Not QAGS: for small a,
 * u ~ log(theta^2 + a^2) near theta = 0 looks like a log singularity until
 * the bisection reaches width a, and QAGS's extrapolation converges to the
 * wrong limit (seen: error 1e-6 at d = 2, a = 1e-6). QAG just bisects, about
 * log2(1/a) times. */
static int beta_moments(int d, int k, double a, beta_integrand *b,
                        gsl_integration_workspace *ws, double *e1, double *e2)
{
    double lnb, lo, hi, err;
    gsl_sf_result r;
    LYAP_CALL(gsl_status(gsl_sf_lnbeta_e(0.5 * k, 0.5 * (d - k), &r), "gsl_sf_lnbeta", d, k, a));
    lnb = r.val;
    b->lognorm = M_LN2 - lnb;
    b->ps = k - 1;
    b->pc = d - k - 1;
    beta_window(k, d, &lo, &hi);
    gsl_function f = {beta_integrand_eval, b};
    /* u^2 p_k first: positive, so a relative tolerance is always reachable.
     * u p_k changes sign near theta = pi/4 and its integral can be far below
     * int |u| p_k <= sqrt(E_k u^2), the scale of its rounding error: asking
     * for less than 1e-12 of that scale makes QAG report roundoff. */
    b->moment = 2;
    LYAP_CALL(gsl_status(gsl_integration_qag(&f, lo, hi, 0.0, BETA_EPSREL, QUAD_LIMIT, QUAD_KEY,
                                             ws, e2, &err),
                         "E[h^2 | K = k] quadrature", d, k, a));
    b->moment = 1;
    LYAP_CALL(gsl_status(gsl_integration_qag(&f, lo, hi, BETA_EPSREL * sqrt(*e2), BETA_EPSREL,
                                             QUAD_LIMIT, QUAD_KEY, ws, e1, &err),
                         "E[h | K = k] quadrature", d, k, a));
    return LYAP_OK;
}

/* Adds w * (E_k u, E_k u^2) to the running sums; k = 0 and k = d are atoms
 * (T = 0, T = 1). */
static int add_term(int d, int k, double a, double w, beta_integrand *b,
                    gsl_integration_workspace *ws, double sum[3])
{
    double e1, e2;
    if (k == 0) { /* u = log(1 - q) = log(2a^2/(1+a^2)); 2 log a survives tiny a */
        e1 = M_LN2 + 2.0 * log(a) - log1p(a * a);
        e2 = e1 * e1;
    } else if (k == d) { /* u = log(1 + q) = -c */
        e1 = log1p(b->q);
        e2 = e1 * e1;
    } else {
        LYAP_CALL(beta_moments(d, k, a, b, ws, &e1, &e2));
    }
    sum[0] += w;
    sum[1] += w * e1;
    sum[2] += w * e2;
    return LYAP_OK;
}

/* m_h, v_h of THEORY.md for 0 < a < 1. Binomial weights come from the ratio
 * recurrence outward from the mode and are normalised by their sum, which
 * avoids the O(d eps) error of exp(lnchoose - d log 2) at d ~ 65536;
 * lnchoose only places the 1e-18 cutoff. */
static int h_moments_interior(int d, double a, double *m_h, double *v_h)
{
    double q = (1.0 - a) * (1.0 + a) / (1.0 + a * a);
    /* c = log((1+a^2)/2), relatively accurate near a = 1 */
    double c = log1p(-0.5 * (1.0 - a) * (1.0 + a));
    beta_integrand b = {0.0, 0, 0, q, 2.0 * a * a / (1.0 + a * a), 1, 0.0, 0.0};
    double sum[3] = {0.0, 0.0, 0.0};
    int kmode = d / 2, status = LYAP_OK;
    gsl_sf_result r;

    LYAP_CALL(gsl_status(gsl_sf_lnchoose_e((unsigned)d, (unsigned)kmode, &r), "gsl_sf_lnchoose", d,
                         kmode, a));
    double wmode = exp(r.val - d * M_LN2); /* absolute weight of the mode, for the cutoff only */
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(QUAD_LIMIT);
    if (!ws)
        return lyap_fail(LYAP_ENOMEM, "theory: cannot allocate a GSL integration workspace");

    double w = 1.0; /* weight relative to the mode */
    for (int k = kmode; k <= d && w * wmode >= WEIGHT_MIN; k++) {
        if ((status = add_term(d, k, a, w, &b, ws, sum)) != LYAP_OK)
            goto done;
        w *= (double)(d - k) / (k + 1);
    }
    w = (double)kmode / (d - kmode + 1);
    for (int k = kmode - 1; k >= 0 && w * wmode >= WEIGHT_MIN; k--) {
        if ((status = add_term(d, k, a, w, &b, ws, sum)) != LYAP_OK)
            goto done;
        w *= (double)k / (d - k + 1);
    }
    double eu = sum[1] / sum[0];
    *m_h = c + eu;
    *v_h = sum[2] / sum[0] - eu * eu;
done:
    gsl_integration_workspace_free(ws);
    return status;
}

static int h_moments(int d, double a, double *m_h, double *v_h)
{
    LYAP_CALL(check_width(d));
    LYAP_CALL(check_slope(a));
    if (a == 0.0) { /* K = 0 has h = log 0 with probability 2^-d */
        *m_h = -INFINITY;
        *v_h = NAN;
        return LYAP_OK;
    }
    if (a == 1.0) { /* linear: h = 0 exactly (THEORY.md closed forms) */
        *m_h = 0.0;
        *v_h = 0.0;
        return LYAP_OK;
    }
    return h_moments_interior(d, a, m_h, v_h);
}

/* ---- the tilted mixture E[e^(kappa h)] ------------------------------------- */

/* In t = sin^2 theta the tilted log density is (ps/2) log t + (pc/2) log(1-t)
 * + kappa log(1 - q + 2qt) + const, a sum of concave terms: unimodal in theta,
 * with its mode where this derivative (decreasing in t) changes sign. */
static double tilted_slope(double t, int ps, int pc, const beta_integrand *b)
{
    double slope = 2.0 * b->q * b->kappa / (b->omq + 2.0 * b->q * t);
    if (ps) /* a missing power has no pole at its end */
        slope += 0.5 * ps / t;
    if (pc)
        slope -= 0.5 * pc / (1.0 - t);
    return slope;
}

static double tilted_mode(int ps, int pc, const beta_integrand *b)
{
    if (ps == 0 && tilted_slope(0.0, ps, pc, b) <= 0.0)
        return 0.0;
    if (pc == 0 && tilted_slope(1.0, ps, pc, b) >= 0.0)
        return M_PI_2;
    double lo = 0.0, hi = 1.0;
    for (int i = 0; i < 200 && hi - lo > 1e-16; i++) { /* bisection: the slope is monotone */
        double mid = 0.5 * (lo + hi);
        if (tilted_slope(mid, ps, pc, b) > 0.0)
            lo = mid;
        else
            hi = mid;
    }
    return asin(sqrt(0.5 * (lo + hi)));
}

/* log E_k e^(kappa u) for 0 < k < d, by QAG (as beta_moments) on the window
 * of the tilted density, which moves toward T = 1 as kappa grows. */
static int beta_log_tilt(int d, int k, double a, beta_integrand *b, gsl_integration_workspace *ws,
                         double *out)
{
    double lo = 0.0, hi = M_PI_2, value, err;
    gsl_sf_result r;
    LYAP_CALL(gsl_status(gsl_sf_lnbeta_e(0.5 * k, 0.5 * (d - k), &r), "gsl_sf_lnbeta", d, k, a));
    b->lognorm = M_LN2 - r.val;
    b->ps = k - 1;
    b->pc = d - k - 1;
    double mode = tilted_mode(b->ps, b->pc, b);
    b->shift = b->lognorm + window_shape(b->ps, b->pc, b, mode);
    if (d > 2) /* d = 2: p_1 is uniform in theta, the tilt bounded: the whole range */
        widen_window(b->ps, b->pc, d, b, mode, &lo, &hi);
    gsl_function f = {beta_integrand_eval, b};
    LYAP_CALL(gsl_status(gsl_integration_qag(&f, lo, hi, 0.0, BETA_EPSREL, QUAD_LIMIT, QUAD_KEY, ws,
                                             &value, &err),
                         "E[e^(kappa h) | K = k] quadrature", d, k, a));
    *out = b->shift + log(value);
    return LYAP_OK;
}

/* *acc = log(e^*acc + e^x), exact when either is -inf (an empty sum). */
static void log_add(double *acc, double x)
{
    if (x == -INFINITY)
        return;
    if (*acc == -INFINITY) {
        *acc = x;
        return;
    }
    double top = fmax(*acc, x);
    *acc = top + log1p(exp(fmin(*acc, x) - top));
}

/* log w_k + log E_k e^(kappa u), w_k = C(d, k) 2^-d; k = 0 and k = d are the
 * atoms u = log(1 - q) and log(1 + q) (-inf at a = 0: T_0^kappa = 0). */
static int tilt_term(int d, int k, double a, beta_integrand *b, gsl_integration_workspace *ws,
                     double *out)
{
    gsl_sf_result r;
    double e;
    LYAP_CALL(gsl_status(gsl_sf_lnchoose_e((unsigned)d, (unsigned)k, &r), "gsl_sf_lnchoose", d, k, a));
    if (k == 0)
        e = b->kappa * (a == 0.0 ? -INFINITY : M_LN2 + 2.0 * log(a) - log1p(a * a));
    else if (k == d)
        e = b->kappa * log1p(b->q);
    else
        LYAP_CALL(beta_log_tilt(d, k, a, b, ws, &e));
    *out = r.val - d * M_LN2 + e;
    return LYAP_OK;
}

/* log E e^(kappa u) = log sum_k w_k E_k e^(kappa u) for 0 <= a < 1, kappa > 0,
 * outward from the binomial mode. E_k e^(kappa u) increases with k (T_k is
 * stochastically increasing), so the tilt favours large k: going up, the
 * terms left are at most P(K >= k) (1+q)^kappa (u <= log(1+q)); going down,
 * each is smaller than the last. Both stop below WEIGHT_MIN of the sum. */
static int h_log_mgf_interior(int d, double a, double kappa, double *out)
{
    double q = (1.0 - a) * (1.0 + a) / (1.0 + a * a);
    double c = log1p(-0.5 * (1.0 - a) * (1.0 + a)); /* as h_moments_interior */
    beta_integrand b = {0.0, 0, 0, q, 2.0 * a * a / (1.0 + a * a), 0, kappa, 0.0};
    double sum = -INFINITY, term, log_cut = log(WEIGHT_MIN);
    int kmode = d / 2, status = LYAP_OK;
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(QUAD_LIMIT);
    if (!ws)
        return lyap_fail(LYAP_ENOMEM, "theory: cannot allocate a GSL integration workspace");
    for (int k = kmode; k <= d; k++) {
        if (k > kmode && log(gsl_cdf_binomial_Q((unsigned)(k - 1), 0.5, (unsigned)d)) /* P(K >= k) */
                                 + kappa * log1p(q) < sum + log_cut)
            break;
        if ((status = tilt_term(d, k, a, &b, ws, &term)) != LYAP_OK)
            goto done;
        log_add(&sum, term);
    }
    for (int k = kmode - 1; k >= 0; k--) {
        if ((status = tilt_term(d, k, a, &b, ws, &term)) != LYAP_OK)
            goto done;
        log_add(&sum, term);
        if (log(k + 1.0) + term < sum + log_cut) /* the k terms below are each smaller */
            break;
    }
    *out = kappa * c + sum;
done:
    gsl_integration_workspace_free(ws);
    return status;
}

static int h_log_mgf(int d, double a, double kappa, double *out)
{
    LYAP_CALL(check_width(d));
    LYAP_CALL(check_slope(a));
    if (!(kappa >= 0.0 && isfinite(kappa)))
        return lyap_fail(LYAP_EDECK, "theory: tilt kappa = %g must be finite and >= 0", kappa);
    if (kappa == 0.0 || a == 1.0) { /* x^0 = 1; h = 0 at a = 1 */
        *out = 0.0;
        return LYAP_OK;
    }
    return h_log_mgf_interior(d, a, kappa, out);
}

/* ---- public API ------------------------------------------------------------ */

int lyap_theory_h_moments(int d, double a, double *m_h, double *v_h)
{
    double m = 0.0, v = 0.0;
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    int status = h_moments(d, a, &m, &v);
    gsl_set_error_handler(prev);
    if (status == LYAP_OK) {
        if (m_h)
            *m_h = m;
        if (v_h)
            *v_h = v;
    }
    return status;
}

int lyap_theory_h_log_mgf(int d, double a, double kappa, double *value)
{
    double v = 0.0;
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    int status = h_log_mgf(d, a, kappa, &v);
    gsl_set_error_handler(prev);
    if (status == LYAP_OK && value)
        *value = v;
    return status;
}

/* Looks-linear weights (THEORY.md "Looks-linear: exact for every slope"):
 * from layer 1 on, z = u - v evolves linearly, z_{l+1} = (1+a) A_{l+1} z_l,
 * and |x_l| = sqrt(1 + a^2) |z_l|, so the exponents are those of (1+a) A,
 * for every a in [0, 1] (ReLU included: the signal never dies). */
static int looks_linear(lyap_family f, int d, double a, double s2, double out[3])
{
    if (d % 2 != 0)
        return lyap_fail(LYAP_EDECK, "theory: %s needs an even width (h = d/2), not %d", lyap_family_name(f), d);
    double h = 0.5 * d, lambda1 = log1p(a), v = 0.0;
    if (lyap_family_info_of(f)->theory == LYAP_THEORY_GAUSSIAN) { /* gaussian A: chi2_h norms */
        gsl_sf_result psi, psi1;
        LYAP_CALL(gsl_status(gsl_sf_psi_e(0.5 * h, &psi), "gsl_sf_psi", d, 0, a));
        LYAP_CALL(gsl_status(gsl_sf_psi_1_e(0.5 * h, &psi1), "gsl_sf_psi_1", d, 0, a));
        lambda1 += 0.5 * (psi.val - log(0.5 * h)); /* 0.5 (log(1/h) + psi(h/2) + log 2) */
        v = 0.25 * psi1.val;
    }
    out[0] = 0.5 * log(s2) + lambda1;
    out[1] = v;
    out[2] = exp(-2.0 * lambda1);
    return LYAP_OK;
}

static int exact(lyap_family f, int d, double a, double s2, double out[3])
{
    double m_h, v_h, lambda1, extra_v = 0.0;
    const lyap_family_info *info = lyap_family_info_of(f);
    if (!info)
        return lyap_fail(LYAP_EDECK, "theory: family %d is not one of %s", (int)f,
                         lyap_family_choices());
    LYAP_CALL(check_width(d));
    LYAP_CALL(check_slope(a));
    LYAP_CALL(check_variance(s2));
    if (info->looks_linear)
        return looks_linear(f, d, a, s2, out);
    if (a == 0.0) { /* dies with probability >= 2^-d per layer: each row is as likely as its negative */
        out[0] = -INFINITY;
        out[1] = NAN;
        out[2] = INFINITY;
        return LYAP_OK;
    }
    if (info->theory == LYAP_THEORY_NONE) {
        out[0] = out[1] = out[2] = NAN;
        return LYAP_OK;
    }
    LYAP_CALL(h_moments(d, a, &m_h, &v_h));
    if (info->theory == LYAP_THEORY_GAUSSIAN) {
        /* log(s2/d) + psi(d/2) + log 2 = log s2 + (psi(d/2) - log(d/2)): the
         * bracket is O(1/d), so lambda at He scale keeps its digits. */
        gsl_sf_result psi, psi1;
        LYAP_CALL(gsl_status(gsl_sf_psi_e(0.5 * d, &psi), "gsl_sf_psi", d, 0, a));
        LYAP_CALL(gsl_status(gsl_sf_psi_1_e(0.5 * d, &psi1), "gsl_sf_psi_1", d, 0, a));
        lambda1 = 0.5 * ((psi.val - log(0.5 * d)) + m_h);
        extra_v = psi1.val;
    } else {
        lambda1 = 0.5 * m_h; /* log eta = 0.5 log s2 is added below */
    }
    /* Homogeneity (THEORY.md "The sharp boundary"). */
    out[0] = 0.5 * log(s2) + lambda1;
    out[1] = 0.25 * (extra_v + v_h);
    out[2] = exp(-2.0 * lambda1);
    return LYAP_OK;
}

int lyap_theory_exact(lyap_family f, int d, double a, double s2,
                      double *lambda, double *v, double *s2_crit)
{
    double out[3] = {0.0, 0.0, 0.0};
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    int status = exact(f, d, a, s2, out);
    gsl_set_error_handler(prev);
    if (status == LYAP_OK) {
        if (lambda)
            *lambda = out[0];
        if (v)
            *v = out[1];
        if (s2_crit)
            *s2_crit = out[2];
    }
    return status;
}

/* ---- Laplace route ---------------------------------------------------------- */

typedef struct {
    int d;
    double log_a2; /* log a^2: a^2 itself underflows for a < 1e-154 */
} laplace_params;

/* With t = e^s, int_0^inf (e^-t - M^d)/t dt = int_R (e^-t - M(t)^d) ds: the
 * integrand is smooth and decays exponentially at both ends. Both terms are
 * ~1 for small t, so the difference is formed as expm1(-t) - expm1(d log M),
 * with M - 1 from expm1/log1p. At t = inf every term is exactly -1: 0. */
static double laplace_integrand(double s, void *params)
{
    const laplace_params *p = params;
    double t = exp(s);
    double a2t = exp(p->log_a2 + s);
    double m1 = 0.5 * (expm1(-0.5 * log1p(2.0 * t)) + expm1(-0.5 * log1p(2.0 * a2t)));
    return expm1(-t) - expm1(p->d * log1p(m1));
}

static int laplace(int d, double a, double *value)
{
    double part[3] = {0.0, 0.0, 0.0}, err;
    LYAP_CALL(check_width(d));
    LYAP_CALL(check_slope(a));
    if (a == 0.0) { /* M(inf) = 1/2: the integral diverges like the true mean */
        *value = -INFINITY;
        return LYAP_OK;
    }
    /* Split at s = 0 (the e^-t cutoff) and s = -2 log a (where the slope
     * term of M decays): for small a, M^d sits on a plateau near 2^-d in
     * between, which a single semi-infinite map resolves poorly. */
    double s_a = -2.0 * log(a);
    laplace_params p = {d, 2.0 * log(a)};
    gsl_function f = {laplace_integrand, &p};
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(QUAD_LIMIT);
    if (!ws)
        return lyap_fail(LYAP_ENOMEM, "theory: cannot allocate a GSL integration workspace");
    int status = gsl_status(gsl_integration_qagil(&f, 0.0, LAPLACE_EPSABS, LAPLACE_EPSREL,
                                                  QUAD_LIMIT, ws, &part[0], &err),
                            "Laplace quadrature on (-inf, 0]", d, 0, a);
    if (status == LYAP_OK && s_a > 0.0)
        status = gsl_status(gsl_integration_qag(&f, 0.0, s_a, LAPLACE_EPSABS, LAPLACE_EPSREL,
                                                QUAD_LIMIT, QUAD_KEY, ws, &part[1], &err),
                            "Laplace quadrature on [0, -2 log a]", d, 0, a);
    if (status == LYAP_OK)
        status = gsl_status(gsl_integration_qagiu(&f, s_a, LAPLACE_EPSABS, LAPLACE_EPSREL,
                                                  QUAD_LIMIT, ws, &part[2], &err),
                            "Laplace quadrature on [-2 log a, inf)", d, 0, a);
    gsl_integration_workspace_free(ws);
    if (status == LYAP_OK)
        *value = part[0] + part[1] + part[2];
    return status;
}

int lyap_theory_gauss_log_sumsq_laplace(int d, double a, double *value)
{
    double val = 0.0;
    gsl_error_handler_t *prev = gsl_set_error_handler_off();
    int status = laplace(d, a, &val);
    gsl_set_error_handler(prev);
    if (status == LYAP_OK && value)
        *value = val;
    return status;
}

/* Newman's exponents of a product of n x n Gaussian matrices with entries
 * N(0, 1/n): 0.5 (log(1/n) + psi((n-i+1)/2) + log 2), i = 1..n, written as
 * 0.5 (psi((n-i+1)/2) - log(n/2)) to keep digits at large n. */
static int newman_exponent(int n, int i, double *out)
{
    gsl_sf_result psi;
    LYAP_CALL(gsl_status(gsl_sf_psi_e(0.5 * (n - i + 1), &psi), "gsl_sf_psi", n, i, 1.0));
    *out = 0.5 * (psi.val - log(0.5 * n));
    return LYAP_OK;
}

int lyap_theory_spectrum(lyap_family f, int d, double a, double s2, int k, double *exponents)
{
    double lambda;
    LYAP_CALL(lyap_theory_exact(f, d, a, s2, &lambda, NULL, NULL)); /* validates every argument */
    if (k < 1 || k > d)
        return lyap_fail(LYAP_EDECK, "theory: spectrum of %d exponents at width %d; use 1..%d", k, d, d);
    const lyap_family_info *info = lyap_family_info_of(f);
    int looks_linear = info->looks_linear, n = looks_linear ? d / 2 : d;
    int known = info->theory != LYAP_THEORY_NONE && (looks_linear || a == 1.0);
    /* Exponents above 1 are linear in log s2 like lambda (homogeneity), and
     * a looks-linear network is the linear product (1+a) A_l (THEORY.md). */
    double offset = 0.5 * log(s2) + (looks_linear ? log1p(a) : 0.0);
    for (int i = 1; i <= k; i++) {
        double *e = &exponents[i - 1];
        if (a == 0.0 && !looks_linear)
            *e = -INFINITY; /* the network dies (THEORY.md "ReLU") */
        else if (!known)
            *e = i == 1 ? lambda : NAN; /* lambda_1 = lambda (THEORY.md); NaN without a closed form */
        else if (i > n)
            *e = -INFINITY; /* W = [[A,-A],[-A,A]] has rank h */
        else if (info->theory == LYAP_THEORY_ORTHOGONAL)
            *e = offset;
        else {
            LYAP_CALL(newman_exponent(n, i, e));
            *e += offset;
        }
    }
    return LYAP_OK;
}

int lyap_theory_gauss_spectrum_sum(int d, double a, double s2, double *sum)
{
    LYAP_CALL(lyap_theory_exact(LYAP_FAMILY_GAUSSIAN, d, a, s2, NULL, NULL, NULL));
    *sum = 0.5 * d * log(a) + 0.5 * d * log(s2);
    for (int i = 1; i <= d; i++) {
        double e;
        LYAP_CALL(newman_exponent(d, i, &e));
        *sum += e;
    }
    return LYAP_OK;
}

double lyap_theory_death_probability(lyap_family f, int d, double a)
{
    const lyap_family_info *info = lyap_family_info_of(f);
    if (!info || info->dies_at_every_slope) /* positive at small widths, unknown in closed form */
        return NAN;
    return a == 0.0 && !info->looks_linear ? ldexp(1.0, -d) : 0.0;
}

double lyap_theory_standard_variance(lyap_family f, double a)
{
    (void)f; /* He and the standard orthogonal gain coincide (THEORY.md) */
    return 2.0 / (1.0 + a * a);
}
