/* fuzz_deck_parser.c: libFuzzer target for the deck parser. Built with
 * clang -fsanitize=fuzzer,address,undefined by test_fuzz_deck_parser.sh.
 * Any input must either parse or be rejected with LYAP_EDECK and a one-line
 * message that names the deck; anything else (crash, sanitizer report, a
 * multi-line or empty message, another status) is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/traindeck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the text, as when read from a file */
    lyap_deck deck;
    int status = lyap_deck_parse(text, "fuzz.ini", &deck);
    if (status == LYAP_OK) {
        if (deck.nwidths < 1 || deck.widths[0] < 1 || deck.slopes[0] < 0 || deck.slopes[deck.nslopes - 1] > 1 ||
            deck.variances[0] <= 0 || deck.depths[deck.ndepths - 1] < LYAP_DECK_MIN_MAX_DEPTH)
            abort(); /* validation let a bad value through */
        lyap_deck_free(&deck);
    } else {
        const char *msg = lyap_error_message();
        if (status != LYAP_EDECK || strchr(msg, '\n') || strncmp(msg, "fuzz.ini", 8) != 0)
            abort(); /* every rejection: one line naming the file */
    }
    /* The same text as a training deck ([train]). */
    status = lyap_deck_parse_train(text, "fuzz.ini", &deck);
    if (status == LYAP_OK) {
        const lyap_train_deck *t = deck.train;
        if (!t || t->nwidths < 1 || t->widths[0] < 1 || t->nslopes < 1 || t->slopes[0] < 0 ||
            t->slopes[t->nslopes - 1] > 1 || t->nmethods < 1 || t->noptimizers < 1 || t->nseeds < 1 ||
            t->setup.steps % t->setup.record_every != 0 || lyap_train_task_count(t) < 1)
            abort();
        lyap_deck_free(&deck);
    } else {
        const char *msg = lyap_error_message();
        if (status != LYAP_EDECK || strchr(msg, '\n') || strncmp(msg, "fuzz.ini", 8) != 0)
            abort();
    }
    free(text);
    return 0;
}
