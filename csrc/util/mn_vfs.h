/*
 * mn_vfs.h: the one seam through which every file operation of the durable engine goes: the
 * write-ahead log, the checkpoints, recovery and the directory lock (after SQLite's VFS).
 *
 * Why: durability is only as good as its behaviour when the disk misbehaves, and that cannot be
 * tested against the real disk. Every call the log, the checkpoints and recovery make on files
 * goes through an `mn_vfs` table chosen when the engine (or a log) is opened: mn_vfs_posix() in
 * production, a fault-injecting table in tests (Tests/ctest/mn_test_faultfs.h) that can fail
 * any call, write short, and simulate a power loss by dropping everything not yet made durable.
 *
 * Durability model the engine relies on (and the fault table enforces):
 *   - file data is durable after `fdatasync` of that file returns MN_OK;
 *   - a name created, renamed or removed in a directory is durable after `sync_dir` of that
 *     directory returns MN_OK (a new file's data AND its name are needed to survive);
 *   - a failed fdatasync leaves it unknown which of the file's unsynced bytes reached the disk.
 *
 * Files are named by an int handle the table hands out (a POSIX fd for mn_vfs_posix()).
 * Every function returns MN_OK or an error: MN_ERR_IO for a failed call (EIO and the like),
 * MN_ERR_FULL for no space left (ENOSPC, EDQUOT), MN_ERR_NOT_FOUND for a missing path where the
 * call says so, MN_ERR_DUPLICATE for an existing path with MN_VFS_EXCL, MN_ERR_LOCKED for a lock another
 * handle holds. All calls block (they are file-system calls); any thread may call, two threads may use
 * two different handles at once.
 */
#ifndef MN_VFS_H
#define MN_VFS_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_status.h"

/** Flags of mn_vfs.open. Exactly one of READ, WRITE, READ_WRITE. */
#define MN_VFS_READ       0x01u /**< open for reading */
#define MN_VFS_WRITE      0x02u /**< open for writing */
#define MN_VFS_READ_WRITE 0x03u /**< both */
#define MN_VFS_CREATE     0x04u /**< create the file if absent */
#define MN_VFS_EXCL       0x08u /**< with CREATE: fail with MN_ERR_DUPLICATE if it exists */
#define MN_VFS_TRUNCATE   0x10u /**< truncate to 0 bytes on open */

/** Called once per directory entry by mn_vfs.list ("." and ".." excluded); a non-OK return
 *  stops the listing with that status. `name` is valid only during the call. */
typedef mn_status (*mn_vfs_entry_fn)(void *context, const char *name);

/** A file-system table. Every field is required. `context` is handed to every call. */
typedef struct mn_vfs {
    void *context;
    /** Opens `path` with MN_VFS_* flags; *fd gets the handle. MN_ERR_NOT_FOUND: absent
     *  without CREATE. MN_ERR_DUPLICATE: present with CREATE|EXCL. */
    mn_status (*open)(void *context, const char *path, uint32_t flags, int *fd);
    /** Closes a handle (never fails in a way the caller can act on: errors are ignored). */
    void (*close)(void *context, int fd);
    /** Writes up to `bytes` at `offset`; *written gets how many were written (a short write
     *  returns MN_OK with *written < bytes; callers loop). */
    mn_status (*pwrite)(void *context, int fd, const void *data, size_t bytes, uint64_t offset,
                        size_t *written);
    /** Reads up to `bytes` at `offset`; *got gets how many (0 at end of file). */
    mn_status (*pread)(void *context, int fd, void *data, size_t bytes, uint64_t offset,
                       size_t *got);
    /** Makes the file's data durable. */
    mn_status (*fdatasync)(void *context, int fd);
    /** Sets the file's size (a cut; growing is not used). Not durable until fdatasync. */
    mn_status (*truncate)(void *context, int fd, uint64_t bytes);
    /** Writes the file's size to *bytes. */
    mn_status (*size)(void *context, int fd, uint64_t *bytes);
    /** Renames `from` to `to`, replacing `to` (atomic; durable after sync_dir). */
    mn_status (*rename)(void *context, const char *from, const char *to);
    /** Removes a file; MN_ERR_NOT_FOUND when absent (durable after sync_dir). */
    mn_status (*unlink)(void *context, const char *path);
    /** Creates a directory (one level); MN_OK when it already exists. */
    mn_status (*mkdir)(void *context, const char *path);
    /** Makes the names created, renamed or removed in directory `path` durable. */
    mn_status (*sync_dir)(void *context, const char *path);
    /** Calls `callback` for each entry of directory `path`; MN_ERR_NOT_FOUND when absent. */
    mn_status (*list)(void *context, const char *path, mn_vfs_entry_fn callback,
                      void *callback_context);
    /** Takes an exclusive, non-blocking lock on an open handle, held until it is closed
     *  (flock). MN_ERR_LOCKED when another open handle (process or engine) holds it. */
    mn_status (*lock)(void *context, int fd);
} mn_vfs;

/** The real file system (POSIX calls). A static, immutable table: never freed. */
const mn_vfs *mn_vfs_posix(void);

/** Loops vfs->pwrite until all `bytes` are written; MN_ERR_IO when a call writes nothing. */
mn_status mn_vfs_write_all(const mn_vfs *vfs, int fd, const void *data, size_t bytes,
                           uint64_t offset);

/** Loops vfs->pread until `bytes` are read; MN_ERR_TRUNCATED when the file ends first. */
mn_status mn_vfs_read_all(const mn_vfs *vfs, int fd, void *data, size_t bytes, uint64_t offset);

#endif /* MN_VFS_H */
