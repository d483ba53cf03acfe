/*
 * bench_field_index.c: write throughput and read latency of the field indexes
 * (csrc/meta/mn_field_index.h) at a million labels.
 *
 *   bench_field_index [--labels N] [--queries Q]
 *   bench_field_index --smoke      (20,000 labels, well under a second; CTest runs this)
 *
 * One set with a KEYWORD index on "kind" (16 values), a KEYWORD index on "tags" (3 of 64
 * strings per memory), a NUMERIC index on "score" (a uniform double in [0, 1)) and createdAt.
 * Prints, single-threaded: inserts/s (mn_field_indexes_insert: createdAt and document in one
 * published transaction), upserts/s (new kind and score), deletes/s; the backfill rate of an
 * index over the space; then p50/p99 latency of counts (eq, range, exists) and of collecting
 * ranges of 0.1%, 1% and 10% selectivity into a buffer and into a bitmap; and bytes per entry.
 * Figures only: it never fails on speed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "meta/mn_field_index.h"
#include "util/mn_bytes.h"
#include "util/mn_rcu.h"

typedef struct bdoc {
    uint8_t kind;
    uint8_t tags[3];
    double score;
} bdoc;

static size_t put_string_field(uint8_t *out, size_t at, const char *name, const char *value) {
    size_t n = strlen(name), v = strlen(value);
    out[at++] = (uint8_t)n;
    memcpy(out + at, name, n);
    at += n;
    out[at++] = MN_FIELD_TYPE_STRING;
    mn_put_u32(out + at, (uint32_t)v);
    memcpy(out + at + 4, value, v);
    return at + 4 + v;
}

/* kind, score, tags: already in name order. */
static size_t encode(const bdoc *d, uint8_t *out) {
    char text[16];
    size_t at = 2;
    snprintf(text, sizeof text, "kind%u", d->kind);
    at = put_string_field(out, at, "kind", text);
    out[at++] = 5;
    memcpy(out + at, "score", 5);
    at += 5;
    out[at++] = MN_FIELD_TYPE_DOUBLE;
    uint64_t bits;
    memcpy(&bits, &d->score, 8);
    mn_put_u64(out + at, bits);
    at += 8;
    out[at++] = 4;
    memcpy(out + at, "tags", 4);
    at += 4;
    out[at++] = MN_FIELD_TYPE_STRINGS;
    out[at++] = 3;
    out[at++] = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t n = (uint32_t)snprintf(text, sizeof text, "tag%u", d->tags[i]);
        mn_put_u32(out + at, n);
        memcpy(out + at + 4, text, n);
        at += 4 + n;
    }
    out[0] = 3;
    out[1] = 0;
    return at;
}

static void random_doc(uint64_t *rng, bdoc *d) {
    d->kind = (uint8_t)(next_random(rng) % 16);
    for (int i = 0; i < 3; i++) d->tags[i] = (uint8_t)(next_random(rng) % 64);
    d->score = (double)(next_random(rng) >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct backfill {
    const bdoc *docs;
    const uint8_t *alive;
    uint64_t count, at;
    uint8_t bytes[256];
} backfill;

static mn_status backfill_next(void *context, uint64_t *label, const uint8_t **doc, size_t *bytes, bool *more) {
    backfill *b = context;
    while (b->at < b->count && !b->alive[b->at]) b->at++;
    *more = b->at < b->count;
    if (*more) {
        *label = b->at;
        *bytes = encode(&b->docs[b->at], b->bytes);
        *doc = b->bytes;
        b->at++;
    }
    return MN_OK;
}

static mn_status backfill_none(void *context, uint64_t *label, const uint8_t **doc, size_t *bytes, bool *more) {
    (void)context, (void)label, (void)doc, (void)bytes;
    *more = false;
    return MN_OK;
}

/* p50 and p99 of `queries` latencies of one kind of read, in microseconds. */
static void report(const char *what, double *latencies, uint32_t queries, double result_sum) {
    qsort(latencies, queries, sizeof(double), compare_double);
    printf("  %-34s p50 %8.2f us   p99 %8.2f us   mean result %.0f\n", what, latencies[queries / 2] * 1e6,
           latencies[(size_t)(queries * 0.99)] * 1e6, result_sum / queries);
}

int main(int argc, char **argv) {
    uint64_t labels = 1000000;
    uint32_t queries = 2000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) labels = 20000, queries = 100;
        else if (i + 1 < argc && strcmp(argv[i], "--labels") == 0) labels = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--queries") == 0) queries = (uint32_t)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_field_index [--smoke] [--labels N] [--queries Q]\n");
            return 2;
        }
    }
    if (labels < 100 || queries == 0) return 2;
    bdoc *docs = malloc(labels * sizeof(bdoc));
    uint8_t *alive = calloc(labels, 1);
    uint64_t *buffer = malloc(labels * sizeof(uint64_t));
    double *latencies = malloc(queries * sizeof(double));
    if (!docs || !alive || !buffer || !latencies) return 1;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    uint8_t old_bytes[256], new_bytes[256];
    mn_field_indexes *set;
    if (mn_field_indexes_create(&set) != MN_OK) return 1;
    mn_field_indexes_add(set, "kind", 4, MN_FIELD_INDEX_KEYWORD, backfill_none, NULL);
    mn_field_indexes_add(set, "score", 5, MN_FIELD_INDEX_NUMERIC, backfill_none, NULL);
    printf("bench_field_index: %llu labels, indexes kind (keyword), score (numeric), createdAt; tags backfilled\n",
           (unsigned long long)labels);

    double start = now_seconds();
    for (uint64_t label = 0; label < labels; label++) {
        random_doc(&rng, &docs[label]);
        size_t n = encode(&docs[label], new_bytes);
        if (mn_field_indexes_insert(set, label, (int64_t)label * 1000, new_bytes, n) != MN_OK) return 1;
        alive[label] = 1;
    }
    double seconds = now_seconds() - start;
    printf("  inserts        %10.0f /s  (createdAt + document, one transaction, %.2f s)\n", labels / seconds, seconds);

    start = now_seconds();
    backfill b = {docs, alive, labels, 0, {0}};
    if (mn_field_indexes_add(set, "tags", 4, MN_FIELD_INDEX_KEYWORD, backfill_next, &b) != MN_OK) return 1;
    seconds = now_seconds() - start;
    printf("  backfill tags  %10.0f docs/s (%.2f s)\n", labels / seconds, seconds);

    uint64_t upserts = labels / 4;
    start = now_seconds();
    for (uint64_t i = 0; i < upserts; i++) {
        uint64_t label = next_random(&rng) % labels;
        bdoc d = docs[label];
        d.kind = (uint8_t)(next_random(&rng) % 16);
        d.score = (double)(next_random(&rng) >> 11) * (1.0 / 9007199254740992.0);
        size_t a = encode(&docs[label], old_bytes), n = encode(&d, new_bytes);
        if (mn_field_indexes_update(set, label, old_bytes, a, new_bytes, n) != MN_OK) return 1;
        docs[label] = d;
    }
    seconds = now_seconds() - start;
    printf("  upserts        %10.0f /s  (kind and score change, 3 indexes touched)\n", upserts / seconds);

    uint64_t deletes = labels / 10, deleted = 0;
    start = now_seconds();
    for (uint64_t i = 0; i < deletes; i++) {
        uint64_t label = next_random(&rng) % labels;
        if (!alive[label]) continue;
        size_t a = encode(&docs[label], old_bytes);
        if (mn_field_indexes_remove(set, label, (int64_t)label * 1000, old_bytes, a) != MN_OK) return 1;
        alive[label] = 0;
        deleted++;
    }
    seconds = now_seconds() - start;
    printf("  deletes        %10.0f /s  (document + createdAt, one transaction)\n", deleted / seconds);

    printf("  reads (one thread, inside an RCU read section each):\n");
    mn_label_bitmap bitmap;
    if (mn_label_bitmap_init(&bitmap, labels) != MN_OK) return 1;
    const double widths[3] = {0.001, 0.01, 0.1};
    for (int kind = 0; kind < 9; kind++) {
        double sum = 0;
        for (uint32_t q = 0; q < queries; q++) {
            char text[16];
            mn_field_value v = {.type = MN_FIELD_TYPE_STRING, .string = text};
            v.length = (uint32_t)snprintf(text, sizeof text, "kind%u", (unsigned)(next_random(&rng) % 16));
            mn_field_predicate p = {.op = MN_FIELD_OP_EQ, .values = &v, .value_count = 1};
            const char *index_name = "kind";
            double width = kind >= 3 ? widths[(kind - 3) % 3] : 0.01;
            if (kind == 1 || kind >= 3) {
                double lo = uniform(&rng) * (1 - width);
                p = (mn_field_predicate){.op = MN_FIELD_OP_RANGE};
                p.low = (mn_field_bound){true, true, {.type = MN_FIELD_TYPE_DOUBLE, .number = lo}};
                p.high = (mn_field_bound){true, false, {.type = MN_FIELD_TYPE_DOUBLE, .number = lo + width}};
                index_name = "score";
            } else if (kind == 2) {
                p = (mn_field_predicate){.op = MN_FIELD_OP_EXISTS};
                index_name = "tags";
            }
            if (kind >= 6) mn_label_bitmap_clear(&bitmap);
            double t0 = now_seconds();
            mn_rcu_read_lock();
            const mn_field_index *index =
                mn_field_snapshot_find(mn_field_indexes_snapshot(set), index_name, (uint32_t)strlen(index_name));
            uint64_t count = 0;
            size_t collected = 0;
            if (kind < 3) mn_field_index_count(index, &p, &count);
            else if (kind < 6) mn_field_index_collect(index, &p, buffer, labels, &collected);
            else mn_field_index_collect_bitmap(index, &p, &bitmap);
            mn_rcu_read_unlock();
            latencies[q] = now_seconds() - t0;
            sum += kind < 3 ? (double)count : kind < 6 ? (double)collected : 0;
        }
        static const char *names[9] = {"count eq kind (1/16)", "count range score (1%)", "count exists tags",
                                       "collect range 0.1% -> buffer", "collect range 1% -> buffer",
                                       "collect range 10% -> buffer", "collect range 0.1% -> bitmap",
                                       "collect range 1% -> bitmap", "collect range 10% -> bitmap"};
        report(names[kind], latencies, queries, sum);
    }
    mn_label_bitmap_destroy(&bitmap);

    mn_rcu_read_lock();
    const mn_field_snapshot *snapshot = mn_field_indexes_snapshot(set);
    for (uint32_t i = 0; i <= mn_field_snapshot_count(snapshot); i++) {
        const mn_field_index *index =
            i < mn_field_snapshot_count(snapshot) ? mn_field_snapshot_at(snapshot, i) : mn_field_snapshot_created_at(snapshot);
        mn_field_index_info info;
        mn_field_index_describe(index, &info);
        printf("  index %-10.*s entries %9llu  keys %5llu  bytes %11llu  (%.1f bytes/entry)\n", (int)info.name_length,
               info.name, (unsigned long long)info.entries, (unsigned long long)info.keys,
               (unsigned long long)info.bytes, info.entries ? (double)info.bytes / (double)info.entries : 0.0);
    }
    mn_rcu_read_unlock();
    printf("  set bytes %llu\n", (unsigned long long)mn_field_indexes_bytes(set));
    mn_field_indexes_destroy(set);
    mn_rcu_barrier();
    free(docs);
    free(alive);
    free(buffer);
    free(latencies);
    return 0;
}
