/* ncfile.h: ncout.c's file-safety layer, for other writers of snapshot
 * files (trainout.c): the same output path checks, fcntl lock, space
 * check, fletcher32 checksums on write and their verification on resume,
 * the resume itself (which file, its deck, its history), and the atomic
 * write (bytes to TMP, fsync, rename) with its plain-words full-disk
 * message. Implemented in ncout.c. */
#ifndef LYAPDIAG_NCFILE_H
#define LYAPDIAG_NCFILE_H

#include <stddef.h>

#include "lyapdiag/deck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PATH must name a file in an existing directory (LYAP_EIO naming why; a
 * directory gets EXAMPLE, e.g. "train.nc", inside it as the suggestion). */
int lyap_ncfile_check_path(const char *path, const char *example);

/* Takes the fcntl write lock on LOCK for output PATH into *FD (LYAP_EIO
 * naming the process and host that hold it); lyap_ncfile_unlock removes
 * LOCK and drops it (safe with *FD = -1). */
int lyap_ncfile_lock(const char *path, const char *lock, int *fd);
void lyap_ncfile_unlock(const char *lock, int *fd);

/* Free bytes for this user in the file system of PATH's directory (-1 if
 * unknown), and in FS (SIZE bytes) that file system's mount point. */
double lyap_ncfile_free_bytes(const char *path, char *fs, size_t size);

/* Refuses, before any work, output PATH (checkpoint PARTIAL) whose
 * snapshots of about ONE_SNAPSHOT bytes cannot fit: 3 copies at once
 * (PATH.partial, its .tmp, PATH), less what earlier copies hold (LYAP_EIO
 * naming the file system, the bytes free and needed). */
int lyap_ncfile_check_room(const char *path, const char *partial, double one_snapshot);

/* The global text attribute NAME of NCID into *TEXT (malloc'd, NUL
 * terminated); a NetCDF status. */
int lyap_ncfile_read_text_attr(int ncid, const char *name, char **text);

/* Checks that FILE (open as NCID) was made by DECK, naming the first key
 * that differs (LYAP_EDECK); its stored deck is read with PARSE, and one
 * that does not parse is NOT_WHAT and not a checkpoint of KIND (LYAP_EIO). */
int lyap_ncfile_same_deck(int ncid, const char *file, const lyap_deck *deck,
                          int (*parse)(const char *text, const char *name, lyap_deck *deck), const char *not_what,
                          const char *kind);

/* Refuses a new run (neither --resume nor --overwrite) over a finished
 * PATH written from another deck (KIND, e.g. "a phase diagram", parsed by
 * PARSE) or not by lyapdiag at all: a changed deck would replace a
 * finished result. The same deck may rewrite it (the same file again). */
int lyap_ncfile_refuse_other_result(const char *path, const lyap_deck *deck,
                                    int (*parse)(const char *text, const char *name, lyap_deck *deck),
                                    const char *kind);

/* Resumes from PARTIAL, else from a complete PATH (*FOUND names which;
 * NULL if neither exists): a file is opened, its checksums are verified,
 * LOAD(CTX, ncid) reads it (its deck, its tasks), and *HISTORY (malloc'd)
 * gains the earlier runs' lines in front. *WRITING names the file being
 * read, for the messages of LOAD. A file that cannot be read is refused,
 * naming it, and kept. */
int lyap_ncfile_resume(const char *partial, const char *path, const char **writing, char **history,
                       int (*load)(void *ctx, int ncid), void *ctx, const char **found);

/* Gives every non-string variable of NCID (define mode) a fletcher32
 * checksum; reads every variable of NCID back whole, so a damaged one
 * fails, naming it (LYAP_EIO; the file is kept). FILE names it. */
int lyap_ncfile_add_checksums(int ncid, const char *file);
int lyap_ncfile_verify(int ncid, const char *file);

/* Writes SIZE bytes at DATA to TMP, fsyncs, renames over TARGET. A full
 * file system is named in plain words (bytes needed and free), saying that
 * the checkpoint PARTIAL is intact with CHECKPOINTED of NTASKS tasks and
 * NDONE - CHECKPOINTED finished since are lost (CHECKPOINTED < 0: none
 * written yet); PATH is the output the messages name. TMP is removed on
 * failure; TARGET keeps its previous contents. */
int lyap_ncfile_write_atomic(const char *path, const char *partial, const char *tmp, const char *target,
                             const void *data, size_t size, long checkpointed, long ntasks, long ndone);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_NCFILE_H */
