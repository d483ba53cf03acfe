/*
 * mn_engine_replay.h: the durable engine's log reader (mn_engine_replay.c), shared by recovery
 * and the replication seam (mn_engine_replica.c): an index of every record's position in the
 * logs of a data directory, built in one checked pass, and a reader that reads one indexed
 * record back (its CRC checked again) so that payloads are held only while they are used.
 */
#ifndef MN_ENGINE_REPLAY_H
#define MN_ENGINE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "engine/mn_engine_durable_internal.h"
#include "wal/mn_wal.h"

/** Where one record lies, and what it is (48 bytes). */
typedef struct mn_log_entry {
    uint64_t space;
    uint64_t sequence;
    uint64_t segment;
    uint64_t offset;        /* of its header in the segment */
    uint32_t type;
    uint32_t payload_bytes;
    uint32_t log;           /* wal-NNN */
    uint32_t reserved;
} mn_log_entry;

_Static_assert(sizeof(mn_log_entry) == 48, "index entry size (documented)");

/** The index of a data directory's logs. Zero it before building. */
typedef struct mn_log_index {
    mn_log_entry *entries;
    size_t count;
    size_t capacity;
    uint64_t bytes;         /* bytes of every record read (all spaces) */
    uint64_t only_space;    /* 0: every space; else only this space's records are kept */
    uint32_t log;           /* the log being read (during the build) */
} mn_log_index;

/** Reads one record back at a time; keeps one segment open per log (a stolen space's records
 *  alternate between logs), -1 when none. */
typedef struct mn_log_reader {
    const struct mn_durable *d;
    int fds[MN_DURABLE_LOGS_MAX];
    uint64_t segments[MN_DURABLE_LOGS_MAX];
    uint8_t *buffer;
    size_t capacity;
} mn_log_reader;

/** Writes "<path>/wal-NNN" of log `log` to out (MN_WAL_PATH_BYTES_MAX). */
void mn_replay_dir_path(const struct mn_durable *d, uint32_t log, char *out);
/** Sets present[i] (MN_DURABLE_LOGS_MAX bytes) to 1 for each wal-NNN directory there. */
mn_status mn_replay_dirs(const struct mn_durable *d, uint8_t *present);
/** Recovers every log directory with mn_wal_recover `flags`, adding each record's position to
 *  `index` (report may be NULL). */
mn_status mn_replay_index_build(const struct mn_durable *d, uint32_t flags, mn_log_index *index,
                                mn_durable_report *report);
/** Sorts the index by (space, sequence). */
void mn_replay_index_sort(mn_log_index *index);
void mn_replay_index_free(mn_log_index *index);

void mn_replay_reader_init(mn_log_reader *reader, const struct mn_durable *d);
void mn_replay_reader_free(mn_log_reader *reader);
/** Reads `entry` back into *out (payload valid until the next read); MN_ERR_CORRUPT when the
 *  file no longer holds that record. */
mn_status mn_replay_read(mn_log_reader *reader, const mn_log_entry *entry, mn_wal_record *out);

#endif /* MN_ENGINE_REPLAY_H */
