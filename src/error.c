/* error.c: the one error helper (see include/lyapdiag/error.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"

static char last_message[1024];

int lyap_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return code;
}

const char *lyap_error_message(void)
{
    return last_message[0] ? last_message : "unknown error";
}

int lyap_alloc(void *ptr_to_ptr, size_t n, size_t size, const char *what)
{
    void **out = ptr_to_ptr;
    *out = NULL;
    if (size != 0 && n > SIZE_MAX / size)
        return lyap_fail(LYAP_ENOMEM, "%s: %zu x %zu bytes overflows size_t", what, n, size);
    *out = calloc(n ? n : 1, size ? size : 1);
    if (!*out)
        return lyap_fail(LYAP_ENOMEM, "%s: cannot allocate %zu x %zu bytes", what, n, size);
    return LYAP_OK;
}
