/* error.h: lyapdiag status codes and the one error helper every module uses.
 *
 * Functions return LYAP_OK (0) or a negative LYAP_E* code, grouped by the
 * module or library that raised it (NetCDF-C style), and leave a one-line
 * human message (cause; fix) in a per-process buffer. Modules do not print
 * or exit: main reports lyap_error_message() and chooses the exit status.
 * The exceptions live in sched (sched.h): rank 0's progress lines on
 * stderr, and lyap_sched_abort, for a failure on one MPI rank that the
 * others cannot share, which prints the message and aborts all ranks with
 * status 1.
 */
#ifndef LYAPDIAG_ERROR_H
#define LYAPDIAG_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LYAP_OK = 0,
    LYAP_ENOMEM = -1,     /* allocation failed or size overflow */
    LYAP_EUSAGE = -2,     /* bad command line */
    LYAP_EINTERRUPTED = -3, /* stopped by a signal; finished work is kept */
    LYAP_ENOPROGRESS = -4, /* stopped by a signal in a restart that finished no task */
    LYAP_EDECK = -10,     /* input deck: syntax, unknown key, bad value */
    LYAP_EIO = -20,       /* file cannot be read or written */
    LYAP_ENETCDF = -30,   /* NetCDF-C call failed */
    LYAP_ELAPACK = -40,   /* LAPACKE call failed */
    LYAP_EMPI = -50,      /* MPI call failed or bad rank count */
    LYAP_EMATH = -60,     /* GSL quadrature/special function failed */
    LYAP_EINTERNAL = -99  /* broken invariant: a bug, please report */
};

/* Records a printf-style message for CODE and returns CODE, so call sites
 * read `return lyap_fail(LYAP_EDECK, "%s:%d: ...", ...)`. Not thread-safe
 * (lyapdiag runs one thread per rank outside BLAS). */
int lyap_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The message recorded by the last lyap_fail ("unknown error" if none).
 * Owned by the library; valid until the next lyap_fail. */
const char *lyap_error_message(void);

/* Propagates a non-OK status to the caller (PETSc's PetscCall, minus the
 * traceback: the message recorded at the failure site already names it). */
#define LYAP_CALL(expr)                           \
    do {                                          \
        int lyap_status_ = (expr);                \
        if (lyap_status_ != LYAP_OK)              \
            return lyap_status_;                  \
    } while (0)

/* "s" unless N is 1: "%ld task%s" reads "1 task", "2 tasks". */
static inline const char *lyap_plural(long n)
{
    return n == 1 ? "" : "s";
}

/* Checked allocation of N objects of SIZE bytes (zeroed); overflow-safe.
 * Returns LYAP_ENOMEM with a message naming WHAT on failure. */
int lyap_alloc(void *ptr_to_ptr, size_t n, size_t size, const char *what);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_ERROR_H */
