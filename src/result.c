/* result.c: the task result and the output schema (see
 * include/lyapdiag/result.h). CF-1.8 style: every variable has units and a
 * long_name; flags carry flag_values and flag_meanings; NaN marks missing
 * data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"
#include "lyapdiag/result.h"

const lyap_result_axis lyap_result_axes[LYAP_NAXES] = {
    {"variance", "1", "weight variance s2: entries N(0, s2/d); eta^2 for orthogonal"},
    {"bias_variance", "1", "bias variance sb2 per coordinate: biases N(0, sb2), fresh each layer"},
    {"depth", "layers", "recorded depth L"},
    {"spectrum_index", "1", "index i of the Lyapunov exponent lambda_i (1 = largest)"},
};

#define FIELD(member) offsetof(lyap_task_result, member)
#define V LYAP_AXIS_VARIANCE
#define D LYAP_AXIS_DEPTH
#define K LYAP_AXIS_SPECTRUM
#define B LYAP_AXIS_BIAS
/* float64 values at member FIELD of lyap_task_result */
#define REAL_ROW(name, axes, field, units, long_name, comment) \
    {name, axes, LYAP_STORE_REAL, offsetof(lyap_task_result, field), units, long_name, comment, NULL, 0, 0, 0, 0}
/* the same, present only in a file with biases (bias_variance axis on) */
#define BIAS_ROW(name, axes, field, units, long_name, comment) \
    {name, axes, LYAP_STORE_REAL, offsetof(lyap_task_result, field), units, long_name, comment, NULL, 0, \
     LYAP_AXIS_BIAS, 0, 0}
/* the same, present only with [sampling] input_cosine, over the bias
 * variances too where the deck has them */
#define PAIR_ROW(name, axes, field, units, long_name, comment) \
    {name, axes, LYAP_STORE_REAL, offsetof(lyap_task_result, field), units, long_name, comment, NULL, 0, 0, \
     LYAP_AXIS_BIAS, 1}
/* int8 flags FLAG_MIN, FLAG_MIN + 1, ... named by the words of MEANINGS */
#define FLAG_ROW(name, axes, where, units, long_name, comment, meanings, flag_min) \
    {name, axes, LYAP_STORE_FLAG, where, units, long_name, comment, meanings, flag_min, 0, 0, 0}

/* In file order. */
const lyap_result_variable lyap_result_variables[] = {
    REAL_ROW("lambda", V, lambda, "1",
     "Lyapunov exponent per layer, Monte Carlo (natural log growth rate of |x_L|)",
     "-inf where death_probability > 0 (a layer maps the signal to exactly 0: slope 0, or lattice weights "
     "whose rows cancel); looks-linear families: from layer 2 on (the first layer is a transient, "
     "doc/THEORY.md)"),
    REAL_ROW("lambda_stderr", V, lambda_stderr, "1",
     "standard error of lambda (from independent replica means)", "0 where lambda = -inf exactly (death_probability > 0)"),
    REAL_ROW("lambda_theory", V, lambda_theory, "1",
     "exact Lyapunov exponent per layer",
     "NaN where no closed form exists (families without theory: `lyapdiag theory` says which); -inf at "
     "slope 0 except looks-linear families"),
    REAL_ROW("clt_variance", V, clt_variance, "1",
     "CLT variance per layer of log|x_L|, Monte Carlo (long-run variance of the increment series)",
     "NaN where lambda = -inf (death_probability > 0)"),
    REAL_ROW("clt_variance_stderr", V, clt_variance_stderr, "1",
     "standard error of clt_variance", NULL),
    REAL_ROW("clt_variance_theory", V, clt_variance_theory, "1",
     "exact CLT variance per layer", "NaN where no closed form exists, and at slope 0"),
    FLAG_ROW("phase", V, FIELD(phase), "1",
     "phase: -1 vanishing, 0 critical (|lambda| < 3 lambda_stderr + 1e-12), +1 exploding", NULL,
     "vanishing critical exploding", -1),
    REAL_ROW("variance_crit", 0, variance_crit, "1",
     "critical variance s2_crit where lambda = 0 (Lyapunov initialization), Monte Carlo",
     "+inf where death_probability > 0 (no finite variance reaches the boundary)"),
    REAL_ROW("variance_crit_stderr", 0, variance_crit_stderr, "1",
     "standard error of variance_crit (delta method: 2 s2_crit lambda_stderr)", NULL),
    REAL_ROW("variance_crit_theory", 0, variance_crit_theory, "1",
     "exact critical variance exp(-2 lambda(s2 = 1))",
     "NaN where no closed form exists (families without theory); +inf at slope 0 except looks-linear "
     "families"),
    REAL_ROW("death_probability", 0, death_probability, "1",
     "probability per layer that the signal is mapped to exactly 0 (2^-width at slope 0, else 0; "
     "always 0 for looks-linear families)",
     "families whose rows can cancel at any slope (rademacher): the Monte Carlo rate of exact deaths per "
     "live layer-step, 0 if none was seen; where it is > 0, lambda = -inf as at slope 0"),
    REAL_ROW("replicas_used", 0, replicas_used, "1",
     "independent networks simulated (fewer than [sampling] replicas when target_stderr stopped early)",
     "with verify_homogeneity: those of the first variance"),
    REAL_ROW("logn_mean", V | D, logn_mean, "1",
     "mean of log(|x_L|/|x_0|) at recorded depth L, Monte Carlo",
     "where networks die (death_probability > 0): conditional on survival (see survival)"),
    REAL_ROW("logn_var", V | D, logn_var, "1",
     "variance of log(|x_L|/|x_0|) at recorded depth L, Monte Carlo",
     "where networks die (death_probability > 0): conditional on survival (see survival)"),
    REAL_ROW("spectrum", V | K, spectrum, "1",
     "Lyapunov spectrum of the input-output Jacobian, Monte Carlo (QR/Benettin): lambda_1 >= lambda_2 >= ...",
     "spectrum_index i = 1..K ([sampling] spectrum); lambda_1 = lambda; NaN beyond the width; -inf where "
     "exact (looks-linear beyond h = width/2, where W has rank h; slope 0 for families that die); NaN for "
     "lattice weights (rademacher), whose products lose rank exactly where QR sees only rounding noise"),
    REAL_ROW("spectrum_stderr", V | K, spectrum_stderr, "1",
     "standard error of spectrum (from independent replicas)", NULL),
    REAL_ROW("spectrum_theory", V | K, spectrum_theory, "1",
     "exact Lyapunov spectrum", "Newman's formula for gaussian at slope 1; log eta for orthogonal at slope 1; "
     "looks-linear families at every slope; NaN where doc/THEORY.md gives no per-index value"),
    REAL_ROW("isometry_gap", V, isometry_gap, "1",
     "distance from dynamical isometry: lambda_1 - lambda_K, Monte Carlo",
     "0 = perfect isometry; +inf when lambda_K = -inf; does not depend on the variance"),
    REAL_ROW("isometry_gap_stderr", V, isometry_gap_stderr, "1",
     "standard error of isometry_gap", NULL),
    REAL_ROW("p_vanish", V | D, p_vanish, "1",
     "probability that |x_L| < eps |x_0| at depth L, Monte Carlo (eps: global attribute)",
     "includes networks that died (death_probability > 0); stderr from independent replicas"),
    REAL_ROW("p_vanish_stderr", V | D, p_vanish_stderr, "1",
     "standard error of p_vanish (binomial, from the spread of replica fractions)", NULL),
    REAL_ROW("p_vanish_theory", V | D, p_vanish_theory, "1",
     "exact probability that |x_L| < eps |x_0| (FFT convolution power of the exact per-layer law)",
     "families with an exact law only (the exact path's); NaN for the others"),
    REAL_ROW("p_explode", V | D, p_explode, "1",
     "probability that |x_L| > |x_0| / eps at depth L, Monte Carlo", NULL),
    REAL_ROW("p_explode_stderr", V | D, p_explode_stderr, "1",
     "standard error of p_explode", NULL),
    REAL_ROW("p_explode_theory", V | D, p_explode_theory, "1",
     "exact probability that |x_L| > |x_0| / eps (FFT convolution power of the exact per-layer law)",
     "families with an exact law only (the exact path's); NaN for the others"),
    REAL_ROW("autocorr_time", 0, autocorr_time, "layers",
     "integrated autocorrelation time tau_int = 1/2 + sum_k rho_k of the per-layer log-norm increments",
     "1/2 = independent increments, exact on the exact path; matrix path: FFT autocorrelation with "
     "Sokal's window (c = 5), and clt_variance = 2 tau_int gamma_0; NaN if the window did not close"),
    REAL_ROW("autocorr_time_stderr", 0, autocorr_time_stderr, "layers",
     "standard error of autocorr_time", NULL),
    REAL_ROW("survival", D, survival, "1",
     "fraction of Monte Carlo samples with |x_L| > 0 at depth L (below 1 only where death_probability > 0)",
     NULL),
    REAL_ROW("signal_mean", V | B | D, signal_mean, "1",
     "mean of the signal m_L = |x_L|^2/d at recorded depth L with biases, Monte Carlo (inputs |x_0|^2/d = "
     "input_m0)",
     "gaussian weights: the exact chain; orthogonal: an O(d) chain; other families: the matrix path with "
     "bias vectors (doc/THEORY.md \"Biases\"); its stderr from independent replicas is unreliable where the "
     "tail index is below 2 (heavy tail), and at bias_variance 0 past a few layers (m_L is then a product "
     "whose mean rare chains carry)"),
    REAL_ROW("signal_mean_stderr", V | B | D, signal_mean_stderr, "1",
     "standard error of signal_mean (from independent replica means)", NULL),
    REAL_ROW("signal_q05", V | B | D, signal_q05, "1",
     "5% quantile of m_L with biases, Monte Carlo (replicas x batch independent chains)", NULL),
    REAL_ROW("signal_median", V | B | D, signal_median, "1",
     "median of m_L with biases, Monte Carlo", NULL),
    REAL_ROW("signal_median_stderr", V | B | D, signal_median_stderr, "1",
     "standard error of signal_median: half the distance between the order statistics one binomial "
     "stderr, sqrt(1/(4n)), either side of 1/2", NULL),
    REAL_ROW("signal_q95", V | B | D, signal_q95, "1",
     "95% quantile of m_L with biases, Monte Carlo", NULL),
    REAL_ROW("signal_mean_meanfield", V | B | D, signal_mean_meanfield, "1",
     "mean-field iterate m_L of m_l = (1+a^2)/2 (s2 m_{l-1} + sb2) from input_m0",
     "exactly E m_L at every width for weights with symmetric i.i.d. entries or Haar rotations "
     "(doc/THEORY.md); +inf once it overflows"),
    REAL_ROW("signal_q05_exact", V | B | D, signal_q05_exact, "1",
     "exact 5% quantile of m_L at finite width with biases (the law of the scalar chain on a grid, doc/THEORY.md)",
     "gaussian weights only, NaN otherwise and where the law's grid would pass 2^22 points; +inf past DBL_MAX"),
    REAL_ROW("signal_median_exact", V | B | D, signal_median_exact, "1",
     "exact median of m_L at finite width with biases", "as signal_q05_exact"),
    REAL_ROW("signal_q95_exact", V | B | D, signal_q95_exact, "1",
     "exact 95% quantile of m_L at finite width with biases", "as signal_q05_exact"),
    BIAS_ROW("tail_index", V, tail_index, "1",
     "Kesten-Goldie tail index kappa of the stationary signal with biases: P(q > t) ~ t^-kappa, E[A^kappa] = 1",
     "gaussian weights only, NaN otherwise; NaN where lambda >= 0 (no stationary law) and at slope 0; "
     "independent of the bias variance; kappa < 1 (infinite mean) between He and s2_crit"),
    FLAG_ROW("phase_bias", V | B, FIELD(phase_bias), "1",
     "phase with biases: -1 stationary, 0 undecided, +1 exploding, from the Monte Carlo lambda (Kesten: "
     "stationary exactly when lambda < 0, for every sb2 > 0)",
     "the phase variable's test (|lambda| < 3 lambda_stderr + 1e-12 undecided); at bias_variance 0, -1 "
     "means vanishing (the stationary law is the point mass at 0)",
     "stationary undecided exploding", -1),
    FLAG_ROW("phase_bias_meanfield", V | B, FIELD(phase_bias_meanfield), "1",
     "phase with biases by mean-field theory: -1 stationary (s2 < He), +1 exploding (s2 >= He)", NULL,
     "stationary undecided exploding", -1),
    PAIR_ROW("corr_mean", V | D, corr_mean, "1",
     "mean cosine of two inputs x_L . y_L / (|x_L| |y_L|) at recorded depth L through the same network, Monte "
     "Carlo (inputs of |x_0|^2/d = input_m0 at cosine input_cosine)",
     "gaussian weights: the exact (q_x, q_y, x.y) chain (d bivariate normals a layer); other families: the "
     "matrix path with pairs of inputs; a pair with an input exactly 0 (ReLU without biases) is left out"),
    PAIR_ROW("corr_std", V | D, corr_std, "1",
     "standard deviation of that cosine over networks (its spread at finite width, not a standard error)",
     NULL),
    PAIR_ROW("corr_meanfield", V | D, corr_meanfield, "1",
     "mean-field cosine at depth L (the Leaky ReLU correlation map iterated, doc/THEORY.md \"Two inputs\")",
     "the width -> infinity limit: no spread"),
    FLAG_ROW("done", 0, LYAP_RESULT_DONE_MASK, "1", "task completion mask: 1 computed, 0 missing", NULL,
     "missing computed", 0),
};
/* Every pointer of lyap_task_result has its row (the done mask has none). */
_Static_assert(sizeof lyap_result_variables / sizeof lyap_result_variables[0] - 1 ==
                   (sizeof(lyap_task_result) - offsetof(lyap_task_result, lambda)) / sizeof(double *),
               "lyap_result_variables[] and lyap_task_result list different variables");

const int lyap_result_nvariables = (int)(sizeof lyap_result_variables / sizeof lyap_result_variables[0]);

lyap_result_dims lyap_result_dims_of_deck(const lyap_deck *deck)
{
    return (lyap_result_dims){.nvariances = deck->nvariances, .ndepths = deck->ndepths,
                              .nspectrum = lyap_deck_spectrum_axis(deck),
                              .nbias = lyap_deck_has_biases(deck) ? deck->nbias_variances : 0,
                              .npairs = deck->input_cosine_on};
}

int lyap_result_axis_length(lyap_result_dims dims, int i)
{
    const int lengths[LYAP_NAXES] = {dims.nvariances, dims.nbias, dims.ndepths, dims.nspectrum};
    return i >= 0 && i < LYAP_NAXES ? lengths[i] : 0;
}

size_t lyap_result_axes_size(unsigned axes, lyap_result_dims dims)
{
    size_t n = 1;
    for (int i = 0; i < LYAP_NAXES; i++)
        if (axes & (1u << i))
            n *= (size_t)lyap_result_axis_length(dims, i);
    return n;
}

unsigned lyap_result_axes_of(const lyap_result_variable *var, lyap_result_dims dims)
{
    unsigned axes = var->axes;
    for (int i = 0; i < LYAP_NAXES; i++)
        if ((var->where_on & (1u << i)) && lyap_result_axis_length(dims, i) > 0)
            axes |= 1u << i;
    return axes;
}

int lyap_result_is_present(const lyap_result_variable *var, lyap_result_dims dims)
{
    if (var->needs_pairs && dims.npairs == 0)
        return 0;
    for (int i = 0; i < LYAP_NAXES; i++)
        if (((var->axes | var->present_with) & (1u << i)) && lyap_result_axis_length(dims, i) == 0)
            return 0;
    return 1;
}

size_t lyap_result_values_per_task(const lyap_result_variable *var, lyap_result_dims dims)
{
    return lyap_result_is_present(var, dims) ? lyap_result_axes_size(lyap_result_axes_of(var, dims), dims) : 0;
}

double *lyap_result_values(const lyap_task_result *result, const lyap_result_variable *var)
{
    if (var->field == LYAP_RESULT_DONE_MASK)
        return NULL;
    return *(double *const *)((const char *)result + var->field);
}

size_t lyap_task_result_length(lyap_result_dims dims)
{
    size_t n = 0;
    for (int v = 0; v < lyap_result_nvariables; v++)
        if (lyap_result_variables[v].field != LYAP_RESULT_DONE_MASK)
            n += lyap_result_values_per_task(&lyap_result_variables[v], dims);
    return n;
}

int lyap_task_result_init(lyap_task_result *r, lyap_result_dims dims)
{
    memset(r, 0, sizeof *r);
    r->dims = dims;
    r->length = lyap_task_result_length(dims);
    LYAP_CALL(lyap_alloc(&r->buf, r->length, sizeof *r->buf, "task result"));
    double *p = r->buf;
    for (size_t i = 0; i < r->length; i++)
        p[i] = NAN;
    for (int v = 0; v < lyap_result_nvariables; v++) {
        const lyap_result_variable *var = &lyap_result_variables[v];
        if (var->field == LYAP_RESULT_DONE_MASK)
            continue;
        *(double **)((char *)r + var->field) = p;
        p += lyap_result_values_per_task(var, dims);
    }
    return LYAP_OK;
}

void lyap_task_result_free(lyap_task_result *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

void lyap_result_print_schema(FILE *out)
{
    for (int v = 0; v < lyap_result_nvariables; v++) {
        const lyap_result_variable *var = &lyap_result_variables[v];
        fprintf(out, "%s(family, width, slope", var->name);
        for (int i = 0; i < LYAP_NAXES; i++)
            if ((var->axes | var->where_on) & (1u << i))
                fprintf(out, var->where_on & (1u << i) ? ", [%s]" : ", %s", lyap_result_axes[i].name);
        fprintf(out, ") %s, units %s\n    %s\n", var->storage == LYAP_STORE_FLAG ? "int8" : "float64", var->units,
                var->long_name);
        if (var->comment)
            fprintf(out, "    note: %s\n", var->comment);
        for (int i = 0; i < LYAP_NAXES; i++)
            if (var->present_with & (1u << i))
                fprintf(out, "    present only in files with the %s axis\n", lyap_result_axes[i].name);
        for (int i = 0; i < LYAP_NAXES; i++)
            if (var->where_on & (1u << i))
                fprintf(out, "    [%s]: only in files with that axis\n", lyap_result_axes[i].name);
        if (var->needs_pairs)
            fprintf(out, "    present only with [sampling] input_cosine\n");
    }
}
