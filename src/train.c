/* train.c: one training task (train.h). */
#include "lyapdiag/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"
#include "lyapdiag/family.h"
#include "lyapdiag/initnet.h"
#include "lyapdiag/mlp.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/theory.h"

/* Score matching's data: 8 gaussians of this sd on the unit circle. */
#define SCORE_RADIUS 1.0
#define SCORE_COMPONENT_SD 0.1
enum { SCORE_COMPONENTS = 8, INIT_SCORING_INPUTS = 16 };

static const char *const method_names[LYAP_TRAIN_NMETHODS] = {
    "he", "orthogonal", "lyapunov-gaussian", "lyapunov-orthogonal", "lyapunov-sampling", "looks-linear", "lsuv"};

const char *lyap_train_method_name(lyap_train_method m)
{
    return m >= 0 && m < LYAP_TRAIN_NMETHODS ? method_names[m] : "?";
}

int lyap_train_records(const lyap_train_setup *s)
{
    return s->steps / s->record_every + 1;
}

/* ---- data ------------------------------------------------------------------- */

typedef struct {
    int n;
    double *x, *t; /* n_in x n and n_out x n, points contiguous per feature */
} dataset;

static int dims_in(const lyap_train_setup *s)
{
    return s->problem == LYAP_TRAIN_SCORE ? 2 : 1;
}

static void free_data(dataset *d)
{
    free(d->x);
    free(d->t);
    *d = (dataset){0};
}

/* Set WHICH (0 training, 1 test) of SEED: N points. */
static int make_data(const lyap_train_setup *s, uint64_t seed, int which, int n, dataset *d)
{
    int dim = dims_in(s);
    *d = (dataset){n, NULL, NULL};
    double *u = NULL, *z = NULL;
    int status = lyap_alloc(&d->x, (size_t)dim * n, sizeof *d->x, "training data");
    if (status == LYAP_OK)
        status = lyap_alloc(&d->t, (size_t)dim * n, sizeof *d->t, "training data");
    if (status == LYAP_OK)
        status = lyap_alloc(&u, (size_t)n, sizeof *u, "training data");
    if (status == LYAP_OK)
        status = lyap_alloc(&z, 4 * (size_t)n, sizeof *z, "training data");
    if (status != LYAP_OK) {
        free(u), free(z), free_data(d);
        return status;
    }
    lyap_rng rng;
    lyap_rng_init(&rng, seed, 0, (uint64_t)which, 0, LYAP_RNG_TRAIN_DATA);
    lyap_rng_uniform(&rng, u, (size_t)n);
    lyap_rng_normal(&rng, z, 4 * (size_t)n);
    for (int j = 0; j < n; j++) {
        if (s->problem == LYAP_TRAIN_POLYNOMIAL) {
            double x = 2 * u[j] - 1, y = 0, power = 1;
            for (int k = 0; k < s->ncoefficients; k++, power *= x)
                y += s->coefficients[k] * power;
            d->x[j] = x;
            d->t[j] = y + s->noise * z[j];
            continue;
        }
        /* score: x = center + sd z, input x + sigma e, target -e / sigma */
        double angle = 2 * 3.14159265358979323846 * floor(SCORE_COMPONENTS * u[j]) / SCORE_COMPONENTS;
        double center[2] = {SCORE_RADIUS * cos(angle), SCORE_RADIUS * sin(angle)};
        for (int c = 0; c < 2; c++) {
            double e = z[4 * j + 2 + c];
            d->x[(size_t)c * n + j] = center[c] + SCORE_COMPONENT_SD * z[4 * j + c] + s->score_sigma * e;
            d->t[(size_t)c * n + j] = -e / s->score_sigma;
        }
    }
    free(u), free(z);
    return LYAP_OK;
}

/* ---- initialization ----------------------------------------------------------- */

/* The hidden layers of METHOD as `lyapdiag init` draws them. */
static int hidden_layers(const lyap_train_setup *s, const lyap_train_task *t, lyap_initnet *net)
{
    double he = lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, t->slope);
    lyap_initnet_spec spec = {.width = t->width, .slope = t->slope, .depth = t->depth, .seed = t->seed,
                              .candidates = 1, .inputs = INIT_SCORING_INPUTS};
    switch (t->method) {
    case LYAP_TRAIN_HE:
        spec.family = LYAP_FAMILY_GAUSSIAN, spec.variance = he;
        break;
    case LYAP_TRAIN_ORTHOGONAL:
        spec.family = LYAP_FAMILY_ORTHOGONAL, spec.variance = he;
        break;
    case LYAP_TRAIN_LYAPUNOV_GAUSSIAN:
        spec.family = LYAP_FAMILY_GAUSSIAN, spec.variance = NAN;
        break;
    case LYAP_TRAIN_LYAPUNOV_ORTHOGONAL:
        spec.family = LYAP_FAMILY_ORTHOGONAL, spec.variance = NAN;
        break;
    case LYAP_TRAIN_LYAPUNOV_SAMPLING:
        spec.family = LYAP_FAMILY_GAUSSIAN, spec.variance = NAN, spec.candidates = s->candidates;
        break;
    case LYAP_TRAIN_LOOKS_LINEAR:
        spec.family = LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL, spec.variance = 1 / ((1 + t->slope) * (1 + t->slope));
        break;
    case LYAP_TRAIN_LSUV:
        spec.family = LYAP_FAMILY_ORTHOGONAL, spec.variance = 1; /* rescaled afterwards */
        break;
    default:
        return lyap_fail(LYAP_EINTERNAL, "train: unknown method %d", (int)t->method);
    }
    LYAP_CALL(lyap_initnet_check(&spec));
    return lyap_initnet_create(&spec, net);
}

/* Every parameter at step 0: input layer N(0, 2/((1+a^2) n_in)), output
 * layer N(0, 1/d) for every method, the hidden layers by the method,
 * biases 0. */
static int initialize(const lyap_train_setup *s, const lyap_train_task *t, const lyap_mlp_shape *shape,
                      double *params)
{
    lyap_initnet net = {0};
    LYAP_CALL(hidden_layers(s, t, &net));
    size_t dd = (size_t)t->width * t->width;
    for (int l = 1; l <= t->depth; l++)
        memcpy(params + lyap_mlp_layer_of(shape, l).w, net.weights + (size_t)(l - 1) * dd, dd * sizeof *params);
    lyap_initnet_free(&net);
    int ends[2] = {0, t->depth + 1};
    for (int e = 0; e < 2; e++) {
        lyap_mlp_layer l = lyap_mlp_layer_of(shape, ends[e]);
        double sd = e == 0 ? sqrt(2 / ((1 + t->slope * t->slope) * shape->n_in)) : sqrt(1.0 / t->width);
        lyap_rng rng;
        lyap_rng_init(&rng, t->seed, (uint64_t)t->width, 0, (uint64_t)ends[e], LYAP_RNG_TRAIN_LAYERS);
        lyap_rng_normal(&rng, params + l.w, (size_t)l.rows * l.cols);
        for (size_t i = 0; i < (size_t)l.rows * l.cols; i++)
            params[l.w + i] *= sd;
    }
    return LYAP_OK;
}

/* lsuv: hidden layer l = 1..L in order scaled so that its outputs on the
 * first training batch have unit mean square per unit (phi is positively
 * homogeneous and the biases are 0, so scaling W_l scales them). */
static void lsuv(const lyap_mlp_shape *shape, double *params, const double *x, int batch, lyap_mlp_workspace *ws,
                 double *y)
{
    for (int l = 1; l <= shape->depth; l++) {
        lyap_mlp_forward(shape, params, x, batch, ws, y);
        const double *out = lyap_mlp_activations(ws, l);
        double ms = 0;
        for (size_t i = 0; i < (size_t)shape->width * batch; i++)
            ms += out[i] * out[i];
        ms /= (double)shape->width * batch;
        if (!(ms > 0))
            continue; /* a dead layer (ReLU) cannot be rescaled */
        lyap_mlp_layer w = lyap_mlp_layer_of(shape, l);
        for (size_t i = 0; i < (size_t)w.rows * w.cols; i++)
            params[w.w + i] /= sqrt(ms);
    }
}

lyap_mlp_shape lyap_train_shape(const lyap_train_setup *s, const lyap_train_task *t)
{
    return (lyap_mlp_shape){dims_in(s), t->width, t->depth, dims_in(s), t->slope, s->biases};
}

/* ---- training --------------------------------------------------------------- */

typedef struct {
    lyap_mlp_shape shape;
    dataset train, test;
    double *params, *grad, *xb, *tb, *y;
    int *order;
    lyap_mlp_workspace *ws_batch, *ws_train, *ws_test;
    lyap_optimizer *opt;
} trainer;

static void trainer_free(trainer *tr)
{
    free_data(&tr->train), free_data(&tr->test);
    free(tr->params), free(tr->grad), free(tr->xb), free(tr->tb), free(tr->y), free(tr->order);
    lyap_mlp_workspace_destroy(&tr->ws_batch);
    lyap_mlp_workspace_destroy(&tr->ws_train);
    lyap_mlp_workspace_destroy(&tr->ws_test);
    lyap_optimizer_destroy(&tr->opt);
}

static int batch_size(const lyap_train_setup *s)
{
    return s->batch > 0 && s->batch < s->train_points ? s->batch : s->train_points;
}

static void gather_batch(const lyap_train_setup *s, trainer *tr, uint64_t seed, int step, int b);

/* The task's data, network at step 0 (lsuv: rescaled on the first
 * training batch), workspaces and optimizer. */
static int trainer_create(const lyap_train_setup *s, const lyap_train_task *t, trainer *tr)
{
    int dim = dims_in(s), b = batch_size(s), largest = s->train_points > s->test_points ? s->train_points : s->test_points;
    *tr = (trainer){.shape = lyap_train_shape(s, t)};
    size_t n = lyap_mlp_parameter_count(&tr->shape);
    int status = make_data(s, t->seed, 0, s->train_points, &tr->train);
    if (status == LYAP_OK)
        status = make_data(s, t->seed, 1, s->test_points, &tr->test);
    if (status == LYAP_OK)
        status = lyap_alloc(&tr->params, n, sizeof *tr->params, "network");
    if (status == LYAP_OK)
        status = lyap_alloc(&tr->grad, n, sizeof *tr->grad, "gradient");
    if (status == LYAP_OK)
        status = lyap_alloc(&tr->xb, (size_t)dim * b, sizeof *tr->xb, "minibatch");
    if (status == LYAP_OK)
        status = lyap_alloc(&tr->tb, (size_t)dim * b, sizeof *tr->tb, "minibatch");
    if (status == LYAP_OK)
        status = lyap_alloc(&tr->y, (size_t)dim * largest, sizeof *tr->y, "outputs");
    if (status == LYAP_OK)
        status = lyap_alloc(&tr->order, (size_t)s->train_points, sizeof *tr->order, "minibatch order");
    if (status == LYAP_OK)
        status = lyap_mlp_workspace_create(&tr->shape, b, &tr->ws_batch);
    if (status == LYAP_OK)
        status = lyap_mlp_workspace_create(&tr->shape, s->train_points, &tr->ws_train);
    if (status == LYAP_OK)
        status = lyap_mlp_workspace_create(&tr->shape, s->test_points, &tr->ws_test);
    if (status == LYAP_OK)
        status = initialize(s, t, &tr->shape, tr->params);
    if (status == LYAP_OK && t->method == LYAP_TRAIN_LSUV) {
        int full = b == s->train_points;
        if (!full)
            gather_batch(s, tr, t->seed, 0, b);
        lsuv(&tr->shape, tr->params, full ? tr->train.x : tr->xb, b, tr->ws_batch, tr->y);
    }
    if (status == LYAP_OK)
        status = lyap_optimizer_create(t->optimizer, n, t->learning_rate, s->momentum, &tr->opt);
    if (status != LYAP_OK)
        trainer_free(tr);
    return status;
}

/* Mean squared error of the network on SET (forward only). */
static double set_loss(trainer *tr, const dataset *set, lyap_mlp_workspace *ws)
{
    lyap_mlp_forward(&tr->shape, tr->params, set->x, set->n, ws, tr->y);
    size_t n = (size_t)tr->shape.n_out * set->n;
    double loss = 0;
    for (size_t i = 0; i < n; i++)
        loss += (tr->y[i] - set->t[i]) * (tr->y[i] - set->t[i]);
    return loss / (double)n;
}

/* Minibatch STEP's points into xb, tb: consecutive slices of each epoch's
 * permutation (Fisher-Yates from the epoch's own stream). */
static void gather_batch(const lyap_train_setup *s, trainer *tr, uint64_t seed, int step, int b)
{
    int n = s->train_points, per_epoch = n / b, epoch = step / per_epoch, slot = step % per_epoch;
    if (slot == 0) {
        lyap_rng rng;
        double u[1];
        lyap_rng_init(&rng, seed, 0, (uint64_t)epoch, 0, LYAP_RNG_TRAIN_BATCHES);
        for (int i = 0; i < n; i++)
            tr->order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            lyap_rng_uniform32(&rng, u, 1);
            int j = (int)(u[0] * (i + 1)), keep = tr->order[i];
            tr->order[i] = tr->order[j], tr->order[j] = keep;
        }
    }
    int dim = tr->shape.n_in;
    for (int k = 0; k < b; k++) {
        int i = tr->order[slot * b + k];
        for (int c = 0; c < dim; c++) {
            tr->xb[(size_t)c * b + k] = tr->train.x[(size_t)c * n + i];
            tr->tb[(size_t)c * b + k] = tr->train.t[(size_t)c * n + i];
        }
    }
}

int lyap_train_start(const lyap_train_setup *s, const lyap_train_task *t, double *params, double *train_x,
                     double *train_t)
{
    trainer tr;
    LYAP_CALL(trainer_create(s, t, &tr));
    size_t points = (size_t)dims_in(s) * s->train_points;
    memcpy(params, tr.params, lyap_mlp_parameter_count(&tr.shape) * sizeof *params);
    memcpy(train_x, tr.train.x, points * sizeof *train_x);
    memcpy(train_t, tr.train.t, points * sizeof *train_t);
    trainer_free(&tr);
    return LYAP_OK;
}

int lyap_train_run(const lyap_train_setup *s, const lyap_train_task *t, lyap_train_result *out)
{
    return lyap_train_run_polled(s, t, out, NULL, NULL);
}

int lyap_train_run_polled(const lyap_train_setup *s, const lyap_train_task *t, lyap_train_result *out,
                          lyap_train_poll_fn poll, void *ctx)
{
    int nrec = lyap_train_records(s);
    *out = (lyap_train_result){.nrecords = nrec, .final_test_loss = NAN};
    trainer tr;
    LYAP_CALL(trainer_create(s, t, &tr));
    int status = lyap_alloc(&out->train_loss, (size_t)nrec, sizeof *out->train_loss, "losses");
    if (status == LYAP_OK)
        status = lyap_alloc(&out->test_loss, (size_t)nrec, sizeof *out->test_loss, "losses");
    if (status != LYAP_OK) {
        trainer_free(&tr);
        lyap_train_result_free(out);
        return status;
    }
    for (int r = 0; r < nrec; r++)
        out->train_loss[r] = out->test_loss[r] = NAN;
    int b = batch_size(s), full = b == s->train_points;
    out->train_loss[0] = set_loss(&tr, &tr.train, tr.ws_train);
    out->initial_log_gain = lyap_mlp_log_gain(&tr.shape, s->train_points, tr.ws_train);
    out->test_loss[0] = set_loss(&tr, &tr.test, tr.ws_test);
    int step = 0;
    for (; step < s->steps; step++) {
        if (poll && step % LYAP_TRAIN_POLL_STEPS == 0 && step > 0) {
            status = poll(ctx, (double)step / s->steps);
            if (status != LYAP_OK) { /* abandoned: nothing of it is kept */
                trainer_free(&tr);
                lyap_train_result_free(out);
                return status;
            }
        }
        if (!full)
            gather_batch(s, &tr, t->seed, step, b);
        lyap_mlp_forward(&tr.shape, tr.params, full ? tr.train.x : tr.xb, b, tr.ws_batch, tr.y);
        double loss = lyap_mlp_backward(&tr.shape, tr.params, full ? tr.train.t : tr.tb, b, tr.ws_batch, tr.grad);
        if (!isfinite(loss)) {
            out->diverged = 1;
            break;
        }
        lyap_optimizer_step(tr.opt, tr.params, tr.grad);
        if ((step + 1) % s->record_every == 0) {
            int r = (step + 1) / s->record_every;
            out->train_loss[r] = set_loss(&tr, &tr.train, tr.ws_train);
            out->test_loss[r] = set_loss(&tr, &tr.test, tr.ws_test);
            if (!isfinite(out->train_loss[r])) {
                out->diverged = 1;
                step++; /* that step's update was made */
                break;
            }
        }
    }
    out->steps_done = step;
    if (!out->diverged) {
        double final = set_loss(&tr, &tr.test, tr.ws_test);
        out->diverged = !isfinite(final);
        out->final_test_loss = out->diverged ? NAN : final;
    }
    trainer_free(&tr);
    return LYAP_OK;
}

void lyap_train_result_free(lyap_train_result *r)
{
    free(r->train_loss);
    free(r->test_loss);
    r->train_loss = r->test_loss = NULL;
}

/* ---- memory (checked before any work: trainsched.c) ---------------------------- */

double lyap_train_task_bytes(const lyap_train_setup *s, const lyap_train_task *t)
{
    /* As train.c's trainer holds them (mlp.h's flat parameters and its
     * three workspaces, optim.h's state), in doubles. */
    int dim = s->problem == LYAP_TRAIN_SCORE ? 2 : 1;
    lyap_mlp_shape shape = {dim, t->width, t->depth, dim, t->slope, s->biases};
    double params = (double)lyap_mlp_parameter_count(&shape), depth = t->depth, d = t->width;
    int batch = s->batch > 0 && s->batch < s->train_points ? s->batch : s->train_points;
    double points = (double)s->train_points + s->test_points, largest = fmax(s->train_points, s->test_points);
    double workspaces = (lyap_mlp_workspace_bytes(&shape, batch) + lyap_mlp_workspace_bytes(&shape, s->train_points) +
                         lyap_mlp_workspace_bytes(&shape, s->test_points)) / sizeof(double);
    double data = 2 * dim * points + 5 * largest + 2 * dim * (double)batch + dim * largest + s->train_points;
    /* Step 0 holds init's weights (twice for lyapunov-sampling's spare)
     * beside the parameters and gradient; the optimizer comes after them. */
    double init = depth * d * d * (t->method == LYAP_TRAIN_LYAPUNOV_SAMPLING && s->candidates > 1 ? 2 : 1);
    double optimizer = params * (t->optimizer == LYAP_OPTIM_ADAM ? 2 : 1);
    return 8 * (2 * params + workspaces + data + fmax(init, optimizer));
}
