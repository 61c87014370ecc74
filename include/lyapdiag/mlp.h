/* mlp.h: the network `lyapdiag train` trains (THEORY.md "Training"), its
 * forward pass, mean squared error and hand-written backpropagation.
 *
 *   x_in (n_in) -> phi(W_in x + b_in) (d) -> L hidden phi(W_l x + b_l) (d x d)
 *   -> W_out x + b_out (n_out, linear),   phi(z) = z (z > 0), a z (z <= 0).
 *
 * Parameters live in one flat array (the optimizer's view), in this order:
 * W_in, b_in, then W_1, b_1, ..., W_L, b_L, then W_out, b_out; each W
 * row-major (rows = outputs). Activations are features x batch, the batch
 * contiguous, so every kernel runs along the batch with a fixed order of
 * summation: a network's numbers do not depend on anything but its own
 * parameters and inputs (not on how many networks are trained together).
 * Without biases (shape.biases = 0) the b arrays stay in place and keep a
 * zero gradient, so they stay at their initial zero.
 */
#ifndef LYAPDIAG_MLP_H
#define LYAPDIAG_MLP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int n_in, width, depth, n_out; /* depth = L, the d x d hidden layers */
    double slope;                  /* a in [0, 1] */
    int biases;                    /* 1: biases are trained; 0: they stay 0 */
} lyap_mlp_shape;

/* Offsets of one layer's weights and biases in the flat parameters. */
typedef struct {
    size_t w, b;
    int rows, cols;
} lyap_mlp_layer;

/* Layer I (0 = input layer, 1..L hidden, L + 1 = output layer). */
lyap_mlp_layer lyap_mlp_layer_of(const lyap_mlp_shape *shape, int i);

/* Doubles of the flat parameters. */
size_t lyap_mlp_parameter_count(const lyap_mlp_shape *shape);

/* Activations for batches of up to BATCH inputs. */
typedef struct lyap_mlp_workspace lyap_mlp_workspace;
int lyap_mlp_workspace_create(const lyap_mlp_shape *shape, int batch, lyap_mlp_workspace **ws);
void lyap_mlp_workspace_destroy(lyap_mlp_workspace **ws);

/* Bytes such a workspace holds (activations, gradients, the kernels'
 * scratch): for a memory check before anything is allocated. */
double lyap_mlp_workspace_bytes(const lyap_mlp_shape *shape, int batch);

/* Forward pass of X (n_in x batch) into Y (n_out x batch); keeps the
 * activations in WS for lyap_mlp_backward. */
void lyap_mlp_forward(const lyap_mlp_shape *shape, const double *params, const double *x, int batch,
                      lyap_mlp_workspace *ws, double *y);

/* Mean squared error of the last forward pass against T (n_out x batch),
 * mean over outputs and batch (PyTorch's MSELoss), and its gradient with
 * respect to every parameter into GRAD (overwritten). Returns the loss. */
double lyap_mlp_backward(const lyap_mlp_shape *shape, const double *params, const double *t, int batch,
                         lyap_mlp_workspace *ws, double *grad);

/* Mean over the batch of log(|x_L| / |x_0|) in the last forward pass: x_0
 * the input layer's output (the start of the L square layers), x_L the
 * last hidden layer's: the quantity whose rate is the Lyapunov exponent. */
double lyap_mlp_log_gain(const lyap_mlp_shape *shape, int batch, const lyap_mlp_workspace *ws);

/* Layer I's outputs (rows x batch) in the last forward pass (lsuv). */
const double *lyap_mlp_activations(const lyap_mlp_workspace *ws, int i);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_MLP_H */
