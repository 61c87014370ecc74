/* trainsched.c: the MPI sweep of `lyapdiag train` (trainsched.h).
 *
 * Messages (MPI_COMM_WORLD): rank 0 sends each worker two TAG_TASK (a
 * long: a task number, or -1 for none) at the start and one more for each
 * result it receives; a worker sends each result (TAG_RESULT:
 * doubles task, diverged, steps_done, final_test_loss, initial_log_gain,
 * seconds, then train_loss[nrec] and test_loss[nrec]) and, when its share
 * is done or it stopped, TAG_END (an int: 1 if it stopped early). Rank 0
 * answers TAG_END with TAG_FINISH; before that it may send TAG_STOP (a
 * stop signal was seen). A worker reads everything rank 0 sends it until
 * TAG_FINISH, so no message is left unreceived. */
#define _POSIX_C_SOURCE 200809L
#include "lyapdiag/trainsched.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lyapdiag/error.h"
#include "lyapdiag/sched.h"
#include "lyapdiag/train.h"
#include "lyapdiag/traindeck.h"

enum { TAG_RESULT = 21, TAG_END = 22, TAG_STOP = 23, TAG_FINISH = 24, TAG_TASK = 25 };
enum { MSG_TASK, MSG_DIVERGED, MSG_STEPS, MSG_FINAL, MSG_GAIN, MSG_SECONDS, MSG_HEADER };
#define PROGRESS_INTERVAL 2.0


/* Relative cost of a task, for the ETA and the order of hand-out: the
 * multiply-adds of a step. */
static double task_cost(const lyap_train_deck *t, long task)
{
    lyap_train_task k = lyap_train_task_at(t, task);
    return (double)t->setup.steps * k.width * ((double)k.width * k.depth + 4.0);
}

typedef struct {
    const lyap_deck *deck;
    const lyap_train_deck *t;
    lyap_trainout *out;
    int quiet, size, nrec;
    size_t count;         /* doubles of a result message */
    double *message;
    const long *order;    /* the missing tasks, most expensive first */
    long norder, next;    /* ... and the next one to hand out */
    int ended;            /* workers that sent TAG_END */
    char *ended_by;       /* [size] */
    int stopping, stop_sent;
    double start, last_progress, cost_total, cost_done;
    lyap_train_report *report;
} master;

static void progress(master *m, int force)
{
    double now = MPI_Wtime();
    if (m->quiet || (!force && now - m->last_progress < PROGRESS_INTERVAL))
        return;
    m->last_progress = now;
    double elapsed = now - m->start;
    char eta[64] = "ETA unknown";
    if (m->cost_done > 0) {
        double left = elapsed * (m->cost_total - m->cost_done) / m->cost_done;
        snprintf(eta, sizeof eta, left < 120 ? "ETA %.0f s" : "ETA %.1f min", left < 120 ? left : left / 60);
    }
    fprintf(stderr, "lyapdiag: train: %ld/%ld task%s (%.1f%% of the work; %ld diverged), %.0f s elapsed, %s\n",
            lyap_trainout_done_count(m->out), lyap_train_task_count(m->t), lyap_plural(lyap_train_task_count(m->t)),
            m->cost_total > 0 ? 100 * m->cost_done / m->cost_total : 100.0, m->report->diverged, elapsed, eta);
}

static int store(master *m, long task, const lyap_train_result *r)
{
    LYAP_CALL(lyap_trainout_store(m->out, task, r));
    m->report->finished++;
    m->report->diverged += r->diverged != 0;
    m->cost_done += task_cost(m->t, task);
    progress(m, 0);
    return LYAP_OK;
}

/* The next task to train (-1: none left, or stopping). */
static long next_task(master *m)
{
    return !m->stopping && m->next < m->norder ? m->order[m->next++] : -1;
}

static int send_task(master *m, int worker)
{
    long task = next_task(m);
    return lyap_sched_mpi_check(MPI_Send(&task, 1, MPI_LONG, worker, TAG_TASK, MPI_COMM_WORLD), "MPI_Send(task)");
}

static int handle(master *m, const MPI_Status *probed)
{
    MPI_Status status;
    if (probed->MPI_TAG == TAG_RESULT) {
        LYAP_MPI(MPI_Recv(m->message, (int)m->count, MPI_DOUBLE, probed->MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                          &status));
        lyap_train_result r = {.nrecords = m->nrec, .train_loss = m->message + MSG_HEADER,
                               .test_loss = m->message + MSG_HEADER + m->nrec,
                               .final_test_loss = m->message[MSG_FINAL], .diverged = (int)m->message[MSG_DIVERGED],
                               .initial_log_gain = m->message[MSG_GAIN], .steps_done = (int)m->message[MSG_STEPS]};
        m->report->task_seconds += m->message[MSG_SECONDS];
        LYAP_CALL(store(m, (long)m->message[MSG_TASK], &r));
        return send_task(m, probed->MPI_SOURCE); /* every result is answered by one task (or -1) */
    }
    double end[2]; /* stopped, seconds the worker spent in tasks */
    LYAP_MPI(MPI_Recv(end, 2, MPI_DOUBLE, probed->MPI_SOURCE, TAG_END, MPI_COMM_WORLD, &status));
    m->ended++;
    m->ended_by[probed->MPI_SOURCE] = 1;
    m->stopping |= end[0] != 0;
    if (end[1] < m->report->least_busy)
        m->report->least_busy = end[1];
    if (end[1] > m->report->most_busy)
        m->report->most_busy = end[1];
    return lyap_sched_mpi_check(MPI_Send(NULL, 0, MPI_BYTE, probed->MPI_SOURCE, TAG_FINISH, MPI_COMM_WORLD),
                                "MPI_Send(finish)");
}

/* Receives whatever the workers sent (answering each result with a
 * task); passes a stop on to them. */
static int poll(master *m)
{
    int waiting = 1;
    while (waiting) {
        MPI_Status probed;
        LYAP_MPI(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &waiting, &probed));
        if (waiting)
            LYAP_CALL(handle(m, &probed));
    }
    m->stopping |= lyap_sched_stop_signal() != 0;
    if (m->stopping && !m->stop_sent) {
        m->stop_sent = 1;
        for (int w = 1; w < m->size; w++)
            if (!m->ended_by[w])
                LYAP_MPI(MPI_Send(NULL, 0, MPI_BYTE, w, TAG_STOP, MPI_COMM_WORLD));
    }
    return LYAP_OK;
}

/* lyap_train_run's poll on rank 0: serve the workers; abandon the task on a stop. */
static int master_poll(void *ctx, double fraction_done)
{
    (void)fraction_done;
    master *m = ctx;
    LYAP_CALL(poll(m));
    return m->stopping ? lyap_fail(LYAP_EINTERRUPTED, "stopped by signal %d", lyap_sched_stop_signal()) : LYAP_OK;
}

/* ... and on workers: abandon the task on a stop signal or rank 0's STOP. */
static int worker_poll(void *ctx, double fraction_done)
{
    (void)fraction_done;
    int told = 0;
    LYAP_MPI(MPI_Iprobe(0, TAG_STOP, MPI_COMM_WORLD, &told, MPI_STATUS_IGNORE));
    if (told || lyap_sched_stop_signal()) {
        *(int *)ctx = 1;
        return lyap_fail(LYAP_EINTERRUPTED, "stopped by signal %d", lyap_sched_stop_signal());
    }
    return LYAP_OK;
}

static int run_master(master *m)
{
    double own = 0;
    /* Each worker holds one task ahead, so it never waits for rank 0,
     * which answers between its own steps (every LYAP_TRAIN_POLL_STEPS). */
    for (int ahead = 0; ahead < 2; ahead++)
        for (int w = 1; w < m->size; w++)
            LYAP_CALL(send_task(m, w));
    for (;;) {
        LYAP_CALL(poll(m));
        long task_number = next_task(m);
        if (task_number < 0)
            break;
        lyap_train_task task = lyap_train_task_at(m->t, task_number);
        lyap_train_result r;
        double start = MPI_Wtime();
        int status = lyap_train_run_polled(&m->t->setup, &task, &r, master_poll, m);
        m->report->task_seconds += MPI_Wtime() - start;
        own += MPI_Wtime() - start;
        if (status == LYAP_EINTERRUPTED)
            break; /* abandoned: it restarts from zero on --resume */
        LYAP_CALL(status);
        status = store(m, task_number, &r);
        lyap_train_result_free(&r);
        LYAP_CALL(status);
    }
    m->report->least_busy = m->report->most_busy = own;
    while (m->ended < m->size - 1) {
        LYAP_CALL(poll(m));
        if (m->ended < m->size - 1)
            nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    return poll(m);
}

/* Receives one message from rank 0 into *TASK (polled with naps: a
 * blocking receive spins a core, with Open MPI, that rank 0 may need on a
 * full node); its tag in *TAG. */
static int receive(long *task, int *tag)
{
    MPI_Status status;
    int arrived = 0;
    while (!arrived) {
        LYAP_MPI(MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &arrived, &status));
        if (!arrived)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    *task = -1;
    LYAP_MPI(MPI_Recv(task, 1, MPI_LONG, 0, status.MPI_TAG, MPI_COMM_WORLD, &status));
    *tag = status.MPI_TAG;
    return LYAP_OK;
}

static int run_worker(const lyap_train_deck *t, double *message, int nrec)
{
    int stopped = 0, pending = 2, nqueue = 0, tag; /* pending: task messages owed by rank 0 */
    long queue[3], task_number;
    double busy = 0;
    while (!stopped && (nqueue > 0 || pending > 0)) {
        int arrived = 1;
        while (pending > 0 && (nqueue == 0 || arrived)) { /* what has come, or wait if nothing is queued */
            if (nqueue > 0)
                LYAP_MPI(MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &arrived, MPI_STATUS_IGNORE));
            if (!arrived)
                break;
            LYAP_CALL(receive(&task_number, &tag));
            if (tag == TAG_STOP) {
                stopped = 1;
                break;
            }
            pending--;
            if (task_number >= 0)
                queue[nqueue++] = task_number;
        }
        if (stopped || lyap_sched_stop_signal()) {
            stopped = 1;
            break;
        }
        if (nqueue == 0)
            continue;
        task_number = queue[0];
        memmove(queue, queue + 1, (size_t)--nqueue * sizeof *queue);
        lyap_train_task task = lyap_train_task_at(t, task_number);
        lyap_train_result r;
        double start = MPI_Wtime();
        int status = lyap_train_run_polled(&t->setup, &task, &r, worker_poll, &stopped);
        if (status == LYAP_EINTERRUPTED)
            break; /* abandoned: it restarts from zero on --resume */
        if (status != LYAP_OK)
            lyap_sched_abort();
        message[MSG_TASK] = (double)task_number;
        message[MSG_DIVERGED] = r.diverged != 0;
        message[MSG_STEPS] = r.steps_done;
        message[MSG_FINAL] = r.final_test_loss;
        message[MSG_GAIN] = r.initial_log_gain;
        message[MSG_SECONDS] = MPI_Wtime() - start;
        busy += message[MSG_SECONDS];
        memcpy(message + MSG_HEADER, r.train_loss, (size_t)nrec * sizeof *message);
        memcpy(message + MSG_HEADER + nrec, r.test_loss, (size_t)nrec * sizeof *message);
        lyap_train_result_free(&r);
        LYAP_MPI(MPI_Send(message, MSG_HEADER + 2 * nrec, MPI_DOUBLE, 0, TAG_RESULT, MPI_COMM_WORLD));
        pending++;
    }
    double end[2] = {stopped, busy};
    LYAP_MPI(MPI_Send(end, 2, MPI_DOUBLE, 0, TAG_END, MPI_COMM_WORLD));
    do /* tasks and STOPs sent before rank 0 saw our END, then FINISH */
        LYAP_CALL(receive(&task_number, &tag));
    while (tag != TAG_FINISH);
    return LYAP_OK;
}

/* Orders tasks by decreasing cost (ties by task number). */
static const double *sort_costs;
static int by_cost(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    double cx = sort_costs[x], cy = sort_costs[y];
    return cx != cy ? (cx < cy) - (cx > cy) : (x > y) - (x < y);
}

int lyap_train_sweep(const lyap_deck *deck, int quiet, lyap_trainout *out, lyap_train_report *report)
{
    const lyap_train_deck *t = deck->train;
    int rank = lyap_sched_rank(), size = lyap_sched_size();
    long ntasks = lyap_train_task_count(t);
    int nrec = lyap_train_records(&t->setup);
    double start = MPI_Wtime();
    *report = (lyap_train_report){0};
    double *message = NULL;
    if (lyap_alloc(&message, (size_t)(MSG_HEADER + 2 * nrec), sizeof *message, "result message") != LYAP_OK)
        lyap_sched_abort();
    int status = LYAP_OK;
    if (rank == 0) {
        const signed char *done = lyap_trainout_done_mask(out);
        master m = {.deck = deck, .t = t, .out = out, .quiet = quiet, .size = size, .nrec = nrec,
                    .count = (size_t)(MSG_HEADER + 2 * nrec), .message = message, .start = start,
                    .last_progress = start, .report = report};
        long *order = NULL;
        double *costs = NULL;
        status = lyap_alloc(&m.ended_by, (size_t)size, 1, "worker flags");
        if (status == LYAP_OK)
            status = lyap_alloc(&order, (size_t)ntasks, sizeof *order, "task order");
        if (status == LYAP_OK)
            status = lyap_alloc(&costs, (size_t)ntasks, sizeof *costs, "task costs");
        for (long i = 0; status == LYAP_OK && i < ntasks; i++) {
            costs[i] = task_cost(t, i);
            if (done[i] != 1) {
                order[m.norder++] = i;
                m.cost_total += costs[i];
            }
        }
        if (status == LYAP_OK) {
            sort_costs = costs;
            qsort(order, (size_t)m.norder, sizeof *order, by_cost);
            m.order = order;
            status = run_master(&m);
        }
        if (status == LYAP_OK)
            progress(&m, 1);
        report->stopped = m.stopping && lyap_trainout_done_count(out) < ntasks;
        free(m.ended_by);
        free(order);
        free(costs);
    } else {
        status = run_worker(t, message, nrec);
        if (status != LYAP_OK)
            lyap_sched_abort();
    }
    free(message);
    if (status != LYAP_OK) /* rank 0's failure: the caller closes its output, then aborts */
        return status;
    long shared[3] = {report->stopped, report->finished, report->diverged}; /* rank 0's: the same on every rank */
    if (lyap_sched_mpi_check(MPI_Bcast(shared, 3, MPI_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast(report)") != LYAP_OK)
        lyap_sched_abort();
    report->stopped = (int)shared[0];
    report->finished = shared[1];
    report->diverged = shared[2];
    report->seconds = MPI_Wtime() - start;
    return report->stopped ? lyap_fail(LYAP_EINTERRUPTED, "stopped by signal %d", lyap_sched_stop_signal())
                           : LYAP_OK;
}

/* The most any task of T holds (the widest, deepest, over methods and
 * optimizers), that task in *LARGEST. */
static double largest_task_bytes(const lyap_train_deck *t, lyap_train_task *largest)
{
    double most = 0;
    for (int m = 0; m < t->nmethods; m++)
        for (int k = 0; k < t->noptimizers; k++) {
            lyap_train_task task = {.method = t->methods[m], .width = t->widths[t->nwidths - 1],
                                    .depth = t->depths[t->ndepths - 1], .slope = t->slopes[0],
                                    .optimizer = t->optimizers[k], .learning_rate = t->learning_rates[0]};
            double bytes = lyap_train_task_bytes(&t->setup, &task);
            if (bytes > most) {
                most = bytes;
                *largest = task;
            }
        }
    return most;
}

int lyap_train_check_memory(const lyap_deck *deck)
{
    const lyap_train_deck *t = deck->train;
    lyap_train_task largest = {0};
    double worker = largest_task_bytes(t, &largest);
    /* Rank 0 keeps every task's results (trainout.c) and builds a snapshot
     * of them in memory, then writes it: about three copies. */
    double master = 3.0 * 8.0 * (double)lyap_train_task_count(t) * (2.0 * lyap_train_records(&t->setup) + 4.0);
    char task[96];
    snprintf(task, sizeof task, "width %d and depth %d", largest.width, largest.depth);
    return lyap_sched_check_node_memory(deck->name, worker, task, master, "reduce [train] widths or depths");
}

int lyap_train_load_deck(const char *path, lyap_deck *deck)
{
    char *text;
    int status = lyap_sched_read_deck_text(path, &text);
    if (status == LYAP_OK)
        status = lyap_deck_parse_train(text, path, deck);
    free(text);
    return status;
}
