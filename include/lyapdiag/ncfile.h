/* ncfile.h: ncout.c's file-safety layer, for other writers of snapshot
 * files (trainout.c): the same output path checks, fcntl lock, space
 * figures, fletcher32 checksums on write and their verification on
 * resume, and the atomic write (bytes to TMP, fsync, rename) with its
 * plain-words full-disk message. Implemented in ncout.c. */
#ifndef LYAPDIAG_NCFILE_H
#define LYAPDIAG_NCFILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PATH must name a file in an existing directory (LYAP_EIO naming why). */
int lyap_ncfile_check_path(const char *path);

/* Takes the fcntl write lock on LOCK for output PATH into *FD (LYAP_EIO
 * naming the process and host that hold it); lyap_ncfile_unlock removes
 * LOCK and drops it (safe with *FD = -1). */
int lyap_ncfile_lock(const char *path, const char *lock, int *fd);
void lyap_ncfile_unlock(const char *lock, int *fd);

/* Free bytes for this user in the file system of PATH's directory (-1 if
 * unknown), and in FS (SIZE bytes) that file system's mount point. */
double lyap_ncfile_free_bytes(const char *path, char *fs, size_t size);

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
