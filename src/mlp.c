/* mlp.c: forward pass and backpropagation of the trained network (mlp.h).
 * Small kernels along the batch rather than BLAS: at the widths trained
 * (2-64) a GEMM call costs more than its arithmetic, and fixed loops keep
 * every network's summation order its own. */
#include "lyapdiag/mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"

struct lyap_mlp_workspace {
    int batch, layers;   /* layers = L + 2 */
    const double *input; /* the last forward pass's x */
    double **act;        /* [layers]: layer i's outputs, rows x batch */
    double *delta, *back; /* width-or-n_out x batch each: gradients of the current and previous layer */
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
    free(*ws);
    *ws = NULL;
}

/* out[r][:] = b[r] + sum_c W[r][c] in[c][:], c ascending. */
static void affine(int rows, int cols, const double *w, const double *b, const double *in, int batch, double *out)
{
    for (int r = 0; r < rows; r++) {
        double *o = out + (size_t)r * batch;
        for (int j = 0; j < batch; j++)
            o[j] = b[r];
        for (int c = 0; c < cols; c++) {
            double wrc = w[(size_t)r * cols + c];
            const double *x = in + (size_t)c * batch;
            for (int j = 0; j < batch; j++)
                o[j] += wrc * x[j];
        }
    }
}

void lyap_mlp_forward(const lyap_mlp_shape *s, const double *params, const double *x, int batch,
                      lyap_mlp_workspace *ws, double *y)
{
    ws->input = x;
    const double *in = x;
    for (int i = 0; i < ws->layers; i++) {
        lyap_mlp_layer l = lyap_mlp_layer_of(s, i);
        double *out = ws->act[i];
        affine(l.rows, l.cols, params + l.w, params + l.b, in, batch, out);
        if (i <= s->depth)
            for (size_t j = 0; j < (size_t)l.rows * batch; j++)
                out[j] = out[j] > 0 ? out[j] : s->slope * out[j];
        in = out;
    }
    memcpy(y, ws->act[ws->layers - 1], sizeof *y * (size_t)s->n_out * batch);
}

/* sum_j a[j] b[j] in four fixed lanes. */
static double dot(const double *a, const double *b, int n)
{
    double lane[4] = {0, 0, 0, 0};
    int j = 0;
    for (; j + 4 <= n; j += 4)
        for (int k = 0; k < 4; k++)
            lane[k] += a[j + k] * b[j + k];
    for (; j < n; j++)
        lane[0] += a[j] * b[j];
    return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

static double sum(const double *a, int n)
{
    double lane[4] = {0, 0, 0, 0};
    int j = 0;
    for (; j + 4 <= n; j += 4)
        for (int k = 0; k < 4; k++)
            lane[k] += a[j + k];
    for (; j < n; j++)
        lane[0] += a[j];
    return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

double lyap_mlp_backward(const lyap_mlp_shape *s, const double *params, const double *t, int batch,
                         lyap_mlp_workspace *ws, double *grad)
{
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
        const double *in = i > 0 ? ws->act[i - 1] : ws->input, *w = params + l.w;
        for (int r = 0; r < l.rows; r++) {
            const double *dz = ws->delta + (size_t)r * batch;
            for (int c = 0; c < l.cols; c++)
                grad[l.w + (size_t)r * l.cols + c] = dot(dz, in + (size_t)c * batch, batch);
            grad[l.b + r] = s->biases ? sum(dz, batch) : 0.0;
        }
        if (i == 0)
            break;
        /* back = W^T delta (r ascending), then through phi' of layer i-1 */
        memset(ws->back, 0, sizeof *ws->back * (size_t)l.cols * batch);
        for (int r = 0; r < l.rows; r++) {
            const double *dz = ws->delta + (size_t)r * batch;
            for (int c = 0; c < l.cols; c++) {
                double wrc = w[(size_t)r * l.cols + c];
                double *b = ws->back + (size_t)c * batch;
                for (int j = 0; j < batch; j++)
                    b[j] += wrc * dz[j];
            }
        }
        for (size_t j = 0; j < (size_t)l.cols * batch; j++)
            ws->back[j] *= in[j] > 0 ? 1.0 : s->slope;
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
