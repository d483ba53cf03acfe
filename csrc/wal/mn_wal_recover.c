/*
 * mn_wal_recover.c: replaying a write-ahead log on open, telling a torn tail (a crash in the
 * middle of the last write: truncate it) from corruption (damage to data that was once
 * complete: stop, or cut the log there when asked to repair).
 *
 * Each segment is read whole into memory (through the log's mn_vfs table, like every file call
 * here) and walked record by record; nothing read from the file is
 * trusted (every length is bounded by the limit and by the mapping before it is used), so a
 * damaged file gives a status, never a crash. The decision rule, for the first damaged record at
 * offset o of segment s:
 *   - s is the last segment and no valid record starts anywhere after o  -> torn tail: the
 *     segment is truncated to o (removed if o falls inside its header);
 *   - otherwise                                                          -> MN_ERR_CORRUPT with
 *     s's path and o; under MN_WAL_RECOVER_REPAIR the segment is truncated to o (removed if o
 *     is in its header) and every later segment deleted, all of it reported.
 * "A valid record after o" is searched byte by byte for the record magic followed by a correct
 * CRC, so a valid record that merely follows a damaged length field is still found.
 * Segments are chained: each header holds its predecessor's final size, read before the
 * predecessor is walked, so a segment that lost (or gained) whole records at its end is damage
 * at the point where it departs from that size, and no record past it is handed out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wal/mn_crc32c.h"
#include "wal/mn_wal_internal.h"

/* Checks a segment image's header; MN_OK, MN_ERR_VERSION, or MN_ERR_CORRUPT for damage. */
static mn_status mn_wal_check_header(const uint8_t *image, uint64_t size, uint64_t number) {
    if (size < MN_WAL_SEGMENT_HEADER_SIZE) return MN_ERR_CORRUPT;
    if (memcmp(image + MN_WAL_SH_MAGIC, mn_wal_segment_magic, 8) != 0) return MN_ERR_CORRUPT;
    if (mn_crc32c(0, image, MN_WAL_SH_CRC) != mn_get_u32(image + MN_WAL_SH_CRC)) return MN_ERR_CORRUPT;
    if (mn_get_u32(image + MN_WAL_SH_VERSION) != MN_WAL_FORMAT_VERSION) return MN_ERR_VERSION;
    if (mn_get_u32(image + MN_WAL_SH_RESERVED0) != 0 || mn_get_u32(image + MN_WAL_SH_RESERVED1) != 0 ||
        mn_get_u64(image + MN_WAL_SH_NUMBER) != number)
        return MN_ERR_CORRUPT;
    return MN_OK;
}

/* 1 when a valid record starts at some offset after `from` (resynchronisation scan). */
static int mn_wal_valid_record_after(const uint8_t *image, uint64_t size, uint64_t from) {
    static const uint8_t magic[4] = {0x4D, 0x4E, 0x57, 0x52}; /* MN_WAL_RECORD_MAGIC, little-endian */
    if (size < MN_WAL_RECORD_HEADER_SIZE) return 0;
    for (uint64_t at = from + 1; at + MN_WAL_RECORD_HEADER_SIZE <= size; at++) {
        const uint8_t *hit = memchr(image + at, magic[0], (size_t)(size - MN_WAL_RECORD_HEADER_SIZE - at + 1));
        if (!hit) return 0;
        at = (uint64_t)(hit - image);
        if (memcmp(hit, magic, 4) != 0) continue;
        mn_wal_record record;
        uint64_t record_size;
        if (mn_wal_check_record(image, size, at, &record, &record_size)) return 1;
    }
    return 0;
}

/* Cuts segment `path` at `offset`: truncated and synced, or removed when offset is inside
 * its header (a headerless segment is never left behind). */
static mn_status mn_wal_cut(const mn_vfs *vfs, const char *path, uint64_t offset) {
    if (offset < MN_WAL_SEGMENT_HEADER_SIZE) return vfs->unlink(vfs->context, path) == MN_OK ? MN_OK : MN_ERR_IO;
    int fd = -1;
    if (vfs->open(vfs->context, path, MN_VFS_WRITE, &fd) != MN_OK) return MN_ERR_IO;
    mn_status status = vfs->truncate(vfs->context, fd, offset);
    if (status == MN_OK) status = vfs->fdatasync(vfs->context, fd);
    vfs->close(vfs->context, fd);
    return status == MN_OK ? MN_OK : MN_ERR_IO;
}

typedef struct mn_wal_scan {
    uint64_t damaged;   /* offset of the first damaged record, or UINT64_MAX */
    uint64_t end;       /* end of the last valid record */
    uint64_t size;      /* file size */
    int torn;           /* the damage is a torn tail (only decided for the last segment) */
} mn_wal_scan;

/* Reads the header of segment `number` at `path`: 1 with its predecessor's size in *previous
 * when it is intact (anything else is found when that segment itself is walked). */
static int mn_wal_read_previous(const mn_vfs *vfs, const char *path, uint64_t number, uint64_t *previous) {
    int fd = -1;
    if (vfs->open(vfs->context, path, MN_VFS_READ, &fd) != MN_OK) return 0;
    uint8_t header[MN_WAL_SEGMENT_HEADER_SIZE];
    mn_status status = mn_vfs_read_all(vfs, fd, header, sizeof(header), 0);
    vfs->close(vfs->context, fd);
    if (status != MN_OK || mn_wal_check_header(header, sizeof(header), number) != MN_OK) return 0;
    *previous = mn_get_u64(header + MN_WAL_SH_PREVIOUS);
    return 1;
}

/* Walks one segment, calling back for each valid record up to `limit` bytes (its expected size
 * from the next segment's header; UINT64_MAX when unknown). Returns MN_OK (damage, if any, in
 * *scan), MN_ERR_VERSION, MN_ERR_IO, or the callback's status. */
static mn_status mn_wal_scan_segment(const mn_vfs *vfs, const char *path, uint64_t number, int last, uint64_t limit,
                                     mn_wal_record_fn callback, void *context, mn_wal_recovery *report,
                                     mn_wal_scan *scan) {
    scan->damaged = UINT64_MAX;
    scan->end = 0;
    scan->torn = 0;
    int fd = -1;
    if (vfs->open(vfs->context, path, MN_VFS_READ, &fd) != MN_OK) return MN_ERR_IO;
    uint64_t size = 0;
    if (vfs->size(vfs->context, fd, &size) != MN_OK) {
        vfs->close(vfs->context, fd);
        return MN_ERR_IO;
    }
    scan->size = size;
    uint8_t *image = NULL;
    if (size > 0) {
        if ((image = malloc((size_t)size)) == NULL) {
            vfs->close(vfs->context, fd);
            return MN_ERR_NO_MEMORY;
        }
        mn_status read = mn_vfs_read_all(vfs, fd, image, (size_t)size, 0);
        if (read != MN_OK) {
            vfs->close(vfs->context, fd);
            free(image);
            return MN_ERR_IO;
        }
    }
    vfs->close(vfs->context, fd);

    mn_status status = size > 0 ? mn_wal_check_header(image, size, number) : MN_ERR_CORRUPT;
    if (status == MN_ERR_CORRUPT) {
        scan->damaged = 0;
        status = MN_OK;
    } else if (status == MN_OK) {
        const uint64_t walk = limit < size ? limit : size;
        uint64_t offset = MN_WAL_SEGMENT_HEADER_SIZE;
        scan->end = offset;
        while (offset < walk) {
            mn_wal_record record;
            uint64_t record_size;
            if (!mn_wal_check_record(image, walk, offset, &record, &record_size)) {
                scan->damaged = offset;
                break;
            }
            if (callback) {
                mn_wal_position position = {number, offset};
                status = callback(context, &record, &position);
                if (status != MN_OK) break;
            }
            report->records++;
            offset += record_size;
            scan->end = offset;
        }
        /* Shorter than its successor says (records lost at a boundary), or longer (bytes
         * appended after it was closed): damage where it departs from the recorded size. */
        if (status == MN_OK && scan->damaged == UINT64_MAX && limit != UINT64_MAX && (scan->end != limit || size != limit))
            scan->damaged = scan->end;
    }
    if (status == MN_OK && scan->damaged != UINT64_MAX && last)
        scan->torn = size == 0 || !mn_wal_valid_record_after(image, size, scan->damaged);
    free(image);
    return status;
}

static int mn_wal_file_size(const mn_vfs *vfs, const char *path, uint64_t *size) {
    int fd = -1;
    if (vfs->open(vfs->context, path, MN_VFS_READ, &fd) != MN_OK) return 0;
    int ok = vfs->size(vfs->context, fd, size) == MN_OK;
    vfs->close(vfs->context, fd);
    return ok;
}

mn_status mn_wal_recover(const char *directory, uint32_t flags, mn_wal_record_fn callback, void *context,
                         mn_wal_recovery *report) {
    return mn_wal_recover_vfs(NULL, directory, flags, callback, context, report);
}

mn_status mn_wal_recover_vfs(const mn_vfs *vfs, const char *directory, uint32_t flags,
                             mn_wal_record_fn callback, void *context, mn_wal_recovery *report) {
    if (!vfs) vfs = mn_vfs_posix();
    if (!report) return MN_ERR_INVALID;
    memset(report, 0, sizeof(*report));
    if (!directory || (flags & ~(MN_WAL_RECOVER_REPAIR | MN_WAL_RECOVER_READ_ONLY)) != 0) return MN_ERR_INVALID;
    if (strlen(directory) + 1 + MN_WAL_NAME_BYTES >= MN_WAL_PATH_BYTES_MAX) return MN_ERR_TOO_LARGE;
    const int read_only = (flags & MN_WAL_RECOVER_READ_ONLY) != 0;
    const int repair = (flags & MN_WAL_RECOVER_REPAIR) != 0;

    uint64_t *numbers = NULL;
    size_t count = 0;
    mn_status status = mn_wal_list_segments(vfs, directory, &numbers, &count);
    if (status != MN_OK) return status;
    if (count > 0) {
        report->first_segment = numbers[0];
        report->last_segment = numbers[count - 1];
    }
    char path[MN_WAL_PATH_BYTES_MAX];
    size_t damaged_index = count; /* segment index of corruption, count when none */
    uint64_t damaged_offset = 0;
    for (size_t i = 0; i < count; i++) {
        if ((status = mn_wal_segment_path(directory, numbers[i], path)) != MN_OK) goto done;
        if (i > 0 && numbers[i] != numbers[i - 1] + 1) {
            /* A missing segment: everything from the gap on is suspect. */
            damaged_index = i;
            damaged_offset = 0;
            break;
        }
        const int last = i + 1 == count;
        uint64_t limit = UINT64_MAX;
        if (!last && numbers[i + 1] == numbers[i] + 1) {
            char next[MN_WAL_PATH_BYTES_MAX];
            uint64_t previous;
            if ((status = mn_wal_segment_path(directory, numbers[i + 1], next)) != MN_OK) goto done;
            if (mn_wal_read_previous(vfs, next, numbers[i + 1], &previous)) limit = previous;
        }
        mn_wal_scan scan;
        status = mn_wal_scan_segment(vfs, path, numbers[i], last, limit, callback, context, report, &scan);
        if (status != MN_OK) goto done;
        report->segments++;
        report->end.segment = numbers[i];
        report->end.offset = scan.end;
        if (scan.damaged == UINT64_MAX) continue;
        if (scan.torn) {
            report->torn_bytes = scan.size - scan.damaged;
            report->torn_segment = numbers[i];
            if (scan.damaged < MN_WAL_SEGMENT_HEADER_SIZE) {
                /* The whole segment goes: the log ends with the previous one. */
                report->end.segment = i > 0 ? numbers[i - 1] : 0;
                report->end.offset = 0;
                if (i > 0) {
                    char previous[MN_WAL_PATH_BYTES_MAX];
                    uint64_t previous_size = 0;
                    if (mn_wal_segment_path(directory, numbers[i - 1], previous) == MN_OK &&
                        mn_wal_file_size(vfs, previous, &previous_size))
                        report->end.offset = previous_size;
                }
                report->last_segment = report->end.segment;
                if (report->segments > 0) report->segments--;
            }
            if (!read_only) status = mn_wal_cut(vfs, path, scan.damaged);
            goto done;
        }
        damaged_index = i;
        damaged_offset = scan.damaged;
        break;
    }
    if (damaged_index == count) goto done;

    /* Corruption (or a gap) at damaged_index / damaged_offset. */
    if ((status = mn_wal_segment_path(directory, numbers[damaged_index], path)) != MN_OK) goto done;
    memcpy(report->damaged_file, path, sizeof(path));
    report->damaged_segment = numbers[damaged_index];
    report->damaged_offset = damaged_offset;
    if (!repair) {
        status = MN_ERR_CORRUPT;
        goto done;
    }
    uint64_t size = 0;
    if (mn_wal_file_size(vfs, path, &size) && size > damaged_offset) report->dropped_bytes += size - damaged_offset;
    for (size_t j = damaged_index + 1; j < count; j++) {
        char later[MN_WAL_PATH_BYTES_MAX];
        if ((status = mn_wal_segment_path(directory, numbers[j], later)) != MN_OK) goto done;
        uint64_t later_size = 0;
        if (mn_wal_file_size(vfs, later, &later_size)) report->dropped_bytes += later_size;
        report->dropped_segments++;
    }
    report->repaired = 1;
    report->last_segment = damaged_offset < MN_WAL_SEGMENT_HEADER_SIZE
                               ? (damaged_index > 0 ? numbers[damaged_index - 1] : 0)
                               : numbers[damaged_index];
    if (read_only) goto done;
    /* Newest first, so a failure part-way leaves the log a prefix of what it was. */
    for (size_t j = count; j-- > damaged_index + 1;) {
        char later[MN_WAL_PATH_BYTES_MAX];
        if ((status = mn_wal_segment_path(directory, numbers[j], later)) != MN_OK) goto done;
        mn_status gone = vfs->unlink(vfs->context, later);
        if (gone != MN_OK && gone != MN_ERR_NOT_FOUND) {
            status = MN_ERR_IO;
            goto done;
        }
    }
    if ((status = mn_wal_cut(vfs, path, damaged_offset)) != MN_OK) goto done;
    status = vfs->sync_dir(vfs->context, directory);

done:
    free(numbers);
    return status;
}
