/*
 * test_wal_fuzz.c: randomized damage to write-ahead log files (CI runs it under AddressSanitizer
 * and UBSan): recovery must never crash, read out of bounds or assert, only return statuses.
 *
 * A valid three-segment log is written once and kept in memory. Each round restores it into a
 * scratch directory, damages it (bit flips, random bytes, zeroed or 0xFF runs, truncations,
 * garbage appended, a segment deleted, a segment emptied, a span copied over another) and
 * recovers it with a random mix of flags. Checks, beyond "no crash":
 *   - the status is one of OK, CORRUPT, VERSION (the typed outcomes of damage);
 *   - the records delivered are the original records, in order (for damage that only changes
 *     or removes bytes, a prefix of the original log: the CRC lets nothing altered through);
 *   - after a recovery that returned OK (truncating a torn tail) or a repair, a second recovery
 *     returns OK and reports nothing more to cut: recovery leaves a clean log.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mn_test.h"
#include "mn_test_dir.h"
#include "wal/mn_wal.h"
#include "wal/mn_wal_internal.h"

#define ROUNDS 3000
#define RECORDS 240
#define SEGMENT_BYTES 8192

typedef struct segment_image {
    uint8_t *data;
    size_t size;
} segment_image;

static segment_image originals[16];
static uint64_t original_count;

typedef struct check_state {
    uint64_t count;
    int mismatches;
} check_state;

static uint32_t payload_size(uint64_t sequence) { return (uint32_t)((sequence * 37) % 200); }

/* Record i of the original log has space i % 3, sequence i + 1 and a payload derived from both. */
static mn_status check_record(void *context, const mn_wal_record *record, const mn_wal_position *position) {
    check_state *state = context;
    (void)position;
    uint64_t i = state->count++;
    if (record->sequence != i + 1 || record->space != i % 3 || record->type != 7 ||
        record->payload_bytes != payload_size(record->sequence)) {
        state->mismatches++;
        return MN_OK;
    }
    const uint8_t *p = record->payload;
    for (uint32_t b = 0; b < record->payload_bytes; b++)
        if (p[b] != (uint8_t)(record->sequence + b)) {
            state->mismatches++;
            break;
        }
    return MN_OK;
}

static mn_status count_only(void *context, const mn_wal_record *record, const mn_wal_position *position) {
    (void)position;
    /* Touch every payload byte: ASan catches any read past the mapping. */
    uint64_t *sum = context;
    const uint8_t *p = record->payload;
    for (uint32_t b = 0; b < record->payload_bytes; b++) *sum += p[b];
    return MN_OK;
}

static void write_file(const char *path, const uint8_t *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror("open");
        exit(2);
    }
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        perror("write");
        exit(2);
    }
    close(fd);
}

static uint8_t *read_whole(const char *path, size_t *size) {
    struct stat st;
    if (stat(path, &st) != 0) return NULL;
    *size = (size_t)st.st_size;
    uint8_t *data = malloc(*size + 1);
    int fd = open(path, O_RDONLY);
    if (read(fd, data, *size) != (ssize_t)*size) {
        perror("read");
        exit(2);
    }
    close(fd);
    return data;
}

int main(void) {
    char dir[64];
    strcpy(dir, "/tmp/mn_wal_fuzz.XXXXXX");
    if (!mkdtemp(dir)) return 2;

    /* The original log. */
    mn_wal_options options;
    mn_wal_options_default(dir, &options);
    options.segment_bytes = SEGMENT_BYTES;
    options.durability = MN_WAL_NONE;
    mn_wal *wal = NULL;
    CHECK_STATUS(mn_wal_open(&options, &wal), MN_OK);
    static uint8_t payloads[4][256];
    for (uint64_t i = 0; i < RECORDS;) {
        mn_wal_record batch[4];
        uint32_t n = 1 + (uint32_t)(i % 4);
        if (i + n > RECORDS) n = (uint32_t)(RECORDS - i);
        for (uint32_t j = 0; j < n; j++) {
            uint64_t sequence = i + j + 1;
            for (uint32_t b = 0; b < payload_size(sequence); b++) payloads[j][b] = (uint8_t)(sequence + b);
            batch[j] = (mn_wal_record){.space = (i + j) % 3, .sequence = sequence, .type = 7,
                                       .payload_bytes = payload_size(sequence), .payload = payloads[j]};
        }
        CHECK_STATUS(mn_wal_append(wal, batch, n, NULL), MN_OK);
        i += n;
    }
    mn_wal_position end;
    mn_wal_position_get(wal, &end);
    mn_wal_close(wal);
    original_count = end.segment;
    CHECK(original_count >= 3 && original_count <= 16, "log has %llu segments", (unsigned long long)original_count);
    char path[MN_WAL_PATH_BYTES_MAX];
    for (uint64_t s = 0; s < original_count; s++) {
        mn_wal_segment_path(dir, s + 1, path);
        originals[s].data = read_whole(path, &originals[s].size);
    }

    mn_test_rng rng = {4242};
    static uint8_t scratch[4 * SEGMENT_BYTES];
    uint64_t outcomes[3] = {0, 0, 0};
    for (int round = 0; round < ROUNDS; round++) {
        mn_test_clear_dir(dir);
        int only_removes = 1; /* damage that only changes or removes bytes */
        uint64_t victim = mn_test_next(&rng) % original_count;
        for (uint64_t s = 0; s < original_count; s++) {
            size_t size = originals[s].size;
            memcpy(scratch, originals[s].data, size);
            if (s == victim || mn_test_next(&rng) % 8 == 0) {
                int edits = 1 + (int)(mn_test_next(&rng) % 3);
                for (int e = 0; e < edits && size > 0; e++) {
                    size_t at = mn_test_next(&rng) % size;
                    size_t run = 1 + mn_test_next(&rng) % 64;
                    if (run > size - at) run = size - at;
                    switch (mn_test_next(&rng) % 8) {
                    case 0: scratch[at] ^= (uint8_t)(1u << (mn_test_next(&rng) % 8)); break;
                    case 1: scratch[at] = (uint8_t)mn_test_next(&rng); break;
                    case 2: memset(scratch + at, 0, run); break;
                    case 3: memset(scratch + at, 0xFF, run); break;
                    case 4: size = at; break;
                    case 5: { /* garbage (or zeros) appended */
                        size_t extra = mn_test_next(&rng) % 300;
                        int zero = mn_test_next(&rng) & 1;
                        for (size_t b = 0; b < extra; b++) scratch[size + b] = zero ? 0 : (uint8_t)mn_test_next(&rng);
                        size += extra;
                        only_removes = 0;
                        break;
                    }
                    case 6: { /* a span copied over another (may duplicate whole records) */
                        size_t from = mn_test_next(&rng) % size;
                        size_t span = 1 + mn_test_next(&rng) % 400;
                        if (span > size - from) span = size - from;
                        if (span > size - at) span = size - at;
                        memmove(scratch + at, scratch + from, span);
                        only_removes = 0;
                        break;
                    }
                    default: /* the whole segment deleted or emptied */
                        size = (mn_test_next(&rng) & 1) ? 0 : SIZE_MAX;
                        if (s == 0 && size == SIZE_MAX) only_removes = 0; /* the log now starts later */
                        e = edits;
                        break;
                    }
                }
            }
            if (size == SIZE_MAX) continue; /* deleted */
            mn_wal_segment_path(dir, s + 1, path);
            write_file(path, scratch, size);
        }

        uint32_t flags = (uint32_t)(mn_test_next(&rng) % 4);
        check_state state = {0, 0};
        mn_wal_recovery report;
        mn_status status = mn_wal_recover(dir, flags, check_record, &state, &report);
        CHECK(status == MN_OK || status == MN_ERR_CORRUPT || status == MN_ERR_VERSION,
              "round %d: recovery returned %d (%s)", round, status, mn_status_string(status));
        if (only_removes)
            CHECK(state.mismatches == 0, "round %d: %d records not from the original log, in order", round,
                  state.mismatches);
        CHECK(state.count == report.records, "round %d: callback count", round);
        if (status == MN_ERR_CORRUPT) {
            CHECK(report.damaged_file[0] != '\0' && strstr(report.damaged_file, dir) == report.damaged_file,
                  "round %d: corruption names no file", round);
            outcomes[1]++;
        } else if (status == MN_OK) {
            outcomes[0]++;
        } else {
            outcomes[2]++;
        }
        if (status == MN_OK && !(flags & MN_WAL_RECOVER_READ_ONLY)) {
            uint64_t sum = 0;
            mn_wal_recovery again;
            mn_status second = mn_wal_recover(dir, 0, count_only, &sum, &again);
            CHECK(second == MN_OK && again.torn_bytes == 0 && again.repaired == 0 && again.records == report.records,
                  "round %d: second recovery %d, torn %llu, records %llu vs %llu", round, second,
                  (unsigned long long)again.torn_bytes, (unsigned long long)again.records,
                  (unsigned long long)report.records);
        }
        if (status == MN_OK && report.repaired) {
            CHECK(report.dropped_bytes > 0 || report.dropped_segments > 0 || report.damaged_offset == 0,
                  "round %d: repair dropped nothing", round);
        }
    }
    printf("test_wal_fuzz: %d rounds: %llu recovered, %llu corrupt, %llu version\n", ROUNDS,
           (unsigned long long)outcomes[0], (unsigned long long)outcomes[1], (unsigned long long)outcomes[2]);
    mn_test_clear_dir(dir);
    rmdir(dir);
    for (uint64_t s = 0; s < original_count; s++) free(originals[s].data);
    return mn_test_finish("test_wal_fuzz");
}
