/* check.h: assertions for lyapdiag's C tests (HPL style: every check prints
 * its value, reference and tolerance, then PASS or FAIL). A test's main
 * returns check_status(): 0 if every check passed, 1 otherwise. */
#ifndef LYAPDIAG_TESTS_CHECK_H
#define LYAPDIAG_TESTS_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int check_failures, check_count;

/* Records one check: OK true passes. The message says what was checked. */
static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    check_count++;
    check_failures += !ok;
}

/* |value - reference| <= tolerance (NaN never passes). */
static __attribute__((unused)) void check_near(const char *what, double value, double reference,
                                               double tolerance)
{
    check(fabs(value - reference) <= tolerance, "%s: value %.12g, reference %.12g, |diff| %.3g <= tol %.3g",
          what, value, reference, fabs(value - reference), tolerance);
}

static __attribute__((unused)) int check_status(void)
{
    printf("%d checks, %d failed\n", check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
