/* initnet.c: `lyapdiag init`, Lyapunov initialization (see initnet.h):
 * draw candidate networks at the critical variance, score each by its mean
 * log gain over shared unit inputs, keep the one closest to 0. */
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lyapdiag/error.h"
#include "lyapdiag/initnet.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/theory.h"
#include "lyapdiag/weights.h"

/* Scratch for drawing and scoring one candidate. */
typedef struct {
    const lyap_initnet_spec *spec;
    double s2;              /* the variance used */
    uint64_t key;           /* task key of the streams */
    int block;              /* width of a sampled matrix: h = d/2 for looks-linear, else d */
    lyap_weights *sampler;
    double *raw;            /* [block^2] one draw, column-major, before scaling */
    double *inputs;         /* [d * inputs] the shared scoring inputs */
    double *x, *y;          /* [d * inputs] activations, scratch */
    double *increments;     /* [inputs] one layer's log-norm increments */
} workspace;

static uint64_t stream_key(const lyap_initnet_spec *spec)
{
    return lyap_rng_task_key(spec->family, spec->width, spec->slope, 0);
}

/* s2 = the user's variance, else s2_crit (THEORY.md "The sharp boundary"). */
static int resolve_variance(const lyap_initnet_spec *spec, double *s2, int *critical)
{
    *critical = isnan(spec->variance);
    if (!*critical) {
        *s2 = spec->variance;
        return LYAP_OK;
    }
    LYAP_CALL(lyap_theory_exact(spec->family, spec->width, spec->slope, 1.0, NULL, NULL, s2));
    if (isnan(*s2))
        return lyap_fail(LYAP_EUSAGE, "--family %s has no closed-form critical variance (doc/THEORY.md); give "
                         "--variance S2 (e.g. variance_crit from a `lyapdiag run` deck)", lyap_family_name(spec->family));
    if (isinf(*s2))
        return lyap_fail(LYAP_EUSAGE, "--slope 0 (ReLU) has no finite critical variance for %s weights (a layer "
                         "kills the signal with probability 2^-d, so lambda = -inf; doc/THEORY.md); give --variance "
                         "S2, a slope > 0, or a looks-linear family", lyap_family_name(spec->family));
    return LYAP_OK;
}

/* Bytes held at once: the chosen network, a candidate being drawn (when
 * there are several), the batch and one raw draw. */
static double bytes_needed(const lyap_initnet_spec *spec)
{
    double d = spec->width, network = 8.0 * spec->depth * d * d;
    return (spec->candidates > 1 ? 2 : 1) * network + 8.0 * (d * d + 3.0 * d * spec->inputs + spec->candidates);
}

int lyap_initnet_check(const lyap_initnet_spec *spec)
{
    double s2;
    int critical;
    if (lyap_family_info_of(spec->family)->looks_linear && spec->width % 2 != 0)
        return lyap_fail(LYAP_EUSAGE, "--width %d is odd, but --family %s weights W = [[A, -A], [-A, A]] need an "
                         "even width; give an even --width", spec->width, lyap_family_name(spec->family));
    LYAP_CALL(resolve_variance(spec, &s2, &critical));
    double need = bytes_needed(spec), have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (have > 0 && need > have)
        return lyap_fail(LYAP_ENOMEM, "the network needs about %.1f GB (%s%d layers x %d^2 doubles) but this node has "
                         "%.1f GB; reduce --depth or --width", need / 1e9, spec->candidates > 1 ? "2 networks x " : "",
                         spec->depth, spec->width, have / 1e9);
    return LYAP_OK;
}

int lyap_initnet_check_output(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return lyap_fail(LYAP_EIO, "--output %s: is a directory; give a file name (e.g. --output %s%sW.nc)", path, path,
                         path[0] && path[strlen(path) - 1] == '/' ? "" : "/");
    char *copy = strdup(path);
    if (!copy)
        return lyap_fail(LYAP_ENOMEM, "--output %s: out of memory", path);
    const char *dir = dirname(copy);
    int status = LYAP_OK;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        status = lyap_fail(LYAP_EIO, "--output %s: directory %s does not exist; create it or choose another --output",
                           path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        status = lyap_fail(LYAP_EIO, "--output %s: cannot create files in %s; choose another --output", path, dir);
    free(copy);
    return status;
}

void lyap_initnet_draw_inputs(const lyap_initnet_spec *spec, double *x)
{
    lyap_rng rng;
    int d = spec->width;
    lyap_rng_init(&rng, spec->seed, stream_key(spec), 0, 0, LYAP_RNG_INIT_INPUTS);
    lyap_rng_normal(&rng, x, (size_t)d * spec->inputs);
    for (int j = 0; j < spec->inputs; j++) { /* a normalized Gaussian vector is uniform on the sphere */
        double *col = x + (size_t)j * d, sum = 0;
        for (int i = 0; i < d; i++)
            sum += col[i] * col[i];
        for (int i = 0; i < d; i++)
            col[i] /= sqrt(sum);
    }
}

/* W's rows 0..b-1, columns 0..b-1 (row-major, leading dimension d) = SCALE
 * times the b x b draw RAW read row by row: W is the transpose of the
 * column-major draw. Every entry law here (i.i.d. entries, Haar) is the
 * law of its transpose, and a contiguous copy beats a transposing one
 * (at d = 1024 the strided writes missed the TLB at every store and took
 * half of `init`). */
static void put_scaled(int b, int d, double scale, const double *raw, double *W)
{
    for (int i = 0; i < b; i++)
        for (int j = 0; j < b; j++)
            W[(size_t)i * d + j] = scale * raw[(size_t)i * b + j];
}

/* Layer LAYER (1-based) of CANDIDATE into W (d x d row-major, scaled):
 * the draw itself, or for looks-linear [[A, -A], [-A, A]] from the h x h
 * draw A (THEORY.md "Weight families"). */
static int draw_layer(workspace *ws, int candidate, int layer, double *W)
{
    lyap_rng rng;
    double scale;
    int d = ws->spec->width, h = ws->block;
    lyap_rng_init(&rng, ws->spec->seed, ws->key, (uint64_t)candidate, (uint64_t)layer, LYAP_RNG_WEIGHTS);
    LYAP_CALL(lyap_weights_draw(ws->sampler, &rng, ws->s2, ws->raw, &scale));
    put_scaled(h, d, scale, ws->raw, W);
    if (h == d)
        return LYAP_OK;
    for (int i = 0; i < h; i++) {
        double *top = W + (size_t)i * d, *bottom = W + (size_t)(h + i) * d;
        for (int j = 0; j < h; j++) {
            top[h + j] = -top[j];
            bottom[j] = -top[j];
            bottom[h + j] = top[j];
        }
    }
    return LYAP_OK;
}

/* Draws CANDIDATE into NETWORK layer by layer, pushing the shared inputs
 * through it; *SCORE = mean over inputs of log(|x_L|/|x_0|). */
static int draw_and_score(workspace *ws, int candidate, double *network, double *score)
{
    const lyap_initnet_spec *spec = ws->spec;
    int d = spec->width, batch = spec->inputs;
    double sum = 0;
    memcpy(ws->x, ws->inputs, (size_t)d * batch * sizeof *ws->x);
    for (int l = 1; l <= spec->depth; l++) {
        double *W = network + (size_t)(l - 1) * d * d;
        LYAP_CALL(draw_layer(ws, candidate, l, W));
        lyap_propagate_apply(d, batch, spec->slope, W, ws->x, ws->y, ws->increments);
        for (int j = 0; j < batch; j++)
            sum += ws->increments[j];
    }
    *score = sum / batch;
    return LYAP_OK;
}

static int workspace_create(const lyap_initnet_spec *spec, double s2, workspace *ws)
{
    size_t cells = (size_t)spec->width * spec->inputs;
    *ws = (workspace){.spec = spec, .s2 = s2, .key = stream_key(spec), .block = spec->width};
    if (lyap_family_info_of(spec->family)->looks_linear)
        ws->block = spec->width / 2;
    LYAP_CALL(lyap_weights_create(lyap_family_info_of(spec->family)->entries, ws->block, &ws->sampler));
    LYAP_CALL(lyap_alloc(&ws->raw, (size_t)ws->block * ws->block, sizeof *ws->raw, "weight draw"));
    LYAP_CALL(lyap_alloc(&ws->inputs, cells, sizeof *ws->inputs, "scoring inputs"));
    LYAP_CALL(lyap_alloc(&ws->x, cells, sizeof *ws->x, "activations"));
    LYAP_CALL(lyap_alloc(&ws->y, cells, sizeof *ws->y, "pre-activations"));
    LYAP_CALL(lyap_alloc(&ws->increments, (size_t)spec->inputs, sizeof *ws->increments, "increments"));
    lyap_initnet_draw_inputs(spec, ws->inputs);
    return LYAP_OK;
}

static void workspace_free(workspace *ws)
{
    lyap_weights_destroy(&ws->sampler);
    free(ws->raw);
    free(ws->inputs);
    free(ws->x);
    free(ws->y);
    free(ws->increments);
}

/* Scores every candidate; the best so far stays in net->weights, the next
 * is drawn into *SPARE (NULL for a single candidate) and swapped in if
 * better. Ties keep the earlier candidate. */
static int choose(workspace *ws, lyap_initnet *net, double **spare)
{
    for (int c = 0; c < net->spec.candidates; c++) {
        double *W = *spare ? *spare : net->weights;
        LYAP_CALL(draw_and_score(ws, c, W, &net->scores[c]));
        if (c == 0 || fabs(net->scores[c]) < fabs(net->scores[net->chosen])) {
            net->chosen = c;
            if (*spare) {
                *spare = net->weights;
                net->weights = W;
            }
        }
    }
    return LYAP_OK;
}

int lyap_initnet_create(const lyap_initnet_spec *spec, lyap_initnet *net)
{
    workspace ws = {0};
    double *spare = NULL;
    size_t network = (size_t)spec->depth * spec->width * spec->width;
    *net = (lyap_initnet){.spec = *spec};
    int status = lyap_initnet_check(spec);
    if (status == LYAP_OK)
        status = resolve_variance(spec, &net->variance, &net->variance_is_critical);
    if (status == LYAP_OK)
        status = lyap_alloc(&net->weights, network, sizeof *net->weights, "network weights");
    if (status == LYAP_OK && spec->candidates > 1)
        status = lyap_alloc(&spare, network, sizeof *spare, "candidate weights");
    if (status == LYAP_OK)
        status = lyap_alloc(&net->scores, (size_t)spec->candidates, sizeof *net->scores, "candidate scores");
    if (status == LYAP_OK)
        status = workspace_create(spec, net->variance, &ws);
    if (status == LYAP_OK)
        status = choose(&ws, net, &spare);
    free(spare);
    workspace_free(&ws);
    if (status != LYAP_OK)
        lyap_initnet_free(net);
    return status;
}

void lyap_initnet_free(lyap_initnet *net)
{
    free(net->weights);
    free(net->scores);
    *net = (lyap_initnet){0};
}
