/*
 * mn_wal_internal.h: the on-disk layout of the write-ahead log, and the helpers the appender
 * (mn_wal.c) and recovery (mn_wal_recover.c) share: segment names, directory listing, the
 * little-endian codec and the record check.
 *
 * Segment file "<directory>/<20-digit number>.wal", little-endian:
 *
 *   Segment header (MN_WAL_SEGMENT_HEADER_SIZE = 40 bytes, at offset 0)
 *   offset  size  field
 *   0       8     magic "MNEMOWAL"                    (MN_WAL_SH_MAGIC)
 *   8       4     format version, 1                   (MN_WAL_SH_VERSION)
 *   12      4     reserved, 0                         (MN_WAL_SH_RESERVED0)
 *   16      8     segment number, equal to the name's (MN_WAL_SH_NUMBER)
 *   24      8     final size of the previous segment  (MN_WAL_SH_PREVIOUS)
 *                 (0 when there was none)
 *   32      4     reserved, 0                         (MN_WAL_SH_RESERVED1)
 *   36      4     CRC32C of bytes 0..35               (MN_WAL_SH_CRC)
 *
 *   The previous segment's size chains the segments: a segment that lost whole records at its
 *   end (cut exactly at a record boundary) is caught by the next segment's header.
 *
 *   Records, back to back from offset 40 (no padding, no alignment):
 *   offset  size  field
 *   0       4     magic "MNWR" (0x52574E4D)           (MN_WAL_RH_MAGIC)
 *   4       4     CRC32C of bytes 8 .. 32+length      (MN_WAL_RH_CRC)
 *   8       4     payload length in bytes             (MN_WAL_RH_LENGTH)
 *   12      4     record type, nonzero                (MN_WAL_RH_TYPE)
 *   16      8     space id                            (MN_WAL_RH_SPACE)
 *   24      8     per-space sequence number           (MN_WAL_RH_SEQUENCE)
 *   32      n     payload                             (MN_WAL_RECORD_HEADER_SIZE)
 *
 * The CRC covers the length, so a damaged length is caught without trusting it (a length over
 * MN_WAL_PAYLOAD_BYTES_MAX or past the end of the file is damage before any CRC is computed).
 */
#ifndef MN_WAL_INTERNAL_H
#define MN_WAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/mn_bytes.h"
#include "util/mn_vfs.h"
#include "wal/mn_wal.h"

#define MN_WAL_FORMAT_VERSION 1u

#define MN_WAL_SEGMENT_HEADER_SIZE 40u
#define MN_WAL_SH_MAGIC 0u
#define MN_WAL_SH_VERSION 8u
#define MN_WAL_SH_RESERVED0 12u
#define MN_WAL_SH_NUMBER 16u
#define MN_WAL_SH_PREVIOUS 24u
#define MN_WAL_SH_RESERVED1 32u
#define MN_WAL_SH_CRC 36u

#define MN_WAL_RECORD_HEADER_SIZE 32u
#define MN_WAL_RH_MAGIC 0u
#define MN_WAL_RH_CRC 4u
#define MN_WAL_RH_LENGTH 8u
#define MN_WAL_RH_TYPE 12u
#define MN_WAL_RH_SPACE 16u
#define MN_WAL_RH_SEQUENCE 24u
#define MN_WAL_RECORD_MAGIC 0x52574E4Du

/** Length of a segment file name: 20 digits and ".wal". */
#define MN_WAL_NAME_BYTES 24u

_Static_assert(MN_WAL_SH_CRC + 4 == MN_WAL_SEGMENT_HEADER_SIZE, "segment header ends with its CRC");
_Static_assert(MN_WAL_RH_SEQUENCE + 8 == MN_WAL_RECORD_HEADER_SIZE, "record header layout");
_Static_assert(MN_WAL_SEGMENT_HEADER_SIZE < MN_WAL_SEGMENT_BYTES_MIN, "a segment holds its header");

extern const char mn_wal_segment_magic[8];


/** Writes "<directory>/<number>.wal" into path (MN_WAL_PATH_BYTES_MAX); MN_ERR_TOO_LARGE if long. */
mn_status mn_wal_segment_path(const char *directory, uint64_t number, char *path);

/**
 * Lists the segment numbers in `directory`, ascending, into a malloc'd array (*numbers, free it;
 * NULL when *count is 0). Files not named like a segment are ignored. A missing directory is an
 * empty list. Errors: MN_ERR_IO, MN_ERR_NO_MEMORY, MN_ERR_TOO_LARGE (over MN_WAL_SEGMENTS_MAX).
 */
mn_status mn_wal_list_segments(const mn_vfs *vfs, const char *directory, uint64_t **numbers, size_t *count);

/** Encodes the header of segment `number`, whose predecessor ended at `previous_size` bytes
 *  (0: none), into out (MN_WAL_SEGMENT_HEADER_SIZE bytes). */
void mn_wal_encode_segment_header(uint64_t number, uint64_t previous_size, uint8_t *out);

/** Encodes one record (header and payload) into out; returns its size. */
size_t mn_wal_encode_record(const mn_wal_record *record, uint8_t *out);

/**
 * Checks the record at `offset` of a segment image of `size` bytes. On success fills *record
 * (payload pointing into the image) and *record_size and returns 1; returns 0 for anything
 * damaged or incomplete. Reads only bytes inside the image.
 */
int mn_wal_check_record(const uint8_t *image, uint64_t size, uint64_t offset, mn_wal_record *record,
                        uint64_t *record_size);

/**
 * mn_wal_append, telling what a failure left behind: a batch whose write or fdatasync fails is
 * cut back off the segment and the cut synced; then *residue is 0 (the batch is in neither the
 * file nor the disk, and the log goes on). When even the cut fails the log refuses every later
 * append and *residue is 1: the batch may be in the file (so replayed by a recovery) or not.
 * `residue` may be NULL; it is 0 on success and on failures before anything was written.
 */
mn_status mn_wal_append_checked(mn_wal *wal, const mn_wal_record *records, uint32_t count,
                                mn_wal_append_info *info, int32_t *residue);

/** mn_wal_recover through `vfs` (NULL: mn_vfs_posix()): every file call of recovery (listing,
 *  reading, cutting, deleting, syncing) goes through it. mn_wal_recover is this with NULL. */
mn_status mn_wal_recover_vfs(const mn_vfs *vfs, const char *directory, uint32_t flags,
                             mn_wal_record_fn callback, void *context, mn_wal_recovery *report);

#endif /* MN_WAL_INTERNAL_H */
