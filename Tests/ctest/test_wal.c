/*
 * test_wal.c: the write-ahead log, end to end on real files.
 *
 * Proves: CRC32C matches the published vectors (RFC 3720) in software and hardware, and the two
 * agree on every length and alignment; records round-trip through append and recovery across
 * segment rotation, in order, byte for byte; a batch is one contiguous group commit (the file
 * grows by exactly the batch); an oversized batch gets a segment of its own; bad input returns a
 * status and appends nothing; a torn tail of the last segment (short record, zero fill, torn
 * segment header) is truncated and its size reported; damage anywhere else, a damaged record
 * followed by a valid one, or a missing segment is MN_ERR_CORRUPT naming the file and offset;
 * the repair flag cuts there and reports exactly the bytes and segments dropped; read-only
 * recovery changes nothing; old segments are deleted; reopening appends to a new segment; the
 * durability modes report what is synced; an unknown version is MN_ERR_VERSION.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal/mn_wal.h"
#include "mn_test.h"
#include "mn_test_dir.h"
#include "mnemo/mn_status.h"
#include "wal/mn_crc32c.h"
#include "wal/mn_wal_internal.h"

/* ---- helpers ---- */

static void make_dir(char *path) {
    strcpy(path, "/tmp/mn_wal_test.XXXXXX");
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        exit(2);
    }
}

static void remove_dir(const char *path) {
    mn_test_clear_dir(path);
    rmdir(path);
}

static uint64_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

static void segment_path(const char *dir, uint64_t number, char *path) { mn_wal_segment_path(dir, number, path); }

/* Deterministic payload of record (space, sequence): size and bytes follow from both. */
static uint32_t payload_size(uint64_t space, uint64_t sequence) { return (uint32_t)((space * 131 + sequence * 29) % 301); }
static void payload_fill(uint64_t space, uint64_t sequence, uint8_t *out) {
    uint32_t n = payload_size(space, sequence);
    for (uint32_t i = 0; i < n; i++) out[i] = (uint8_t)(space * 7 + sequence * 13 + i);
}

typedef struct collected {
    uint64_t count;
    uint64_t space[4096];
    uint64_t sequence[4096];
    mn_wal_position position[4096];
    int bad_payload;
    int stop_after; /* return MN_ERR_CLOSED after this many records; 0: never */
} collected;

static mn_status collect(void *context, const mn_wal_record *record, const mn_wal_position *position) {
    collected *c = context;
    if (c->stop_after && c->count == (uint64_t)c->stop_after) return MN_ERR_CLOSED;
    uint8_t expected[512];
    payload_fill(record->space, record->sequence, expected);
    if (record->payload_bytes != payload_size(record->space, record->sequence) || record->type != 1u + (record->sequence % 3) ||
        (record->payload_bytes && memcmp(expected, record->payload, record->payload_bytes) != 0))
        c->bad_payload++;
    if (c->count < 4096) {
        c->space[c->count] = record->space;
        c->sequence[c->count] = record->sequence;
        c->position[c->count] = *position;
    }
    c->count++;
    return MN_OK;
}

typedef struct written {
    uint64_t count;
    mn_wal_position position[4096];
    uint64_t size[4096];
} written;

/* Appends `total` records (space = i % 5, sequence = i / 5 + 1) in batches of 1..max_batch. */
static void append_records(mn_wal *wal, uint64_t total, uint32_t max_batch, mn_test_rng *rng, written *w) {
    static uint8_t payloads[64][512];
    mn_wal_record batch[64];
    uint64_t i = w->count;
    while (i < w->count + total) {
        uint32_t n = 1 + (uint32_t)(mn_test_next(rng) % max_batch);
        if (i + n > w->count + total) n = (uint32_t)(w->count + total - i);
        for (uint32_t j = 0; j < n; j++) {
            uint64_t k = i + j;
            batch[j].space = k % 5;
            batch[j].sequence = k / 5 + 1;
            batch[j].type = 1u + (uint32_t)(batch[j].sequence % 3);
            batch[j].payload_bytes = payload_size(batch[j].space, batch[j].sequence);
            payload_fill(batch[j].space, batch[j].sequence, payloads[j]);
            batch[j].payload = payloads[j];
        }
        mn_wal_append_info info;
        CHECK_STATUS(mn_wal_append(wal, batch, n, &info), MN_OK);
        uint64_t offset = info.first.offset;
        for (uint32_t j = 0; j < n; j++) {
            w->position[i + j].segment = info.first.segment;
            w->position[i + j].offset = offset;
            w->size[i + j] = MN_WAL_RECORD_HEADER_SIZE + batch[j].payload_bytes;
            offset += w->size[i + j];
        }
        CHECK(offset - info.first.offset == info.bytes, "batch bytes %llu", (unsigned long long)info.bytes);
        i += n;
    }
    w->count = i;
}

static mn_wal *open_log(const char *dir, uint64_t segment_bytes, mn_wal_durability durability) {
    mn_wal_options options;
    mn_wal_options_default(dir, &options);
    options.segment_bytes = segment_bytes;
    options.durability = durability;
    mn_wal *wal = NULL;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_OK);
    return wal;
}

static void check_prefix(const collected *c, const written *w, uint64_t expected) {
    CHECK(c->count == expected, "recovered %llu records, expected %llu", (unsigned long long)c->count,
          (unsigned long long)expected);
    CHECK(c->bad_payload == 0, "%d records with wrong payloads", c->bad_payload);
    for (uint64_t i = 0; i < c->count && i < expected && i < 4096; i++) {
        if (c->space[i] != i % 5 || c->sequence[i] != i / 5 + 1 || c->position[i].segment != w->position[i].segment ||
            c->position[i].offset != w->position[i].offset) {
            CHECK(0, "record %llu out of order or misplaced", (unsigned long long)i);
            break;
        }
    }
}

/* ---- tests ---- */

static void test_crc32c(void) {
    const char *digits = "123456789";
    CHECK(mn_crc32c_sw(0, digits, 9) == 0xE3069283u, "sw 123456789: %08x", mn_crc32c_sw(0, digits, 9));
    CHECK(mn_crc32c(0, digits, 9) == 0xE3069283u, "dispatch 123456789");
    CHECK(mn_crc32c_sw(0, "", 0) == 0, "empty");
    uint8_t buf[32];
    memset(buf, 0, 32);
    CHECK(mn_crc32c_sw(0, buf, 32) == 0x8A9136AAu, "32 zeros (RFC 3720)");
    memset(buf, 0xFF, 32);
    CHECK(mn_crc32c_sw(0, buf, 32) == 0x62A8AB43u, "32 ones (RFC 3720)");
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
    CHECK(mn_crc32c_sw(0, buf, 32) == 0x46DD794Eu, "incrementing (RFC 3720)");
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
    CHECK(mn_crc32c_sw(0, buf, 32) == 0x113FDB5Cu, "decrementing (RFC 3720)");
    /* Continuation: crc(a ++ b) == crc(crc(a), b). */
    CHECK(mn_crc32c_sw(mn_crc32c_sw(0, digits, 4), digits + 4, 5) == 0xE3069283u, "continuation sw");

    if (!mn_crc32c_hw_available()) {
        printf("test_wal: no SSE4.2 on this CPU, hardware CRC32C not tested\n");
        return;
    }
    CHECK(mn_crc32c_hw(0, digits, 9) == 0xE3069283u, "hw 123456789: %08x", mn_crc32c_hw(0, digits, 9));
    CHECK(mn_crc32c_hw(mn_crc32c_hw(0, digits, 4), digits + 4, 5) == 0xE3069283u, "continuation hw");
    mn_test_rng rng = {7};
    static uint8_t data[1100];
    for (size_t i = 0; i < sizeof(data); i++) data[i] = (uint8_t)mn_test_next(&rng);
    int mismatches = 0;
    for (size_t align = 0; align < 8; align++)
        for (size_t length = 0; length <= 1024 + 17; length += (length < 80 ? 1 : 37))
            if (mn_crc32c_hw(0x1234u, data + align, length) != mn_crc32c_sw(0x1234u, data + align, length))
                mismatches++;
    CHECK(mismatches == 0, "%d hw/sw mismatches", mismatches);
}

static void test_round_trip_rotation(void) {
    char dir[64];
    make_dir(dir);
    mn_test_rng rng = {11};
    static written w;
    w.count = 0;
    mn_wal *wal = open_log(dir, MN_WAL_SEGMENT_BYTES_MIN, MN_WAL_NONE);
    append_records(wal, 1500, 12, &rng, &w);
    mn_wal_position position;
    CHECK_STATUS(mn_wal_position_get(wal, &position), MN_OK);
    CHECK_STATUS(mn_wal_close(wal), MN_OK);
    CHECK(position.segment > 10, "only %llu segments", (unsigned long long)position.segment);

    static collected c;
    memset(&c, 0, sizeof(c));
    mn_wal_recovery report;
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_OK);
    check_prefix(&c, &w, 1500);
    CHECK(report.segments == position.segment && report.first_segment == 1 && report.last_segment == position.segment,
          "segments %llu", (unsigned long long)report.segments);
    CHECK(report.torn_bytes == 0 && report.repaired == 0, "clean log reported damage");
    CHECK(report.end.segment == position.segment && report.end.offset == position.offset, "end position");
    /* No segment exceeds its limit (no batch here is larger than a segment). */
    for (uint64_t s = 1; s <= position.segment; s++) {
        char path[MN_WAL_PATH_BYTES_MAX];
        segment_path(dir, s, path);
        CHECK(file_size(path) <= MN_WAL_SEGMENT_BYTES_MIN, "segment %llu is %llu bytes", (unsigned long long)s,
              (unsigned long long)file_size(path));
    }

    /* Reopening appends to a new segment and keeps everything before. */
    wal = open_log(dir, MN_WAL_SEGMENT_BYTES_MIN, MN_WAL_NONE);
    mn_wal_position reopened;
    mn_wal_position_get(wal, &reopened);
    CHECK(reopened.segment == position.segment + 1 && reopened.offset == MN_WAL_SEGMENT_HEADER_SIZE, "reopen position");
    append_records(wal, 100, 5, &rng, &w);
    mn_wal_close(wal);
    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_OK);
    check_prefix(&c, &w, 1600);

    /* A callback's error stops recovery and is passed through. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 10;
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_ERR_CLOSED);
    CHECK(c.count == 10, "callback stopped after %llu", (unsigned long long)c.count);
    remove_dir(dir);
}

static void test_group_commit(void) {
    char dir[64];
    make_dir(dir);
    mn_wal *wal = open_log(dir, 1u << 20, MN_WAL_SYNC);
    char path[MN_WAL_PATH_BYTES_MAX];
    segment_path(dir, 1, path);
    CHECK(file_size(path) == MN_WAL_SEGMENT_HEADER_SIZE, "fresh segment holds only its header");
    mn_wal_record batch[100];
    static uint8_t payloads[100][512];
    uint64_t expected = 0;
    for (uint32_t i = 0; i < 100; i++) {
        batch[i] = (mn_wal_record){.space = 3, .sequence = i + 1, .type = 1u + (uint32_t)((i + 1) % 3),
                                   .payload_bytes = payload_size(3, i + 1), .payload = payloads[i]};
        payload_fill(3, i + 1, payloads[i]);
        expected += MN_WAL_RECORD_HEADER_SIZE + batch[i].payload_bytes;
    }
    mn_wal_append_info info;
    CHECK_STATUS(mn_wal_append(wal, batch, 100, &info), MN_OK);
    CHECK(info.bytes == expected && info.synced == 1 && info.rotated == 0, "group commit info");
    CHECK(info.first.segment == 1 && info.first.offset == MN_WAL_SEGMENT_HEADER_SIZE, "first position");
    CHECK(file_size(path) == MN_WAL_SEGMENT_HEADER_SIZE + expected, "file grew by exactly the batch");

    /* A batch larger than the segment limit goes whole into a segment of its own. */
    mn_wal_close(wal);
    wal = open_log(dir, MN_WAL_SEGMENT_BYTES_MIN, MN_WAL_NONE);
    mn_wal_record small = {.space = 9, .sequence = 1, .type = 2, .payload_bytes = 0, .payload = NULL};
    CHECK_STATUS(mn_wal_append(wal, &small, 1, &info), MN_OK);
    static uint8_t big[3 * MN_WAL_SEGMENT_BYTES_MIN];
    mn_wal_record large = {.space = 9, .sequence = 2, .type = 3, .payload_bytes = sizeof(big), .payload = big};
    CHECK_STATUS(mn_wal_append(wal, &large, 1, &info), MN_OK);
    CHECK(info.rotated == 1 && info.first.segment == 3 && info.first.offset == MN_WAL_SEGMENT_HEADER_SIZE,
          "oversized batch in its own segment (segment %llu)", (unsigned long long)info.first.segment);
    CHECK_STATUS(mn_wal_append(wal, &small, 1, &info), MN_OK);
    CHECK(info.rotated == 1 && info.first.segment == 4, "next batch rotates past the oversized segment");
    mn_wal_close(wal);
    mn_wal_recovery report;
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_OK);
    CHECK(report.records == 103 && report.segments == 4, "records %llu", (unsigned long long)report.records);
    remove_dir(dir);
}

static void test_bad_input(void) {
    char dir[64];
    make_dir(dir);
    mn_wal_options options;
    mn_wal_options_default(dir, &options);
    mn_wal *wal = NULL;
    options.segment_bytes = MN_WAL_SEGMENT_BYTES_MIN - 1;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_ERR_INVALID);
    options.segment_bytes = MN_WAL_SEGMENT_BYTES_MAX + 1;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_ERR_INVALID);
    options.segment_bytes = MN_WAL_SEGMENT_BYTES_MIN;
    options.durability = 7;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_ERR_INVALID);
    options.durability = MN_WAL_BATCHED;
    options.sync_interval_ms = 0;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_ERR_INVALID);
    options.sync_interval_ms = MN_WAL_SYNC_INTERVAL_MS_MAX + 1;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_open(NULL, &wal), MN_ERR_INVALID);
    options.durability = MN_WAL_NONE;
    options.directory = "";
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_ERR_INVALID);
    static char long_dir[MN_WAL_PATH_BYTES_MAX + 8];
    memset(long_dir, 'a', sizeof(long_dir) - 1);
    options.directory = long_dir;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_ERR_TOO_LARGE);
    CHECK(wal == NULL, "no log on failure");

    wal = open_log(dir, MN_WAL_SEGMENT_BYTES_MIN, MN_WAL_NONE);
    uint8_t byte = 1;
    mn_wal_record good = {.space = 1, .sequence = 1, .type = 1, .payload_bytes = 1, .payload = &byte};
    mn_wal_record records[2] = {good, good};
    CHECK_STATUS(mn_wal_append(wal, records, 0, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_append(wal, NULL, 1, NULL), MN_ERR_INVALID);
    records[1].type = 0;
    CHECK_STATUS(mn_wal_append(wal, records, 2, NULL), MN_ERR_INVALID);
    records[1] = good;
    records[1].payload = NULL;
    CHECK_STATUS(mn_wal_append(wal, records, 2, NULL), MN_ERR_INVALID);
    records[1] = good;
    records[1].payload_bytes = MN_WAL_PAYLOAD_BYTES_MAX + 1u; /* rejected before the payload is read */
    CHECK_STATUS(mn_wal_append(wal, records, 2, NULL), MN_ERR_TOO_LARGE);
    CHECK_STATUS(mn_wal_append(wal, records, MN_WAL_BATCH_RECORDS_MAX + 1u, NULL), MN_ERR_TOO_LARGE);
    mn_wal_position position;
    mn_wal_position_get(wal, &position);
    CHECK(position.offset == MN_WAL_SEGMENT_HEADER_SIZE, "rejected batches appended nothing");
    CHECK_STATUS(mn_wal_position_get(NULL, &position), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_tick(NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_sync(NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_delete_before(NULL, 1, NULL), MN_ERR_INVALID);
    mn_wal_close(wal);
    CHECK_STATUS(mn_wal_close(NULL), MN_OK);

    mn_wal_recovery report;
    CHECK_STATUS(mn_wal_recover(NULL, 0, NULL, NULL, &report), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_recover(dir, 8, NULL, NULL, &report), MN_ERR_INVALID);
    CHECK_STATUS(mn_wal_recover("/tmp/mn_wal_test_missing_dir_xyz", 0, NULL, NULL, &report), MN_OK);
    CHECK(report.segments == 0 && report.records == 0, "a missing directory is an empty log");
    remove_dir(dir);
}

/* Writes a 3-segment log of 400 records; returns the number of segments. */
static uint64_t build_log(const char *dir, written *w) {
    mn_test_rng rng = {23};
    w->count = 0;
    mn_wal *wal = open_log(dir, 16384, MN_WAL_NONE);
    append_records(wal, 400, 6, &rng, w);
    mn_wal_position position;
    mn_wal_position_get(wal, &position);
    mn_wal_close(wal);
    return position.segment;
}

static void truncate_file(const char *path, uint64_t size) {
    int rc = truncate(path, (off_t)size);
    CHECK(rc == 0, "truncate");
}

static void patch_file(const char *path, uint64_t offset, const void *data, size_t size) {
    int fd = open(path, O_WRONLY);
    ssize_t n = pwrite(fd, data, size, (off_t)offset);
    CHECK(n == (ssize_t)size, "patch");
    close(fd);
}

static void read_byte(const char *path, uint64_t offset, uint8_t *out) {
    int fd = open(path, O_RDONLY);
    ssize_t n = pread(fd, out, 1, (off_t)offset);
    CHECK(n == 1, "read");
    close(fd);
}

static void test_torn_tail(void) {
    char dir[64];
    make_dir(dir);
    static written w;
    uint64_t segments = build_log(dir, &w);
    CHECK(segments >= 3, "log has %llu segments", (unsigned long long)segments);
    char last[MN_WAL_PATH_BYTES_MAX];
    segment_path(dir, segments, last);
    uint64_t size = file_size(last);
    /* Cut the last record short by 7 bytes. */
    uint64_t last_offset = w.position[w.count - 1].offset;
    truncate_file(last, size - 7);
    static collected c;
    mn_wal_recovery report;

    /* Read-only: reported, not changed. */
    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, MN_WAL_RECOVER_READ_ONLY, collect, &c, &report), MN_OK);
    CHECK(report.torn_bytes == w.size[w.count - 1] - 7 && report.torn_segment == segments, "torn bytes %llu",
          (unsigned long long)report.torn_bytes);
    CHECK(file_size(last) == size - 7, "read-only recovery changed the file");

    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_OK);
    check_prefix(&c, &w, w.count - 1);
    CHECK(report.torn_bytes == w.size[w.count - 1] - 7, "torn bytes %llu", (unsigned long long)report.torn_bytes);
    CHECK(file_size(last) == last_offset, "torn tail truncated to the last whole record");
    CHECK(report.end.segment == segments && report.end.offset == last_offset, "end after truncation");
    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_OK);
    CHECK(report.torn_bytes == 0 && c.count == w.count - 1, "second recovery is clean");

    /* A zero-filled tail (the file grew, its data never landed) is torn too. */
    static uint8_t zeros[5000];
    patch_file(last, last_offset, zeros, sizeof(zeros));
    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_OK);
    CHECK(report.torn_bytes == sizeof(zeros) && c.count == w.count - 1, "zero tail %llu", (unsigned long long)report.torn_bytes);
    CHECK(file_size(last) == last_offset, "zero tail truncated");

    /* A damaged header field (here the length) in the last record, nothing valid after: torn. */
    uint64_t victim = w.position[w.count - 2].offset;
    uint8_t length_byte;
    read_byte(last, victim + MN_WAL_RH_LENGTH, &length_byte);
    length_byte ^= 0x40;
    patch_file(last, victim + MN_WAL_RH_LENGTH, &length_byte, 1);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_OK);
    CHECK(report.torn_bytes == w.size[w.count - 2] && file_size(last) == victim, "damaged last record is torn");

    /* A segment whose header never landed (crash right after creating it) is removed. */
    char extra[MN_WAL_PATH_BYTES_MAX];
    segment_path(dir, segments + 1, extra);
    int fd = open(extra, O_WRONLY | O_CREAT, 0644);
    CHECK(write(fd, "MNEMOW", 6) == 6, "write");
    close(fd);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_OK);
    CHECK(report.torn_bytes == 6 && report.torn_segment == segments + 1 && file_size(extra) == UINT64_MAX,
          "torn segment header removed");
    CHECK(report.last_segment == segments && report.end.segment == segments && report.end.offset == victim,
          "end moves back to the previous segment");
    /* An empty segment file is a torn header too. */
    fd = open(extra, O_WRONLY | O_CREAT, 0644);
    close(fd);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_OK);
    CHECK(report.torn_bytes == 0 && report.torn_segment == segments + 1 && file_size(extra) == UINT64_MAX,
          "empty segment removed");
    remove_dir(dir);
}

static void test_corruption(void) {
    char dir[64];
    make_dir(dir);
    static written w;
    uint64_t segments = build_log(dir, &w);
    /* Damage one payload byte of a record in the middle of the first segment. */
    uint64_t target = 0;
    while (w.position[target].segment != 1 || w.size[target] < MN_WAL_RECORD_HEADER_SIZE + 10 ||
           w.position[target].offset < 4000)
        target++;
    char first[MN_WAL_PATH_BYTES_MAX];
    segment_path(dir, 1, first);
    uint64_t offset = w.position[target].offset;
    uint8_t byte;
    read_byte(first, offset + MN_WAL_RECORD_HEADER_SIZE + 5, &byte);
    byte ^= 0x01;
    patch_file(first, offset + MN_WAL_RECORD_HEADER_SIZE + 5, &byte, 1);

    static collected c;
    memset(&c, 0, sizeof(c));
    mn_wal_recovery report;
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_ERR_CORRUPT);
    CHECK(strcmp(report.damaged_file, first) == 0, "damaged file '%s'", report.damaged_file);
    CHECK(report.damaged_segment == 1 && report.damaged_offset == offset, "damaged offset %llu, expected %llu",
          (unsigned long long)report.damaged_offset, (unsigned long long)offset);
    check_prefix(&c, &w, target);
    CHECK(report.repaired == 0 && report.dropped_bytes == 0, "nothing dropped without the flag");

    /* Read-only repair reports but changes nothing. */
    uint64_t sizes = 0;
    uint64_t first_size = file_size(first);
    for (uint64_t s = 2; s <= segments; s++) {
        char path[MN_WAL_PATH_BYTES_MAX];
        segment_path(dir, s, path);
        sizes += file_size(path);
    }
    CHECK_STATUS(mn_wal_recover(dir, MN_WAL_RECOVER_REPAIR | MN_WAL_RECOVER_READ_ONLY, NULL, NULL, &report), MN_OK);
    CHECK(report.repaired == 1 && report.dropped_segments == segments - 1 &&
              report.dropped_bytes == first_size - offset + sizes,
          "read-only repair report");
    CHECK(file_size(first) == first_size, "read-only repair changed a file");

    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, MN_WAL_RECOVER_REPAIR, collect, &c, &report), MN_OK);
    CHECK(report.repaired == 1 && report.damaged_offset == offset && strcmp(report.damaged_file, first) == 0, "repair report");
    CHECK(report.dropped_segments == segments - 1, "dropped %llu segments", (unsigned long long)report.dropped_segments);
    CHECK(report.dropped_bytes == first_size - offset + sizes, "dropped %llu bytes, expected %llu",
          (unsigned long long)report.dropped_bytes, (unsigned long long)(first_size - offset + sizes));
    CHECK(file_size(first) == offset, "damaged segment cut at the record");
    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_OK);
    check_prefix(&c, &w, target);
    CHECK(report.segments == 1 && report.repaired == 0 && report.torn_bytes == 0, "repaired log is clean");
    remove_dir(dir);

    /* Damage in the last segment followed by a valid record is corruption, not a torn tail. */
    make_dir(dir);
    segments = build_log(dir, &w);
    char last[MN_WAL_PATH_BYTES_MAX];
    segment_path(dir, segments, last);
    uint64_t victim = w.count - 3;
    CHECK(w.position[victim].segment == segments, "victim in the last segment");
    read_byte(last, w.position[victim].offset + MN_WAL_RH_CRC, &byte);
    byte ^= 0x80;
    patch_file(last, w.position[victim].offset + MN_WAL_RH_CRC, &byte, 1);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_ERR_CORRUPT);
    CHECK(report.damaged_segment == segments && report.damaged_offset == w.position[victim].offset &&
              strcmp(report.damaged_file, last) == 0,
          "corrupt record in the last segment");
    /* A damaged segment header of a middle segment is corruption at offset 0. */
    char middle[MN_WAL_PATH_BYTES_MAX];
    segment_path(dir, 2, middle);
    read_byte(middle, 3, &byte);
    byte ^= 0x10;
    patch_file(middle, 3, &byte, 1);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_ERR_CORRUPT);
    CHECK(report.damaged_segment == 2 && report.damaged_offset == 0 && strcmp(report.damaged_file, middle) == 0,
          "damaged segment header");
    /* Repair from a header: the segment itself and all later ones go. */
    CHECK_STATUS(mn_wal_recover(dir, MN_WAL_RECOVER_REPAIR, NULL, NULL, &report), MN_OK);
    CHECK(report.dropped_segments == segments - 2 && file_size(middle) == UINT64_MAX && report.last_segment == 1,
          "repair from a header");
    remove_dir(dir);

    /* A missing middle segment is a gap: corruption at offset 0 of the next one. */
    make_dir(dir);
    segments = build_log(dir, &w);
    segment_path(dir, 2, middle);
    unlink(middle);
    char third[MN_WAL_PATH_BYTES_MAX];
    segment_path(dir, 3, third);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_ERR_CORRUPT);
    CHECK(report.damaged_segment == 3 && report.damaged_offset == 0 && strcmp(report.damaged_file, third) == 0,
          "gap reported at the segment after it");
    remove_dir(dir);

    /* A middle segment cut exactly at a record boundary reads cleanly on its own; the next
     * segment's header (its predecessor's size) shows the loss. */
    make_dir(dir);
    segments = build_log(dir, &w);
    uint64_t boundary = 0;
    while (w.position[boundary].segment != 2) boundary++;
    boundary += 3; /* the fourth record of segment 2 */
    segment_path(dir, 2, middle);
    truncate_file(middle, w.position[boundary].offset);
    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_ERR_CORRUPT);
    CHECK(report.damaged_segment == 2 && report.damaged_offset == w.position[boundary].offset,
          "boundary cut reported at %llu", (unsigned long long)report.damaged_offset);
    check_prefix(&c, &w, boundary);
    remove_dir(dir);

    /* An unknown format version (with a correct header CRC) is MN_ERR_VERSION, never repaired. */
    make_dir(dir);
    build_log(dir, &w);
    segment_path(dir, 1, first);
    uint8_t header[MN_WAL_SEGMENT_HEADER_SIZE];
    mn_wal_encode_segment_header(1, 0, header);
    mn_put_u32(header + MN_WAL_SH_VERSION, 2);
    mn_put_u32(header + MN_WAL_SH_CRC, mn_crc32c(0, header, MN_WAL_SH_CRC));
    patch_file(first, 0, header, sizeof(header));
    CHECK_STATUS(mn_wal_recover(dir, MN_WAL_RECOVER_REPAIR, NULL, NULL, &report), MN_ERR_VERSION);
    /* A header naming another segment number is corruption. */
    mn_wal_encode_segment_header(5, 0, header);
    patch_file(first, 0, header, sizeof(header));
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_ERR_CORRUPT);
    remove_dir(dir);
}

static void test_delete_and_modes(void) {
    char dir[64];
    make_dir(dir);
    mn_test_rng rng = {5};
    static written w;
    w.count = 0;
    mn_wal *wal = open_log(dir, MN_WAL_SEGMENT_BYTES_MIN, MN_WAL_BATCHED);
    append_records(wal, 300, 4, &rng, &w);
    mn_wal_position position;
    mn_wal_position_get(wal, &position);
    uint32_t deleted = 0;
    CHECK_STATUS(mn_wal_delete_before(wal, position.segment - 2, &deleted), MN_OK);
    CHECK(deleted == position.segment - 3, "deleted %u", deleted);
    CHECK_STATUS(mn_wal_delete_before(wal, UINT64_MAX, &deleted), MN_OK); /* clamps to the current */
    CHECK(deleted == 2, "deleted %u more", deleted);
    append_records(wal, 10, 4, &rng, &w);
    CHECK_STATUS(mn_wal_sync(wal), MN_OK);
    int32_t synced = 0;
    CHECK_STATUS(mn_wal_tick(wal, &synced), MN_OK);
    CHECK(synced == 1, "synced after mn_wal_sync");
    mn_wal_close(wal);
    mn_wal_recovery report;
    static collected c;
    memset(&c, 0, sizeof(c));
    CHECK_STATUS(mn_wal_recover(dir, 0, collect, &c, &report), MN_OK);
    CHECK(report.first_segment == position.segment && report.segments == 1, "only the current segment is left");
    uint64_t kept = 0;
    for (uint64_t i = 0; i < w.count; i++) kept += w.position[i].segment == position.segment;
    CHECK(c.count == kept && c.bad_payload == 0, "kept %llu of %llu", (unsigned long long)c.count, (unsigned long long)kept);
    remove_dir(dir);

    /* Batched mode: a long interval leaves an append unsynced until sync or tick. */
    make_dir(dir);
    mn_wal_options options;
    mn_wal_options_default(dir, &options);
    options.durability = MN_WAL_BATCHED;
    options.sync_interval_ms = MN_WAL_SYNC_INTERVAL_MS_MAX;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_OK);
    mn_wal_record record = {.space = 1, .sequence = 1, .type = 2, .payload_bytes = 0, .payload = NULL};
    mn_wal_append_info info;
    CHECK_STATUS(mn_wal_append(wal, &record, 1, &info), MN_OK);
    CHECK(info.synced == 0, "batched append within the interval is not synced");
    CHECK_STATUS(mn_wal_tick(wal, &synced), MN_OK);
    CHECK(synced == 0, "tick within the interval does not sync");
    CHECK_STATUS(mn_wal_sync(wal), MN_OK);
    CHECK_STATUS(mn_wal_tick(wal, &synced), MN_OK);
    CHECK(synced == 1, "synced after mn_wal_sync");
    mn_wal_close(wal);
    /* Batched mode with a 1 ms interval: an append after the interval syncs itself. */
    options.sync_interval_ms = 1;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_OK);
    usleep(3000);
    record.sequence = 2;
    CHECK_STATUS(mn_wal_append(wal, &record, 1, &info), MN_OK);
    CHECK(info.synced == 1, "batched append after the interval syncs");
    mn_wal_close(wal);
    /* None: never synced. */
    options.durability = MN_WAL_NONE;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_OK);
    record.sequence = 3;
    CHECK_STATUS(mn_wal_append(wal, &record, 1, &info), MN_OK);
    CHECK(info.synced == 0, "none mode never syncs");
    mn_wal_close(wal);
    CHECK_STATUS(mn_wal_recover(dir, 0, NULL, NULL, &report), MN_OK);
    CHECK(report.records == 3 && report.segments == 3, "three opens, three segments, three records");
    remove_dir(dir);
}

int main(void) {
    test_crc32c();
    test_round_trip_rotation();
    test_group_commit();
    test_bad_input();
    test_torn_tail();
    test_corruption();
    test_delete_and_modes();
    return mn_test_finish("test_wal");
}
