/* Issue 12's grid: biases add the bias_variance axis and simulations
 * (the signal chain of every (variance, bias variance), the homogeneity
 * shift does not hold), counted by the cost model; a deck without biases keeps its
 * tasks, numbers, costs and blocks, and its files have no bias axis. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/grid.h"
#include "lyapdiag/result.h"

#define GRID "[grid]\nfamilies = gaussian, uniform\nwidths = 4, 16\nslopes = 0.1, 0.5\nvariances = 1, 2, 3\n" \
             "depths = 10, 100\n"

static int parse(const char *text, lyap_deck *deck)
{
    int status = lyap_deck_parse(text, "grid.ini", deck);
    check(status == LYAP_OK, "deck parses (%s)", status == LYAP_OK ? "ok" : lyap_error_message());
    return status == LYAP_OK;
}

int main(void)
{
    lyap_deck plain, zero, biased, verify;
    if (!parse(GRID, &plain) || !parse(GRID "bias_variances = 0\n", &zero) ||
        !parse(GRID "bias_variances = 0, 0.01, 0.05\n", &biased) ||
        !parse(GRID "bias_variances = 0.05\n[sampling]\nverify_homogeneity = yes\n", &verify))
        return check_status();
    check(lyap_grid_simulations(&plain) == 1 && lyap_grid_simulations(&zero) == 1,
          "no biases: one simulation (the shift)");
    check(lyap_grid_simulations(&biased) == 1 + 3 * 3, "sb2 in {0, 0.01, 0.05}: 1 + 3 variances x 3 = %d",
          lyap_grid_simulations(&biased));
    check(lyap_grid_simulations(&verify) == 3 + 3, "verify_homogeneity and sb2 = 0.05: 3 + 3 = %d",
          lyap_grid_simulations(&verify));
    check(lyap_deck_task_count(&biased) == lyap_deck_task_count(&plain) && lyap_deck_task_count(&plain) == 8,
          "biases add no tasks: 8 (family, width, slope)");
    for (long t = 0; t < lyap_deck_task_count(&plain); t++) {
        int f, w, s, fb, wb, sb;
        lyap_grid_task_position(&plain, t, &f, &w, &s);
        lyap_grid_task_position(&biased, t, &fb, &wb, &sb);
        check(f == fb && w == wb && s == sb && lyap_grid_task_number(&biased, f, w, s) == t,
              "task %ld: the same grid point with and without biases", t);
        check(lyap_grid_replica_cost(&zero, t) == lyap_grid_replica_cost(&plain, t) &&
                  lyap_grid_block_replicas(&zero, t) == lyap_grid_block_replicas(&plain, t),
              "task %ld: bias_variances = 0 costs and blocks as without the key", t);
        /* no spectrum: the cost is per simulation, a biased exact step at
         * most twice a bias-free one */
        double ratio = lyap_grid_replica_cost(&biased, t) / lyap_grid_replica_cost(&plain, t);
        check(ratio >= 10 && ratio <= 1 + 9 * 2, "task %ld: 10 simulations cost %.3g x one", t, ratio);
    }
    lyap_result_dims none = lyap_result_dims_of_deck(&zero), some = lyap_result_dims_of_deck(&biased);
    check(none.nbias == 0 && some.nbias == 3, "bias_variance axis: 0 without biases, 3 with (%d, %d)", none.nbias,
          some.nbias);
    check(strcmp(lyap_result_axes[1].name, "bias_variance") == 0 &&
              lyap_result_axis_length(some, 1) == 3 && lyap_result_axis_length(some, 2) == 2,
          "axis order: variance, bias_variance, depth, spectrum_index");
    check(lyap_task_result_length(none) == lyap_task_result_length(lyap_result_dims_of_deck(&plain)),
          "no biases: the result buffer is today's");
    lyap_deck_free(&plain);
    lyap_deck_free(&zero);
    lyap_deck_free(&biased);
    lyap_deck_free(&verify);
    return check_status();
}
