/* sched.c: MPI master/worker sweep (DESIGN.md, "MPI").
 *
 * Protocol: a worker sends TAG_RESULT with [task, result...] (task =
 * NO_RESULT on its first request; STOPPING, then the abandoned task, the
 * fraction of it done and the seconds spent on it, when a signal made it
 * abandon its task) and receives TAG_TASK with the next task number, or -1
 * to stop. Rank 0 serves these between the replicas of its own tasks
 * (estimate's poll hook), so it never idles a core.
 *
 * Stopping (SLURM --signal, Ctrl-C, kill): SIGTERM, SIGINT and SIGUSR1 set
 * a flag. A rank that sees it abandons its task at the next replica; the
 * master then hands out no more tasks, collects what workers finish, and
 * returns LYAP_EINTERRUPTED, so every finished task reaches the checkpoint.
 * The abandoned tasks, how far they got and in how long, go to the
 * caller's report: a restart that finishes nothing must say why (a task
 * longer than the job's time slot) rather than be requeued forever.
 */
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lyapdiag/error.h"
#include "lyapdiag/grid.h"
#include "lyapdiag/sched.h"

enum { TAG_RESULT = 1, TAG_TASK = 2 };
enum { NO_RESULT = -1, STOPPING = -2 }; /* task field of a worker message */

static volatile sig_atomic_t stop_signal; /* the signal that asked us to stop */

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* LYAP_EINTERRUPTED (with its message) if STOPPING, else LYAP_OK. */
static int stop_status(int stopping)
{
    return stopping ? lyap_fail(LYAP_EINTERRUPTED, "stopped by signal %d", (int)stop_signal) : LYAP_OK;
}
#define PROGRESS_INTERVAL 2.0 /* seconds between progress lines */
#define MAX_MASTER_REPLICA_NS 5e7 /* rank 0 keeps workers waiting at most ~50 ms */

static int mpi_check(int rc, const char *call)
{
    if (rc == MPI_SUCCESS)
        return LYAP_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return lyap_fail(LYAP_EMPI, "%s failed: %s", call, text);
}
#define LYAP_MPI(call) LYAP_CALL(mpi_check((call), #call))

int lyap_sched_init(int *argc, char ***argv)
{
    struct sigaction action = {.sa_handler = on_stop_signal};
    sigemptyset(&action.sa_mask);
    LYAP_MPI(MPI_Init(argc, argv));
    /* After MPI_Init, which may install handlers of its own. */
    if (sigaction(SIGTERM, &action, NULL) || sigaction(SIGINT, &action, NULL) ||
        sigaction(SIGUSR1, &action, NULL))
        return lyap_fail(LYAP_EMPI, "cannot install signal handlers");
    return mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

void lyap_sched_finalize(void)
{
    MPI_Finalize();
}

int lyap_sched_rank(void)
{
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int lyap_sched_size(void)
{
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int lyap_sched_agree(int status)
{
    int worst = status;
    if (MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
        return lyap_fail(LYAP_EMPI, "MPI_Allreduce failed while ranks agreed on a status");
    return worst;
}

void lyap_sched_abort(void)
{
    /* every failure exits 1: 2 is main's status for a bad command line */
    fprintf(stderr, "lyapdiag: error on rank %d: %s\n", lyap_sched_rank(), lyap_error_message());
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1); /* MPI_Abort does not return; this keeps the compiler sure of it */
}

int lyap_sched_load_deck(const char *path, lyap_deck *deck)
{
    char *text = NULL;
    long length = -1;
    int status = LYAP_OK;
    if (lyap_sched_rank() == 0) {
        status = lyap_deck_read_file(path, &text);
        length = status == LYAP_OK ? (long)strlen(text) : -1;
    }
    LYAP_MPI(MPI_Bcast(&length, 1, MPI_LONG, 0, MPI_COMM_WORLD));
    if (length < 0) /* rank 0 holds the message */
        return status != LYAP_OK ? status : lyap_fail(LYAP_EIO, "%s: rank 0 could not read the deck", path);
    if (lyap_sched_rank() != 0 && lyap_alloc(&text, (size_t)length + 1, 1, "deck text") != LYAP_OK)
        lyap_sched_abort(); /* rank 0 would wait in the broadcast */
    status = mpi_check(MPI_Bcast(text, (int)length + 1, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast(deck)");
    if (status == LYAP_OK)
        status = lyap_deck_parse(text, path, deck);
    free(text);
    return status;
}

int lyap_sched_check_ranks(const lyap_deck *deck)
{
    int size = lyap_sched_size();
    long ntasks = lyap_deck_task_count(deck);
    if (size > ntasks)
        return lyap_fail(LYAP_EMPI, "%s: %d MPI ranks for %ld task%s (family x width x slope): ranks beyond "
                         "%ld would idle; run with -np %ld%s, or add widths or slopes to the deck",
                         deck->name, size, ntasks, ntasks == 1 ? "" : "s", ntasks, ntasks,
                         ntasks == 1 ? "" : " or fewer");
    return LYAP_OK;
}

/* The task spec of TASK: its grid point and the deck's sampling settings,
 * the method resolved for its family. */
static void task_spec(const lyap_deck *deck, long task, lyap_task_spec *spec)
{
    int f, w, s;
    lyap_grid_task_position(deck, task, &f, &w, &s);
    *spec = (lyap_task_spec){
        .family = deck->families[f], .width = deck->widths[w], .slope = deck->slopes[s],
        .nvariances = deck->nvariances, .variances = deck->variances,
        .ndepths = deck->ndepths, .depths = deck->depths,
        .seed = deck->seed, .replicas = deck->replicas, .target_stderr = deck->target_stderr, .batch = deck->batch,
        .verify_homogeneity = deck->verify_homogeneity,
        .method = deck->methods[f], .precision = deck->precision,
        .spectrum = lyap_deck_spectrum_count(deck, deck->widths[w]), .eps = deck->eps};
}

int lyap_sched_check_memory(const lyap_deck *deck)
{
    MPI_Comm node;
    int local_ranks = 1;
    LYAP_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    MPI_Comm_size(node, &local_ranks);
    MPI_Comm_free(&node);
    int widest = deck->widths[deck->nwidths - 1];
    double worker = 0; /* the costliest family at the widest width */
    for (int f = 0; f < deck->nfamilies; f++) {
        lyap_task_spec spec;
        task_spec(deck, lyap_grid_task_number(deck, f, deck->nwidths - 1, 0), &spec);
        worker = fmax(worker, lyap_estimate_task_bytes(&spec));
    }
    /* The master holds the whole diagram three times while it writes a
     * snapshot: its results, one variable's array, the file's image in
     * memory (ncout builds it there, then writes it). */
    double master = 3.0 * 8.0 * (double)lyap_deck_task_count(deck) *
                    (double)lyap_task_result_length(lyap_result_dims_of_deck(deck));
    double need = local_ranks * worker + master;
    double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (have > 0 && need > have)
        return lyap_fail(LYAP_EDECK, "%s: needs about %.1f GB on this node (%d rank%s x %.2f GB for width %d, "
                         "plus %.2f GB of results on rank 0) but it has %.1f GB; reduce [grid] widths or "
                         "the grid, or use fewer ranks per node", deck->name, need / 1e9, local_ranks,
                         local_ranks == 1 ? "" : "s", worker / 1e9, widest, master / 1e9,
                         have / 1e9);
    return LYAP_OK;
}

/* ---- the sweep -------------------------------------------------------------- */

typedef struct {
    const lyap_deck *deck;
    int quiet;
    lyap_result_sink sink;
    void *sink_ctx;
    long *order;            /* tasks to compute, most expensive first */
    long ntodo, next;       /* order[next..ntodo) are unassigned: workers take
                               from the front, rank 0 too unless its replicas
                               would be long, then from the back */
    long ntasks, done;      /* all tasks of the deck; finished ones */
    int stopping;           /* a signal arrived: assign nothing more */
    double total_cost, done_cost;
    double own_cost, own_fraction; /* rank 0's current task and how far it is */
    double own_start;       /* when rank 0 started it (MPI_Wtime) */
    long finished;          /* tasks finished in this run */
    double stop_time;       /* when the stop was first seen (MPI_Wtime), else 0 */
    lyap_sched_report *report; /* the abandoned tasks go here */
    int active_workers;     /* workers not yet told to stop */
    double *message;        /* [count]: task, result (or STOPPING, task, fraction, seconds) */
    int count;              /* doubles per worker message */
    lyap_task_result inbox; /* a received result */
    double start, last_report;
    long reported_done;     /* done at the last progress line */
} master_state;

static void report_progress(master_state *m, int force)
{
    double now = MPI_Wtime();
    if (m->quiet || (!force && now - m->last_report < PROGRESS_INTERVAL))
        return;
    if (force && m->reported_done == m->done)
        return; /* the last line already says it */
    m->last_report = now;
    m->reported_done = m->done;
    double elapsed = now - m->start;
    double fraction = m->total_cost > 0 ? (m->done_cost + m->own_cost * m->own_fraction) / m->total_cost : 1;
    fprintf(stderr, "lyapdiag: %ld/%ld tasks, %.0f%% of the work, %.1f s elapsed", m->done, m->ntasks,
            100 * fraction, elapsed);
    if (fraction > 0 && m->done < m->ntasks)
        fprintf(stderr, ", ETA %.0f s", elapsed * (1 - fraction) / fraction);
    fputc('\n', stderr);
}

static int record(master_state *m, long task, const lyap_task_result *result)
{
    LYAP_CALL(m->sink(m->sink_ctx, task, result));
    m->done++;
    m->finished++;
    m->done_cost += lyap_grid_task_cost(m->deck, task);
    report_progress(m, 0);
    return LYAP_OK;
}

/* Notes that the stop was seen now (the end of the run's time slot). */
static void note_stop(master_state *m)
{
    if (m->stopping && m->stop_time == 0)
        m->stop_time = MPI_Wtime();
}

/* Adds an abandoned TASK to the report, keeping the ones that need the most
 * time when there are more than it holds. */
static void note_unfinished(master_state *m, long task, double fraction, double seconds)
{
    lyap_sched_report *r = m->report;
    lyap_sched_unfinished u = {task, fraction, seconds, fraction > 0 ? seconds / fraction : INFINITY};
    int at = r->nshown;
    if (at == LYAP_SCHED_MAX_SHOWN) { /* replace the one needing the least, if it needs less */
        at = 0;
        for (int i = 1; i < r->nshown; i++)
            if (r->shown[i].needed < r->shown[at].needed)
                at = i;
        if (!(r->shown[at].needed < u.needed))
            at = -1;
    } else {
        r->nshown++;
    }
    if (at >= 0)
        r->shown[at] = u;
    r->nunfinished++;
}

/* Receives one worker message (blocking), stores its result, replies with
 * the next task or -1. */
static int serve_one(master_state *m, const MPI_Status *probed)
{
    MPI_Status status;
    LYAP_MPI(MPI_Recv(m->message, m->count, MPI_DOUBLE, probed->MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &status));
    long task = (long)m->message[0];
    if (task >= 0) {
        memcpy(m->inbox.buf, m->message + 1, m->inbox.length * sizeof *m->message);
        LYAP_CALL(record(m, task, &m->inbox));
    }
    m->stopping |= task == STOPPING || stop_signal;
    note_stop(m);
    if (task == STOPPING)
        note_unfinished(m, (long)m->message[1], m->message[2], m->message[3]);
    long next = !m->stopping && m->next < m->ntodo ? m->order[m->next++] : -1;
    if (next < 0)
        m->active_workers--;
    LYAP_MPI(MPI_Send(&next, 1, MPI_LONG, status.MPI_SOURCE, TAG_TASK, MPI_COMM_WORLD));
    return LYAP_OK;
}

/* estimate's poll hook on rank 0: serve every waiting worker. */
static int serve_waiting(void *ctx, double fraction_done)
{
    master_state *m = ctx;
    int waiting = 1;
    m->own_fraction = fraction_done;
    while (waiting) {
        MPI_Status probed;
        LYAP_MPI(MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &waiting, &probed));
        if (waiting)
            LYAP_CALL(serve_one(m, &probed));
    }
    report_progress(m, 0);
    m->stopping |= stop_signal != 0;
    note_stop(m);
    return stop_status(m->stopping);
}

/* estimate's poll hook on workers: abandon the task when a signal came.
 * CTX is the fraction of the task done, sent with STOPPING. */
static int check_stop(void *ctx, double fraction_done)
{
    *(double *)ctx = fraction_done;
    return stop_status(stop_signal != 0);
}

static int compute(const lyap_deck *deck, long task, lyap_task_result *result, lyap_poll_fn poll, void *ctx)
{
    lyap_task_spec spec;
    task_spec(deck, task, &spec);
    return lyap_estimate_task(&spec, result, poll, ctx);
}

static int run_master(master_state *m, lyap_task_result *own)
{
    int status = LYAP_OK;
    /* Every worker gets its first task before rank 0 starts one. */
    for (int w = 0; w < m->active_workers && m->next < m->ntodo; w++) {
        MPI_Status probed;
        LYAP_MPI(MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &probed));
        LYAP_CALL(serve_one(m, &probed));
    }
    /* Rank 0 answers workers between its own replicas, so it takes the
     * most expensive task left (longest first balances best) as long as
     * a replica of it is short; otherwise it works from the cheap end. */
    while (status == LYAP_OK && m->next < m->ntodo) {
        double replica_ns = lyap_grid_task_cost(m->deck, m->order[m->next]) / m->deck->replicas;
        long task = replica_ns < MAX_MASTER_REPLICA_NS ? m->order[m->next++] : m->order[--m->ntodo];
        m->own_cost = lyap_grid_task_cost(m->deck, task);
        m->own_fraction = 0;
        m->own_start = MPI_Wtime();
        status = compute(m->deck, task, own, serve_waiting, m);
        m->own_cost = 0;
        if (status == LYAP_EINTERRUPTED)
            note_unfinished(m, task, m->own_fraction, MPI_Wtime() - m->own_start);
        if (status == LYAP_OK)
            status = record(m, task, own);
        if (status == LYAP_OK)
            status = serve_waiting(m, 0);
    }
    if (status != LYAP_OK && status != LYAP_EINTERRUPTED)
        return status;
    /* Collect what the workers are computing (all of it when stopping). */
    while (m->active_workers > 0) {
        MPI_Status probed;
        LYAP_MPI(MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &probed));
        LYAP_CALL(serve_one(m, &probed));
    }
    return stop_status(m->stopping);
}

static int run_worker(const lyap_deck *deck, double *message, int count, lyap_task_result *own)
{
    long task = NO_RESULT;
    double fraction = 0, start = 0;
    for (;;) {
        message[0] = (double)task;
        if (task >= 0)
            memcpy(message + 1, own->buf, own->length * sizeof *message);
        LYAP_MPI(MPI_Send(message, count, MPI_DOUBLE, 0, TAG_RESULT, MPI_COMM_WORLD));
        LYAP_MPI(MPI_Recv(&task, 1, MPI_LONG, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        if (task < 0)
            return stop_signal ? LYAP_EINTERRUPTED : LYAP_OK;
        fraction = 0;
        start = MPI_Wtime();
        int status = compute(deck, task, own, check_stop, &fraction);
        if (status == LYAP_EINTERRUPTED) { /* tell the master how far it got, then wait for its -1 */
            message[1] = (double)task;
            message[2] = fraction;
            message[3] = MPI_Wtime() - start;
            task = STOPPING;
        } else if (status != LYAP_OK) {
            return status;
        }
    }
}

int lyap_sched_run(const lyap_deck *deck, int quiet, lyap_done_fn is_done, lyap_result_sink sink, void *ctx,
                   lyap_sched_report *report)
{
    int size = lyap_sched_size(), rank = lyap_sched_rank();
    long ntasks = lyap_deck_task_count(deck);
    double start = MPI_Wtime();
    *report = (lyap_sched_report){0};
    master_state m = {.deck = deck, .quiet = quiet, .sink = sink, .sink_ctx = ctx, .ntasks = ntasks,
                      .active_workers = size - 1, .start = start, .last_report = start, .report = report};
    lyap_task_result own = {0};
    int status = lyap_task_result_init(&own, lyap_result_dims_of_deck(deck));
    /* [task, result] or [STOPPING, task, fraction, seconds]: whichever is longer */
    int count = (int)(own.length > 3 ? own.length : 3) + 1;
    if (status == LYAP_OK)
        status = lyap_alloc(&m.message, (size_t)count, sizeof *m.message, "result message");
    if (status == LYAP_OK && rank == 0)
        status = lyap_task_result_init(&m.inbox, lyap_result_dims_of_deck(deck));
    if (status == LYAP_OK && rank == 0)
        status = lyap_grid_schedule(deck, &m.order);
    for (long i = 0; status == LYAP_OK && rank == 0 && i < ntasks; i++) { /* keep what is not done */
        long t = m.order[i];
        if (is_done(ctx, t)) {
            m.done++;
            continue;
        }
        m.order[m.ntodo++] = t;
        m.total_cost += lyap_grid_task_cost(deck, t);
    }
    if (status != LYAP_OK) /* allocation failures: this rank alone */
        lyap_sched_abort();
    m.count = count;
    status = rank == 0 ? run_master(&m, &own) : run_worker(deck, m.message, count, &own);
    if (status != LYAP_OK && status != LYAP_EINTERRUPTED && rank != 0) /* a worker's own failure */
        lyap_sched_abort();
    if (status == LYAP_OK && rank == 0)
        report_progress(&m, 1);
    report->seconds = MPI_Wtime() - start;
    report->finished = m.finished;
    report->slot = m.stop_time > 0 ? m.stop_time - start : report->seconds;
    lyap_task_result_free(&own);
    lyap_task_result_free(&m.inbox);
    free(m.message);
    free(m.order);
    return status;
}
