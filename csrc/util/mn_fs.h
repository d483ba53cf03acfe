/*
 * mn_fs.h: file-system steps shared by the write-ahead log and the engine's checkpoints.
 */
#ifndef MN_FS_H
#define MN_FS_H

#include "mnemo/mn_status.h"

/** fsyncs a directory, making the names created, renamed or removed in it durable.
 *  MN_ERR_IO when it cannot be opened or synced. */
mn_status mn_sync_directory(const char *path);

#endif /* MN_FS_H */
