/* train.h: one training task of `lyapdiag train` (THEORY.md "Training"):
 * a deep narrow network initialized by one method, trained by one
 * optimizer at one learning rate on one seed's data, its losses recorded.
 *
 * A task's numbers depend only on its own coordinates and the seed: the
 * data (and the minibatch order) on the seed alone, so every method sees
 * the same data; the hidden layers on (seed, method's family, width,
 * slope) through `lyapdiag init`'s streams (initnet.h); the input and
 * output layers on (seed, width) alone.
 */
#ifndef LYAPDIAG_TRAIN_H
#define LYAPDIAG_TRAIN_H

#include <stdint.h>

#include "lyapdiag/mlp.h"
#include "lyapdiag/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LYAP_TRAIN_HE,                  /* gaussian, s2 = 2/(1+a^2) */
    LYAP_TRAIN_ORTHOGONAL,          /* orthogonal, eta^2 = 2/(1+a^2) */
    LYAP_TRAIN_LYAPUNOV_GAUSSIAN,   /* gaussian at the exact s2_crit(d, a) */
    LYAP_TRAIN_LYAPUNOV_ORTHOGONAL, /* orthogonal at the exact eta^2_crit(d, a) */
    LYAP_TRAIN_LYAPUNOV_SAMPLING,   /* the best of N gaussian candidates at s2_crit (init's choice) */
    LYAP_TRAIN_LOOKS_LINEAR,        /* [[A, -A], [-A, A]], A orthogonal at eta = 1/(1+a); even widths */
    LYAP_TRAIN_LSUV,                /* orthogonal, then each layer scaled to unit mean square outputs */
    LYAP_TRAIN_NMETHODS
} lyap_train_method;

/* The method's name in decks and files ("he", "lyapunov-gaussian", ...). */
const char *lyap_train_method_name(lyap_train_method m);

typedef enum { LYAP_TRAIN_POLYNOMIAL, LYAP_TRAIN_SCORE } lyap_train_problem;

enum { LYAP_TRAIN_MAX_COEFFICIENTS = 16 };

/* What every task of a deck shares (its [train] section). */
typedef struct {
    lyap_train_problem problem;
    int ncoefficients;      /* polynomial: ascending powers, inputs U(-1, 1) */
    double coefficients[LYAP_TRAIN_MAX_COEFFICIENTS];
    double noise;           /* polynomial: sd of gaussian label noise */
    double score_sigma;     /* score: the noise level of denoising score matching */
    int train_points, test_points;
    int steps, batch;       /* batch 0 = full batch */
    int record_every;       /* losses at steps 0, r, 2r, ..., steps */
    int biases;             /* 1: trained (initialized to 0); 0: none */
    int candidates;         /* lyapunov-sampling */
    double momentum;        /* sgd */
} lyap_train_setup;

/* One task's coordinates. */
typedef struct {
    lyap_train_method method;
    int width, depth;
    double slope;
    lyap_optim_kind optimizer;
    double learning_rate;
    uint64_t seed;
} lyap_train_task;

/* What a task leaves: losses at each record (NaN after a divergence). */
typedef struct {
    int nrecords;            /* steps / record_every + 1 */
    double *train_loss, *test_loss; /* [nrecords] */
    double final_test_loss;  /* the test loss after the last step (NaN if diverged) */
    int diverged;            /* a non-finite loss stopped it */
    double initial_log_gain; /* step 0: mean over the training inputs of log(|x_L| / |x_0|), hidden layers */
    int steps_done;
} lyap_train_result;

/* The network of TASK (mlp.h): n_in = n_out = 1 (polynomial) or 2 (score). */
lyap_mlp_shape lyap_train_shape(const lyap_train_setup *setup, const lyap_train_task *task);

/* TASK at step 0: its parameters (lyap_mlp_parameter_count doubles) and
 * training set (n_in x train_points inputs, n_out x train_points targets),
 * as lyap_train_run starts from them. Errors as lyap_train_run. */
int lyap_train_start(const lyap_train_setup *setup, const lyap_train_task *task, double *params, double *train_x,
                     double *train_t);

/* Records of SETUP. */
int lyap_train_records(const lyap_train_setup *setup);

/* Bytes one rank holds while it trains TASK (parameters, gradient,
 * optimizer state or init's weights, workspaces, data), from above: the
 * memory check before any work. */
double lyap_train_task_bytes(const lyap_train_setup *setup, const lyap_train_task *task);

/* Runs TASK under SETUP into RESULT (its arrays allocated here; free with
 * lyap_train_result_free). LYAP_OK (a divergence is a result, not an
 * error), LYAP_EUSAGE for an odd width with looks-linear or no finite
 * critical variance (slope 0 with a lyapunov method), LYAP_ENOMEM,
 * LYAP_ELAPACK or LYAP_EMATH. */
int lyap_train_run(const lyap_train_setup *setup, const lyap_train_task *task, lyap_train_result *result);

/* lyap_train_run that calls POLL(CTX, fraction of the steps done) every
 * LYAP_TRAIN_POLL_STEPS steps; a status other than LYAP_OK from POLL
 * abandons the task (RESULT freed) and is returned. POLL changes nothing
 * in the numbers. */
enum { LYAP_TRAIN_POLL_STEPS = 64 };
typedef int (*lyap_train_poll_fn)(void *ctx, double fraction_done);
int lyap_train_run_polled(const lyap_train_setup *setup, const lyap_train_task *task, lyap_train_result *result,
                          lyap_train_poll_fn poll, void *ctx);

void lyap_train_result_free(lyap_train_result *result);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_TRAIN_H */
