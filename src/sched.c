/* sched.c: MPI master/worker sweep (DESIGN.md, "MPI").
 *
 * The unit of work is a block of consecutive replicas of one task
 * (estimate.h, "work units"). Protocol: a worker sends TAG_RESULT with
 * [kind, task, block, seconds, fraction, block state...] (kind NO_RESULT
 * on its first request; RESULT with the state of the block it finished;
 * STOPPING with the unit a signal made it abandon, the fraction of it done
 * and the seconds spent) and receives TAG_TASK with the next unit [task,
 * block], or task -1 to stop. The master merges each task's block states
 * in block order (holding blocks that arrive ahead of their turn), so the
 * result is the same for any number of ranks and any schedule; a worker
 * with nothing to do yet (an adaptive task waits for its merged prefix)
 * waits for its reply. Rank 0 serves between the replicas of its own units
 * (estimate's poll hook), so it never idles a core.
 *
 * Stopping (SLURM --signal, Ctrl-C, kill): SIGTERM, SIGINT and SIGUSR1 set
 * a flag. A rank that sees it abandons its unit within 512 layers; the
 * master then hands out no more units, collects what workers finish, and
 * returns LYAP_EINTERRUPTED, so every finished block reaches the
 * checkpoint. The abandoned units, how far they got and in how long, go to
 * the caller's report: a restart that finishes no block must say why (a
 * block longer than the job's time slot) rather than be requeued forever.
 */
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lyapdiag/error.h"
#include "lyapdiag/grid.h"
#include "lyapdiag/pack.h"
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

int lyap_sched_mpi_check(int rc, const char *call)
{
    if (rc == MPI_SUCCESS)
        return LYAP_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return lyap_fail(LYAP_EMPI, "%s failed: %s", call, text);
}

static int catch_stop_signals(void)
{
    struct sigaction action = {.sa_handler = on_stop_signal};
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGTERM, &action, NULL) || sigaction(SIGINT, &action, NULL) ||
        sigaction(SIGUSR1, &action, NULL))
        return lyap_fail(LYAP_EMPI, "cannot install signal handlers");
    return LYAP_OK;
}

int lyap_sched_init(int *argc, char ***argv)
{
    /* Before MPI_Init, which can take seconds under srun: SLURM may signal
     * a job right after it starts (its time-limit check runs every 30 s), and
     * a USR1 with no handler kills the rank. Again after, since MPI_Init may
     * install handlers of its own. */
    LYAP_CALL(catch_stop_signals());
    LYAP_MPI(MPI_Init(argc, argv));
    LYAP_CALL(catch_stop_signals());
    return lyap_sched_mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
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

int lyap_sched_read_deck_text(const char *path, char **text)
{
    long length = -1;
    int status = LYAP_OK;
    *text = NULL;
    if (lyap_sched_rank() == 0) {
        status = lyap_deck_read_file(path, text);
        length = status == LYAP_OK ? (long)strlen(*text) : -1;
    }
    LYAP_MPI(MPI_Bcast(&length, 1, MPI_LONG, 0, MPI_COMM_WORLD));
    if (length < 0) /* rank 0 holds the message */
        return status != LYAP_OK ? status : lyap_fail(LYAP_EIO, "%s: rank 0 could not read the deck", path);
    if (lyap_sched_rank() != 0 && lyap_alloc(text, (size_t)length + 1, 1, "deck text") != LYAP_OK)
        lyap_sched_abort(); /* rank 0 would wait in the broadcast */
    status = lyap_sched_mpi_check(MPI_Bcast(*text, (int)length + 1, MPI_CHAR, 0, MPI_COMM_WORLD), "MPI_Bcast(deck)");
    if (status != LYAP_OK) {
        free(*text);
        *text = NULL;
    }
    return status;
}

int lyap_sched_load_deck(const char *path, lyap_deck *deck)
{
    char *text;
    LYAP_CALL(lyap_sched_read_deck_text(path, &text)); /* DECK untouched: nothing to free */
    int status = lyap_deck_parse(text, path, deck);
    free(text);
    /* Biases run on the gaussian exact chain, the orthogonal O(d) chain or
     * the matrix path in double precision (THEORY.md "Biases"). */
    for (int f = 0; status == LYAP_OK && lyap_deck_has_biases(deck) && f < deck->nfamilies; f++)
        if (lyap_method_resolve(deck->methods[f], deck->families[f]) == LYAP_METHOD_MATRIX &&
            deck->precision == LYAP_PRECISION_SINGLE)
            status = lyap_fail(LYAP_EDECK, "%s: [grid] bias_variances > 0: family %s runs the matrix path, whose "
                               "single precision has no biases; use [sampling] precision = double", path,
                               lyap_family_name(deck->families[f]));
    for (int f = 0; status == LYAP_OK && deck->input_cosine_on && f < deck->nfamilies; f++)
        if (lyap_method_resolve(deck->methods[f], deck->families[f]) == LYAP_METHOD_MATRIX &&
            deck->precision == LYAP_PRECISION_SINGLE)
            status = lyap_fail(LYAP_EDECK, "%s: [sampling] input_cosine: family %s runs the matrix path, whose "
                               "single precision has no pairs of inputs; use [sampling] precision = double", path,
                               lyap_family_name(deck->families[f]));
    if (status != LYAP_OK)
        lyap_deck_free(deck);
    return status;
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
        .spectrum = lyap_deck_spectrum_count(deck, deck->widths[w]), .eps = deck->eps,
        .nbias_variances = lyap_deck_has_biases(deck) ? deck->nbias_variances : 0,
        .bias_variances = deck->bias_variances, .input_m0 = deck->input_m0,
        .input_cosine_on = deck->input_cosine_on, .input_cosine = deck->input_cosine,
        .block_replicas = lyap_grid_block_replicas(deck, task)};
}

int lyap_sched_check_node_memory(const char *name, double worker, const char *task, double master,
                                 const char *fix)
{
    MPI_Comm node;
    int local_ranks = 1;
    LYAP_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    MPI_Comm_size(node, &local_ranks);
    MPI_Comm_free(&node);
    double need = local_ranks * worker + master;
    double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (have > 0 && need > have)
        return lyap_fail(LYAP_EDECK, "%s: needs about %.1f GB on this node (%d rank%s x %.2f GB for %s, "
                         "plus %.2f GB of results on rank 0) but it has %.1f GB; %s, or use fewer ranks per node",
                         name, need / 1e9, local_ranks, lyap_plural(local_ranks), worker / 1e9, task,
                         master / 1e9, have / 1e9, fix);
    return LYAP_OK;
}

int lyap_sched_check_memory(const lyap_deck *deck)
{
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
    char task[64];
    snprintf(task, sizeof task, "width %d", widest);
    return lyap_sched_check_node_memory(deck->name, worker, task, master, "reduce [grid] widths or the grid");
}

/* ---- the sweep -------------------------------------------------------------- */

enum { MSG_KIND, MSG_TASK, MSG_BLOCK, MSG_SECONDS, MSG_FRACTION, MSG_HEADER }; /* worker message */
enum { RESULT = 0 };

/* A block that arrived ahead of its turn, packed (pack.h). */
typedef struct {
    int first;     /* its block number */
    size_t length; /* packed doubles */
    double *packed;
} held_block;

/* A task still to finish, on rank 0. */
typedef struct {
    long task;
    lyap_task_spec spec;
    int family, width;       /* grid indices (ETA rates) */
    int nblocks, per_block;  /* blocks at the cap, replicas per block */
    int expected_blocks;     /* blocks the cost model expects (adaptive: fewer than nblocks) */
    int next;                /* blocks below it are handed out, merged or held */
    size_t length;           /* doubles per block state */
    double *prefix;          /* merged blocks, whole (NULL until the first arrives) */
    int nheld;               /* blocks that arrived ahead of their turn */
    held_block *held;        /* [nheld] their states, packed */
    double done_replicas;    /* replicas of merged and held blocks */
    double replica_cost;     /* cost model, ns per replica */
    int finished;
} task_slot;

typedef struct {
    const lyap_deck *deck;
    int quiet, size;
    const lyap_sched_io *io;
    task_slot *slots;       /* tasks to compute, most expensive first */
    long nslots, *slot_of;  /* slot_of[task]: its slot, or -1 */
    long ntasks, done;      /* all tasks of the deck; finished ones */
    long unfinished_slots;  /* slots not finished */
    int stopping;           /* a signal arrived: assign nothing more */
    long finished, blocks;  /* tasks finished and blocks kept in this run */
    double stop_time;       /* when the stop was first seen (MPI_Wtime), else 0 */
    lyap_sched_report *report; /* the abandoned units go here */
    int active_workers;     /* workers not yet told to stop */
    int *idle, nidle;       /* workers waiting for a unit */
    double *busy_since;     /* [size]: when each worker got the unit it computes, 0 if none */
    double *message;        /* [count]: see the file header */
    int count;              /* doubles per worker message (the longest state, packed) */
    double *scratch;        /* a whole state, all zeros between uses: blocks unpack into it */
    lyap_task_result result; /* a finished task */
    /* ETA: measured seconds per cost-model nanosecond of finished units, by
     * (family, width), by family and overall */
    double *rate_seconds, *rate_cost; /* [nfamilies * (nwidths + 1) + 1] */
    long own_task;          /* rank 0's unit: task (-1 if none), block, fraction done */
    int own_block;
    double own_fraction, own_start;
    double start, last_report;
    long reported_done, reported_blocks;
} master_state;

/* CPU seconds of this thread: rank 0's own cost of serving, which is what
 * saturates a master (wall time would count the OS running other ranks on
 * an oversubscribed node). */
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Index of the rate sums of (family F, width W); W = nwidths: the family's;
 * F = nfamilies: overall. */
static size_t rate_index(const lyap_deck *deck, int f, int w)
{
    return f == deck->nfamilies ? (size_t)deck->nfamilies * (deck->nwidths + 1) : (size_t)f * (deck->nwidths + 1) + w;
}

/* Seconds per cost nanosecond for SLOT's tasks: learned from its own
 * (family, width), else its family, else all finished units; 0 if none
 * finished yet. */
static double rate_of(const master_state *m, const task_slot *slot)
{
    size_t at[3] = {rate_index(m->deck, slot->family, slot->width), rate_index(m->deck, slot->family, m->deck->nwidths),
                    rate_index(m->deck, m->deck->nfamilies, 0)};
    for (int i = 0; i < 3; i++)
        if (m->rate_cost[at[i]] > 0)
            return m->rate_seconds[at[i]] / m->rate_cost[at[i]];
    return 0;
}

static void learn_rate(master_state *m, const task_slot *slot, double replicas, double seconds)
{
    size_t at[3] = {rate_index(m->deck, slot->family, slot->width), rate_index(m->deck, slot->family, m->deck->nwidths),
                    rate_index(m->deck, m->deck->nfamilies, 0)};
    for (int i = 0; i < 3; i++) {
        m->rate_seconds[at[i]] += seconds;
        m->rate_cost[at[i]] += replicas * slot->replica_cost;
    }
}

/* Replicas SLOT still needs, by the cost model (adaptive: its estimate). */
static double replicas_left(const master_state *m, const task_slot *slot)
{
    if (slot->finished)
        return 0;
    return fmax(0, lyap_grid_task_replicas(m->deck, slot->task) - slot->done_replicas);
}

/* Progress on stderr: tasks, the share of the work done, elapsed, and the
 * ETA. The work is weighed in seconds: each task's remaining replicas x
 * the cost model x the measured seconds per unit of cost of finished units
 * like it (same family and width, else family, else any), so a cost model
 * that misweighs paths or families is corrected as soon as units finish;
 * ETA = elapsed x remaining / done, which keeps the parallel efficiency
 * (rank 0's service, idle ranks at the end) the run has shown. */
static void report_progress(master_state *m, int force)
{
    double now = MPI_Wtime();
    if (m->quiet || (!force && now - m->last_report < PROGRESS_INTERVAL))
        return;
    if (force && m->reported_done == m->done && m->reported_blocks == m->blocks)
        return; /* the last line already says it */
    m->last_report = now;
    m->reported_done = m->done;
    m->reported_blocks = m->blocks;
    double elapsed = now - m->start, done = m->rate_seconds[rate_index(m->deck, m->deck->nfamilies, 0)], left = 0;
    double model_done = m->rate_cost[rate_index(m->deck, m->deck->nfamilies, 0)], model_left = 0;
    /* Units in flight on the workers count with the time they have run
     * (without it, early ETAs were too long by the units under way). */
    double in_flight = 0;
    for (int w = 1; w < m->size; w++)
        in_flight += m->busy_since[w] > 0 ? now - m->busy_since[w] : 0;
    int learned = done > 0;
    for (long i = 0; i < m->nslots; i++) {
        const task_slot *slot = &m->slots[i];
        double cost = replicas_left(m, slot) * slot->replica_cost;
        double fraction = slot->task == m->own_task ? m->own_fraction * slot->per_block : 0;
        cost -= fraction * slot->replica_cost; /* rank 0's unit in progress */
        model_left += cost;
        left += cost * rate_of(m, slot);
    }
    left = fmax(0, left - in_flight);
    done += in_flight;
    double fraction = learned ? done / (done + left) : model_done + model_left > 0 ? model_done / (model_done + model_left) : 0;
    if (m->unfinished_slots == 0)
        fraction = 1;
    fprintf(stderr, "lyapdiag: %ld/%ld task%s, %.0f%% of the work, %.1f s elapsed", m->done, m->ntasks,
            lyap_plural(m->ntasks), 100 * fraction, elapsed);
    if (fraction > 0 && fraction < 1)
        fprintf(stderr, ", ETA %.*f s", elapsed * (1 - fraction) / fraction < 10 ? 1 : 0,
                elapsed * (1 - fraction) / fraction);
    fputc('\n', stderr);
}

/* Notes that the stop was seen now (the end of the run's time slot). */
static void note_stop(master_state *m)
{
    if (m->stopping && m->stop_time == 0)
        m->stop_time = MPI_Wtime();
}

/* Adds an abandoned unit to the report, keeping the ones that need the
 * most time when there are more than it holds. */
static void note_unfinished(master_state *m, long task, int block, double fraction, double seconds)
{
    lyap_sched_report *r = m->report;
    const task_slot *slot = &m->slots[m->slot_of[task]];
    int first = block * slot->per_block, replicas = slot->spec.replicas - first;
    lyap_sched_unfinished u = {task, block, slot->nblocks, replicas < slot->per_block ? replicas : slot->per_block,
                               fraction, seconds, fraction > 0 ? seconds / fraction : INFINITY};
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

static int merged_blocks(const task_slot *slot)
{
    return slot->prefix ? lyap_estimate_state_blocks(slot->prefix) : 0;
}

static int is_held(const task_slot *slot, int block)
{
    for (int i = 0; i < slot->nheld; i++)
        if (slot->held[i].first == block)
            return 1;
    return 0;
}

/* The next block of SLOT to hand out, or -1. An adaptive task runs ahead of
 * its merged prefix only as far as the cost model expects it to need (or
 * one block per rank): blocks past its stop are computed for nothing. */
static int next_block(const master_state *m, task_slot *slot)
{
    if (slot->finished)
        return -1;
    while (slot->next < slot->nblocks && is_held(slot, slot->next))
        slot->next++;
    int limit = slot->nblocks;
    if (slot->spec.target_stderr > 0) {
        int ahead = merged_blocks(slot) + m->size;
        limit = slot->expected_blocks > ahead ? slot->expected_blocks : ahead;
        limit = limit < slot->nblocks ? limit : slot->nblocks;
    }
    return slot->next < limit ? slot->next : -1;
}

/* Picks a unit: the first slot (most expensive task) with a block to give,
 * or with FROM_BACK the last one (rank 0's long replicas keep workers
 * waiting: it works from the cheap end). 0 if none now. */
static int pick_unit(master_state *m, int from_back, long *task, int *block)
{
    for (long n = 0; !m->stopping && n < m->nslots; n++) {
        task_slot *slot = &m->slots[from_back ? m->nslots - 1 - n : n];
        int b = next_block(m, slot);
        if (b >= 0) {
            slot->next = b + 1;
            *task = slot->task;
            *block = b;
            return 1;
        }
    }
    return 0;
}

/* 1 if a unit may still be handed out later (blocks not yet given). */
static int work_may_come(const master_state *m)
{
    for (long i = 0; !m->stopping && i < m->nslots; i++) {
        const task_slot *slot = &m->slots[i];
        if (!slot->finished && slot->next < slot->nblocks)
            return 1;
    }
    return 0;
}

static void free_held(task_slot *slot)
{
    for (int i = 0; i < slot->nheld; i++)
        free(slot->held[i].packed);
    free(slot->held);
    slot->held = NULL;
    slot->nheld = 0;
}

/* Gives IO the finished blocks of SLOT (prefix, then held). */
static int store_blocks(master_state *m, task_slot *slot)
{
    if (!m->io->store_blocks)
        return LYAP_OK;
    lyap_block_state states[1 + slot->nheld];
    int n = 0;
    if (slot->prefix && merged_blocks(slot) > 0)
        states[n++] = (lyap_block_state){slot->length, slot->prefix, 0};
    for (int i = 0; i < slot->nheld; i++)
        states[n++] = (lyap_block_state){slot->held[i].length, slot->held[i].packed, 1};
    return m->io->store_blocks(m->io->ctx, slot->task, n, states);
}

/* Merges block STATE (either form) into SLOT's prefix; a packed one
 * through rank 0's zeroed scratch state, which it leaves zeroed. */
static int merge(master_state *m, task_slot *slot, const lyap_block_state *state)
{
    if (!state->packed)
        return lyap_estimate_merge_block(&slot->spec, slot->prefix, state->values);
    int status = lyap_unpack(state->values, state->length, m->scratch, slot->length, 1);
    if (status == LYAP_OK)
        status = lyap_estimate_merge_block(&slot->spec, slot->prefix, m->scratch);
    lyap_pack_clear(state->values, state->length, m->scratch);
    return status;
}

/* Merges SLOT's held blocks that are next in turn; finishes the task when
 * the prefix says so (every block, or the adaptive target reached), else
 * gives IO its blocks if STORE (not on resume: they came from there). */
static int advance(master_state *m, task_slot *slot, int store)
{
    for (int i = 0; !lyap_estimate_state_finished(slot->prefix) && i < slot->nheld; i++) {
        held_block *h = &slot->held[i];
        if (h->first != merged_blocks(slot))
            continue;
        LYAP_CALL(merge(m, slot, &(lyap_block_state){h->length, h->packed, 1}));
        free(h->packed);
        *h = slot->held[--slot->nheld];
        i = -1; /* the next one may be anywhere */
    }
    if (!lyap_estimate_state_finished(slot->prefix))
        return store ? store_blocks(m, slot) : LYAP_OK;
    double start = cpu_seconds();
    LYAP_CALL(lyap_estimate_finish(&slot->spec, slot->prefix, &m->result));
    LYAP_CALL(m->io->sink(m->io->ctx, slot->task, &m->result));
    m->report->task_seconds += cpu_seconds() - start;
    slot->finished = 1;
    m->unfinished_slots--;
    m->done++;
    m->finished++;
    free(slot->prefix);
    slot->prefix = NULL;
    free_held(slot);
    return LYAP_OK;
}

static int ensure_prefix(master_state *m, task_slot *slot)
{
    if (slot->prefix)
        return LYAP_OK;
    double start = cpu_seconds();
    LYAP_CALL(lyap_alloc(&slot->prefix, slot->length, sizeof *slot->prefix, "prefix state"));
    lyap_estimate_state_clear(&slot->spec, slot->prefix);
    m->report->task_seconds += cpu_seconds() - start;
    return LYAP_OK;
}

/* Holds block STATE (either form) of SLOT, packed, until its turn. */
static int hold(task_slot *slot, const lyap_block_state *state)
{
    held_block *held = realloc(slot->held, (size_t)(slot->nheld + 1) * sizeof *held);
    if (!held)
        return lyap_fail(LYAP_ENOMEM, "out of memory holding a block state");
    slot->held = held;
    size_t room = state->packed ? state->length : lyap_pack_bound(state->length);
    double *packed;
    LYAP_CALL(lyap_alloc(&packed, room, sizeof *packed, "block state"));
    size_t length = state->length;
    if (state->packed)
        memcpy(packed, state->values, length * sizeof *packed);
    else
        length = lyap_pack(state->values, state->length, packed);
    held[slot->nheld++] = (held_block){lyap_block_state_first(state), length, packed};
    return LYAP_OK;
}

/* A finished block STATE of TASK (SECONDS of compute): merged now if it is
 * next in turn (straight from the message: no copy), else held; blocks of
 * a finished task (past an adaptive stop) are dropped. */
static int accept_block(master_state *m, long task, const lyap_block_state *state, double seconds)
{
    task_slot *slot = &m->slots[m->slot_of[task]];
    int block = lyap_block_state_first(state);
    int replicas = slot->spec.replicas - block * slot->per_block;
    replicas = replicas < slot->per_block ? replicas : slot->per_block;
    learn_rate(m, slot, replicas, seconds);
    if (slot->finished || block < merged_blocks(slot) || is_held(slot, block))
        return LYAP_OK;
    LYAP_CALL(ensure_prefix(m, slot));
    if (block == merged_blocks(slot))
        LYAP_CALL(merge(m, slot, state));
    else
        LYAP_CALL(hold(slot, state));
    slot->done_replicas += replicas;
    m->blocks++;
    LYAP_CALL(advance(m, slot, 1));
    report_progress(m, 0);
    return LYAP_OK;
}

static int send_unit(long task, int block, int worker)
{
    long unit[2] = {task, block};
    LYAP_MPI(MPI_Send(unit, 2, MPI_LONG, worker, TAG_TASK, MPI_COMM_WORLD));
    return LYAP_OK;
}

/* Answers WORKER: its next unit, -1 (nothing more will come, or stopping),
 * or nothing yet (it waits in the idle list). */
static int assign(master_state *m, int worker)
{
    long task;
    int block;
    m->busy_since[worker] = 0;
    if (pick_unit(m, 0, &task, &block)) {
        m->busy_since[worker] = MPI_Wtime();
        return send_unit(task, block, worker);
    }
    if (work_may_come(m)) {
        m->idle[m->nidle++] = worker;
        return LYAP_OK;
    }
    m->active_workers--;
    return send_unit(-1, 0, worker);
}

/* Gives the waiting workers what there is now. */
static int serve_idle(master_state *m)
{
    int n = m->nidle;
    m->nidle = 0;
    int *waiting = m->idle + m->size; /* second half: a copy */
    memcpy(waiting, m->idle, (size_t)n * sizeof *waiting);
    for (int i = 0; i < n; i++)
        LYAP_CALL(assign(m, waiting[i]));
    return LYAP_OK;
}

/* Receives one worker message (blocking), keeps its block, replies. */
static int serve_one(master_state *m, const MPI_Status *probed)
{
    MPI_Status status;
    double start = cpu_seconds(), task_seconds = m->report->task_seconds;
    m->report->served++;
    LYAP_MPI(MPI_Recv(m->message, m->count, MPI_DOUBLE, probed->MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &status));
    int kind = (int)m->message[MSG_KIND], length = 0;
    long task = (long)m->message[MSG_TASK];
    LYAP_MPI(MPI_Get_count(&status, MPI_DOUBLE, &length));
    if (kind == RESULT) {
        lyap_block_state state = {(size_t)(length - MSG_HEADER), m->message + MSG_HEADER, 1};
        LYAP_CALL(accept_block(m, task, &state, m->message[MSG_SECONDS]));
    }
    m->stopping |= kind == STOPPING || stop_signal;
    note_stop(m);
    if (kind == STOPPING)
        note_unfinished(m, task, (int)m->message[MSG_BLOCK], m->message[MSG_FRACTION], m->message[MSG_SECONDS]);
    LYAP_CALL(assign(m, status.MPI_SOURCE));
    int served = serve_idle(m);
    m->report->serve_seconds += cpu_seconds() - start - (m->report->task_seconds - task_seconds);
    return served;
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
    if (m->stopping)
        LYAP_CALL(serve_idle(m)); /* they get -1 */
    return stop_status(m->stopping);
}

/* estimate's poll hook on workers: abandon the unit when a signal came.
 * CTX is the fraction of the unit done, sent with STOPPING. */
static int check_stop(void *ctx, double fraction_done)
{
    *(double *)ctx = fraction_done;
    return stop_status(stop_signal != 0);
}

static int compute(const lyap_deck *deck, long task, int block, double *state, lyap_poll_fn poll, void *ctx)
{
    lyap_task_spec spec;
    task_spec(deck, task, &spec);
    return lyap_estimate_run_block(&spec, block, state, poll, ctx);
}

static int run_master(master_state *m, double *own)
{
    int status = LYAP_OK;
    /* Every worker gets its first unit before rank 0 starts one. */
    for (int w = 0, n = m->active_workers; w < n; w++) {
        MPI_Status probed;
        LYAP_MPI(MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &probed));
        LYAP_CALL(serve_one(m, &probed));
    }
    while (status == LYAP_OK) {
        long task;
        int block;
        /* Rank 0 answers workers between its own replicas, so it takes the
         * most expensive unit left (longest first balances best) as long
         * as a replica of it is short; otherwise it works from the cheap end. */
        int from_back = 0;
        for (long i = 0; i < m->nslots; i++)
            if (next_block(m, &m->slots[i]) >= 0) {
                from_back = m->slots[i].replica_cost >= MAX_MASTER_REPLICA_NS;
                break;
            }
        if (!m->stopping && pick_unit(m, from_back, &task, &block)) {
            m->own_task = task;
            m->own_block = block;
            m->own_fraction = 0;
            m->own_start = MPI_Wtime();
            status = compute(m->deck, task, block, own, serve_waiting, m);
            double seconds = MPI_Wtime() - m->own_start;
            m->own_task = -1;
            if (status == LYAP_EINTERRUPTED)
                note_unfinished(m, task, block, m->own_fraction, seconds);
            lyap_block_state state = {m->slots[m->slot_of[task]].length, own, 0};
            if (status == LYAP_OK)
                status = accept_block(m, task, &state, seconds);
            if (status == LYAP_OK)
                status = serve_idle(m);
            if (status == LYAP_OK)
                status = serve_waiting(m, 0);
            continue;
        }
        if (m->active_workers == 0 && (m->stopping || m->unfinished_slots == 0))
            break;
        if (m->active_workers == m->nidle && !m->stopping) /* nobody computes: no message would come */
            return lyap_fail(LYAP_EINTERNAL, "sched: %ld tasks unfinished with no unit to give", m->unfinished_slots);
        MPI_Status probed; /* nothing for rank 0 now: wait for a worker */
        LYAP_MPI(MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &probed));
        LYAP_CALL(serve_one(m, &probed));
        m->stopping |= stop_signal != 0;
        note_stop(m);
        if (m->stopping)
            LYAP_CALL(serve_idle(m));
    }
    if (status != LYAP_OK && status != LYAP_EINTERRUPTED)
        return status;
    m->stopping |= status == LYAP_EINTERRUPTED;
    LYAP_CALL(serve_idle(m));
    /* Collect what the workers are computing (all of it when stopping). */
    while (m->active_workers > 0) {
        MPI_Status probed;
        LYAP_MPI(MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &probed));
        LYAP_CALL(serve_one(m, &probed));
    }
    return stop_status(m->stopping);
}

/* A worker: computes units into STATE (the longest state) and ships them
 * packed in MESSAGE. */
static int run_worker(const lyap_deck *deck, double *message, double *state)
{
    int kind = NO_RESULT, length = MSG_HEADER;
    double fraction = 0;
    long unit[2];
    for (;;) {
        message[MSG_KIND] = kind;
        LYAP_MPI(MPI_Send(message, length, MPI_DOUBLE, 0, TAG_RESULT, MPI_COMM_WORLD));
        LYAP_MPI(MPI_Recv(unit, 2, MPI_LONG, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
        if (unit[0] < 0)
            return stop_signal ? LYAP_EINTERRUPTED : LYAP_OK;
        lyap_task_spec spec;
        task_spec(deck, unit[0], &spec);
        fraction = 0;
        double start = MPI_Wtime();
        int status = lyap_estimate_run_block(&spec, (int)unit[1], state, check_stop, &fraction);
        message[MSG_TASK] = (double)unit[0];
        message[MSG_BLOCK] = (double)unit[1];
        message[MSG_SECONDS] = MPI_Wtime() - start;
        message[MSG_FRACTION] = fraction;
        if (status == LYAP_OK) {
            kind = RESULT;
            length = MSG_HEADER + (int)lyap_pack(state, lyap_estimate_state_length(&spec), message + MSG_HEADER);
        } else if (status == LYAP_EINTERRUPTED) { /* tell the master how far it got, then wait for its -1 */
            kind = STOPPING;
            length = MSG_HEADER;
        } else {
            return status;
        }
    }
}

/* Rank 0: the slots of the tasks to compute, most expensive first, each
 * continued from the blocks an earlier run kept. */
static int make_slots(master_state *m)
{
    const lyap_deck *deck = m->deck;
    long *order = NULL;
    LYAP_CALL(lyap_grid_schedule(deck, &order));
    int status = lyap_alloc(&m->slots, (size_t)m->ntasks, sizeof *m->slots, "task slots");
    if (status == LYAP_OK)
        status = lyap_alloc(&m->slot_of, (size_t)m->ntasks, sizeof *m->slot_of, "task slots");
    for (long t = 0; status == LYAP_OK && t < m->ntasks; t++)
        m->slot_of[t] = -1;
    for (long i = 0; status == LYAP_OK && i < m->ntasks; i++) {
        long t = order[i];
        if (m->io->is_done(m->io->ctx, t)) {
            m->done++;
            continue;
        }
        task_slot *slot = &m->slots[m->nslots];
        int f, w, s;
        lyap_grid_task_position(deck, t, &f, &w, &s);
        *slot = (task_slot){.task = t, .family = f, .width = w, .replica_cost = lyap_grid_replica_cost(deck, t)};
        task_spec(deck, t, &slot->spec);
        slot->nblocks = lyap_estimate_block_count(&slot->spec);
        slot->per_block = lyap_estimate_block_replicas(&slot->spec);
        slot->expected_blocks = (int)ceil(lyap_grid_task_replicas(deck, t) / slot->per_block);
        slot->length = lyap_estimate_state_length(&slot->spec);
        m->slot_of[t] = m->nslots++;
        m->unfinished_slots++;
    }
    free(order);
    for (long i = 0; status == LYAP_OK && i < m->nslots; i++) { /* resume: the kept blocks */
        task_slot *slot = &m->slots[i];
        int n = 0;
        const lyap_block_state *states = NULL;
        if (m->io->saved_blocks)
            status = m->io->saved_blocks(m->io->ctx, slot->task, &n, &states);
        for (int j = 0; status == LYAP_OK && j < n; j++) { /* the merged prefix */
            if (lyap_block_state_first(&states[j]) != 0 || lyap_block_state_blocks(&states[j]) < 1 || slot->prefix)
                continue;
            status = ensure_prefix(m, slot);
            if (status == LYAP_OK && lyap_unpack(states[j].values, states[j].length, slot->prefix, slot->length, 0))
                lyap_estimate_state_clear(&slot->spec, slot->prefix); /* another layout (version): computed anew */
            else if (status == LYAP_OK)
                slot->done_replicas += fmin((double)merged_blocks(slot) * slot->per_block, slot->spec.replicas);
        }
        for (int j = 0; status == LYAP_OK && j < n; j++) { /* blocks held ahead of it */
            int first = lyap_block_state_first(&states[j]);
            if (lyap_block_state_blocks(&states[j]) != 1 || first < merged_blocks(slot) || is_held(slot, first))
                continue;
            int fits = lyap_unpack(states[j].values, states[j].length, m->scratch, slot->length, 1) == LYAP_OK;
            lyap_pack_clear(states[j].values, states[j].length, m->scratch);
            if (fits)
                status = ensure_prefix(m, slot);
            if (fits && status == LYAP_OK)
                status = hold(slot, &states[j]);
            if (fits && status == LYAP_OK)
                slot->done_replicas += slot->per_block;
        }
        slot->next = merged_blocks(slot);
        if (status == LYAP_OK && slot->prefix)
            status = advance(m, slot, 0);
    }
    return status;
}

/* Doubles of the longest block state of the deck (every rank computes the
 * same). A state's layout depends on the family and width, never on the
 * slope: one task per (family, width) is enough, not all of a large
 * grid's at start-up. */
static size_t longest_state(const lyap_deck *deck)
{
    size_t longest = 0;
    for (int f = 0; f < deck->nfamilies; f++)
        for (int w = 0; w < deck->nwidths; w++) {
            lyap_task_spec spec;
            task_spec(deck, lyap_grid_task_number(deck, f, w, 0), &spec);
            size_t n = lyap_estimate_state_length(&spec);
            longest = n > longest ? n : longest;
        }
    return longest;
}

int lyap_sched_run(const lyap_deck *deck, int quiet, const lyap_sched_io *io, lyap_sched_report *report)
{
    int size = lyap_sched_size(), rank = lyap_sched_rank();
    long ntasks = lyap_deck_task_count(deck);
    double start = MPI_Wtime();
    *report = (lyap_sched_report){0};
    master_state m = {.deck = deck, .quiet = quiet, .size = size, .io = io, .ntasks = ntasks,
                      .active_workers = size - 1, .start = start, .last_report = start, .report = report,
                      .own_task = -1};
    size_t longest = longest_state(deck);
    m.count = (int)(MSG_HEADER + lyap_pack_bound(longest));
    size_t nrates = rate_index(deck, deck->nfamilies, 0) + 1;
    /* a block state: rank 0's own (the message buffer receives meanwhile),
     * or a worker's before it is packed */
    double *own = NULL;
    int status = lyap_alloc(&m.message, (size_t)m.count, sizeof *m.message, "block message");
    if (status == LYAP_OK)
        status = lyap_alloc(&own, longest, sizeof *own, "block state");
    if (status == LYAP_OK && rank == 0)
        status = lyap_alloc(&m.scratch, longest, sizeof *m.scratch, "block state");
    if (status == LYAP_OK && rank == 0)
        status = lyap_task_result_init(&m.result, lyap_result_dims_of_deck(deck));
    if (status == LYAP_OK && rank == 0)
        status = lyap_alloc(&m.idle, 2 * (size_t)size, sizeof *m.idle, "idle workers");
    if (status == LYAP_OK && rank == 0)
        status = lyap_alloc(&m.busy_since, (size_t)size, sizeof *m.busy_since, "busy workers");
    if (status == LYAP_OK && rank == 0)
        status = lyap_alloc(&m.rate_seconds, nrates, sizeof *m.rate_seconds, "rates");
    if (status == LYAP_OK && rank == 0)
        status = lyap_alloc(&m.rate_cost, nrates, sizeof *m.rate_cost, "rates");
    if (status == LYAP_OK && rank == 0)
        status = make_slots(&m);
    if (status != LYAP_OK && rank != 0) /* allocation failures: this rank alone */
        lyap_sched_abort();
    if (status == LYAP_OK)
        status = rank == 0 ? run_master(&m, own) : run_worker(deck, m.message, own);
    if (status != LYAP_OK && status != LYAP_EINTERRUPTED && rank != 0) /* a worker's own failure */
        lyap_sched_abort();
    if (status == LYAP_OK && rank == 0)
        report_progress(&m, 1);
    report->seconds = MPI_Wtime() - start;
    report->finished = m.finished;
    report->blocks = m.blocks;
    report->slot = m.stop_time > 0 ? m.stop_time - start : report->seconds;
    if (rank == 0 && io->adopt_blocks) {
        int adopted = io->adopt_blocks(io->ctx);
        status = status == LYAP_OK || status == LYAP_EINTERRUPTED ? (adopted != LYAP_OK ? adopted : status) : status;
    }
    for (long i = 0; i < m.nslots; i++) {
        task_slot *slot = &m.slots[i];
        int kept = (slot->prefix ? merged_blocks(slot) : 0) + slot->nheld;
        report->blocks_held += kept;
        report->tasks_held += kept > 0;
        free(slot->prefix);
        free_held(slot);
    }
    lyap_task_result_free(&m.result);
    free(m.message);
    free(m.scratch);
    free(own);
    free(m.idle);
    free(m.busy_since);
    free(m.rate_seconds);
    free(m.rate_cost);
    free(m.slots);
    free(m.slot_of);
    return status;
}

int lyap_sched_stop_signal(void)
{
    return (int)stop_signal;
}
