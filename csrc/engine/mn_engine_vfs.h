/*
 * mn_engine_vfs.h: opening a durable engine on a chosen file-system table (private).
 *
 * mn_engine_open (include/mnemo/mn_engine_durable.h) is this with mn_vfs_posix(). Tests pass a
 * fault-injecting table (Tests/ctest/mn_test_faultfs.h) to fail calls, write short or simulate a
 * power loss; every file call of the engine's logs, checkpoints, recovery and directory lock
 * goes through `vfs`, chosen once here for the engine's whole life.
 */
#ifndef MN_ENGINE_VFS_H
#define MN_ENGINE_VFS_H

#include "mnemo/mn_engine_durable.h"
#include "util/mn_vfs.h"

/** mn_engine_open through `vfs`, which must outlive the engine (until mn_engine_close returns).
 *  NULL `vfs`: MN_ERR_INVALID. Same contract and errors as mn_engine_open, MN_ERR_LOCKED included. */
mn_status mn_engine_open_vfs(const mn_engine_options *options, const mn_durable_options *durable,
                             const mn_vfs *vfs, mn_engine **out, mn_durable_report *report);

#endif /* MN_ENGINE_VFS_H */
