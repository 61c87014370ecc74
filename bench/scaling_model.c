/* scaling_model DECK SERVICE_US TASK_US NS_PER_COST RANKS...: predicted
 * parallel efficiency of lyapdiag's master/worker schedule on a cluster.
 *
 * Work units are the deck's (task, block) pairs, in the order the master
 * hands them out (most expensive task first, blocks in order), each costing
 * its replicas x lyap_grid_replica_cost x NS_PER_COST (the cost model's
 * nanoseconds scaled to this machine: bench/run measures the factor). Rank
 * 0 serves every finished unit (receive its block state, merge it, send the
 * next unit) in SERVICE_US microseconds, plus TASK_US for the unit that
 * completes a task (its prefix state, finishing, storing the result: the
 * run's summary line measures both), one message at a time, FIFO; the
 * other ranks compute. (The real rank 0 also computes between messages;
 * counting it as a pure server makes the model pessimistic by 1/P.) The
 * model prints, per rank count P, the makespan, the efficiency (work / (P x
 * makespan)), the master's utilization (busy time / makespan) and the
 * largest unit, as one grep-able BENCH line each. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/grid.h"

/* A binary min-heap of worker finish times. */
typedef struct {
    double *t;
    int n;
} heap;

static void heap_push(heap *h, double x)
{
    int i = h->n++;
    h->t[i] = x;
    while (i > 0 && h->t[(i - 1) / 2] > h->t[i]) {
        double s = h->t[i];
        h->t[i] = h->t[(i - 1) / 2];
        h->t[(i - 1) / 2] = s;
        i = (i - 1) / 2;
    }
}

static double heap_pop(heap *h)
{
    double top = h->t[0];
    h->t[0] = h->t[--h->n];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->t[l] < h->t[m])
            m = l;
        if (r < h->n && h->t[r] < h->t[m])
            m = r;
        if (m == i)
            break;
        double s = h->t[i];
        h->t[i] = h->t[m];
        h->t[m] = s;
        i = m;
    }
    return top;
}

/* Simulates P ranks (P - 1 workers) on UNITS[0..N) seconds with a master
 * that serves one message in S seconds, plus S_TASK when LAST[i] (the
 * unit completes its task); returns the makespan, *BUSY the master's busy
 * time. */
static double simulate(const double *units, const char *last, long n, int p, double s, double s_task,
                       double *busy)
{
    heap h = {malloc(sizeof(double) * (size_t)p), 0};
    double master_free = 0, end = 0;
    *busy = 0;
    for (int w = 0; w < p - 1; w++)
        heap_push(&h, 0); /* every worker asks for its first unit at time 0 */
    /* A worker's finish time carries which unit it was (the heap keeps
     * times only): the task-level cost goes with the unit completed, so
     * it is charged when the unit is handed out, an equivalent total. */
    for (long next = 0; h.n > 0;) {
        double asked = heap_pop(&h);
        double cost = s + (next < n && last[next] ? s_task : 0);
        double served = fmax(asked, master_free) + cost; /* receive, merge, reply */
        master_free = served;
        *busy += cost;
        end = fmax(end, served);
        if (next < n)
            heap_push(&h, served + units[next++]);
    }
    free(h.t);
    return end;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: scaling_model DECK SERVICE_US TASK_US NS_PER_COST RANKS...\n");
        return 2;
    }
    char *text;
    lyap_deck deck;
    if (lyap_deck_read_file(argv[1], &text) != LYAP_OK || lyap_deck_parse(text, argv[1], &deck) != LYAP_OK) {
        fprintf(stderr, "scaling_model: %s\n", lyap_error_message());
        return 1;
    }
    double service = atof(argv[2]) * 1e-6, task_service = atof(argv[3]) * 1e-6, scale = atof(argv[4]) * 1e-9;
    long *order, nunits = 0, ntasks = lyap_deck_task_count(&deck);
    lyap_grid_schedule(&deck, &order);
    for (long i = 0; i < ntasks; i++) {
        double replicas = lyap_grid_task_replicas(&deck, order[i]);
        nunits += (long)ceil(replicas / lyap_grid_block_replicas(&deck, order[i]));
    }
    double *units = malloc(sizeof *units * (size_t)nunits), work = 0, largest = 0;
    char *last = calloc((size_t)nunits, 1);
    for (long i = 0, u = 0; i < ntasks; i++) {
        double replicas = lyap_grid_task_replicas(&deck, order[i]), block = lyap_grid_block_replicas(&deck, order[i]);
        for (double r = 0; r < replicas; r += block, u++) {
            units[u] = fmin(block, replicas - r) * lyap_grid_replica_cost(&deck, order[i]) * scale;
            last[u] = r + block >= replicas;
            work += units[u];
            largest = fmax(largest, units[u]);
        }
    }
    for (int a = 5; a < argc; a++) {
        int p = atoi(argv[a]);
        double busy, makespan = simulate(units, last, nunits, p, service, task_service, &busy);
        printf("BENCH scaling deck=%s ranks=%d units=%ld work_s=%.1f largest_unit_s=%.3f service_us=%.1f "
               "task_us=%.1f makespan_s=%.2f efficiency=%.3f master_busy=%.3f\n", argv[1], p, nunits, work,
               largest, service * 1e6, task_service * 1e6, makespan, work / (p * makespan), busy / makespan);
    }
    free(units);
    free(last);
    free(order);
    free(text);
    lyap_deck_free(&deck);
    return 0;
}
