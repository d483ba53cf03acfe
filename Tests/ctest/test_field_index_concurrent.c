/*
 * test_field_index_concurrent.c: field indexes read while their writer changes them (run
 * under ThreadSanitizer in CI).
 *
 * One writer thread inserts, replaces and deletes documents and drops and re-creates an index;
 * before each write it records, in per-label atomic histories, every value the label is about
 * to take. Reader threads, each in RCU read sections on one snapshot at a time, count and
 * collect predicates of every kind and assert what must hold whatever the interleaving:
 * the snapshot's trees pass their structural check; a collection is strictly ascending, below
 * the labels given out so far, and exactly as long as the count of the same snapshot; every
 * collected label was, at some point, given a value that matches (its history says so); and
 * every label with a field is also in the same snapshot's createdAt index (inserts index the
 * time first, deletes remove it last, so a snapshot can never show a document without it).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "meta/mn_field_index.h"
#include "mn_test.h"
#include "util/mn_bytes.h"
#include "util/mn_rcu.h"

enum { LABELS = 2500, READERS = 3, WRITES = 12000, KINDS = 8, TAGS = 12, SCORES = 64 };

/* The writer's documents: kind STRING "k<n>", score n/2 (INT when whole, else DOUBLE), tags a
 * STRINGS list; each field may be absent. */
typedef struct cdoc {
    int has_kind, kind, has_score, score, has_tags, tag_count, tags[4];
} cdoc;

static cdoc docs[LABELS];
static int alive[LABELS];
/* Histories: bit v set once the label has held value v (set before the write is applied). */
static _Atomic uint32_t kind_seen[LABELS];
static _Atomic uint32_t tag_seen[LABELS];
static _Atomic uint64_t score_seen[LABELS];
static _Atomic uint64_t next_label;
static _Atomic int writer_done;
static mn_field_indexes *set;
static _Atomic uint64_t reader_checks;

static _Atomic uint64_t thread_failures;

/* CHECK for threads: mn_test.h's counters are not atomic. Failures are counted atomically and
 * the first few printed; main checks the count. */
#define TCHECK(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond) && atomic_fetch_add(&thread_failures, 1) < 10) {                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)
#define TCHECK_STATUS(expr, expected)                                                              \
    do {                                                                                           \
        mn_status tcheck_status_ = (expr);                                                         \
        TCHECK(tcheck_status_ == (expected), "%s returned %d", #expr, tcheck_status_);             \
    } while (0)

static size_t encode(const cdoc *d, uint8_t *out) {
    size_t at = 2;
    int fields = 0;
    char text[16];
    if (d->has_kind) {
        out[at++] = 4;
        memcpy(out + at, "kind", 4);
        at += 4;
        out[at++] = MN_FIELD_TYPE_STRING;
        uint32_t n = (uint32_t)snprintf(text, sizeof text, "k%d", d->kind);
        mn_put_u32(out + at, n);
        memcpy(out + at + 4, text, n);
        at += 4 + n;
        fields++;
    }
    if (d->has_score) {
        out[at++] = 5;
        memcpy(out + at, "score", 5);
        at += 5;
        if (d->score % 2 == 0) {
            out[at++] = MN_FIELD_TYPE_INT;
            mn_put_u64(out + at, (uint64_t)(int64_t)(d->score / 2));
        } else {
            out[at++] = MN_FIELD_TYPE_DOUBLE;
            double v = d->score / 2.0;
            uint64_t bits;
            memcpy(&bits, &v, 8);
            mn_put_u64(out + at, bits);
        }
        at += 8;
        fields++;
    }
    if (d->has_tags) {
        out[at++] = 4;
        memcpy(out + at, "tags", 4);
        at += 4;
        out[at++] = MN_FIELD_TYPE_STRINGS;
        out[at++] = (uint8_t)d->tag_count;
        out[at++] = 0;
        for (int i = 0; i < d->tag_count; i++) {
            uint32_t n = (uint32_t)snprintf(text, sizeof text, "t%d", d->tags[i]);
            mn_put_u32(out + at, n);
            memcpy(out + at + 4, text, n);
            at += 4 + n;
        }
        fields++;
    }
    if (!fields) return 0;
    out[0] = (uint8_t)fields;
    out[1] = 0;
    return at;
}

static void random_doc(mn_test_rng *rng, cdoc *d) {
    memset(d, 0, sizeof(*d));
    d->has_kind = mn_test_next(rng) % 5 != 0;
    d->kind = (int)(mn_test_next(rng) % KINDS);
    d->has_score = mn_test_next(rng) % 5 != 0;
    d->score = (int)(mn_test_next(rng) % SCORES);
    d->has_tags = mn_test_next(rng) % 3 != 0;
    d->tag_count = (int)(mn_test_next(rng) % 5);
    for (int i = 0; i < d->tag_count; i++) d->tags[i] = (int)(mn_test_next(rng) % TAGS);
}

/* Records the values a label is about to hold (before the index can show them). */
static void remember(uint64_t label, const cdoc *d) {
    if (d->has_kind) atomic_fetch_or_explicit(&kind_seen[label], 1u << d->kind, memory_order_release);
    if (d->has_score) atomic_fetch_or_explicit(&score_seen[label], 1ull << d->score, memory_order_release);
    if (d->has_tags)
        for (int i = 0; i < d->tag_count; i++)
            atomic_fetch_or_explicit(&tag_seen[label], 1u << d->tags[i], memory_order_release);
}

static mn_status apply(uint64_t label, const cdoc *old_doc, const cdoc *new_doc) {
    uint8_t a[256], b[256];
    size_t na = old_doc ? encode(old_doc, a) : 0, nb = new_doc ? encode(new_doc, b) : 0;
    return mn_field_indexes_update(set, label, a, na, b, nb);
}

typedef struct backfill {
    uint64_t at;
    uint8_t bytes[256];
} backfill;

static mn_status backfill_next(void *context, uint64_t *label, const uint8_t **doc, size_t *bytes, bool *more) {
    backfill *b = context;
    uint64_t limit = atomic_load(&next_label);
    while (b->at < limit && !alive[b->at]) b->at++;
    *more = b->at < limit;
    if (*more) {
        *label = b->at;
        *bytes = encode(&docs[b->at], b->bytes);
        *doc = b->bytes;
        b->at++;
    }
    return MN_OK;
}

static void *writer(void *arg) {
    (void)arg;
    mn_test_rng rng = {0xabcdef12345ull};
    int tags_indexed = 1;
    for (int op = 0; op < WRITES; op++) {
        uint64_t n = atomic_load_explicit(&next_label, memory_order_relaxed);
        uint64_t r = mn_test_next(&rng) % 100;
        uint64_t label = n ? mn_test_next(&rng) % n : 0;
        if (n < LABELS && (n == 0 || r < 35 || !alive[label])) {
            label = n;
            random_doc(&rng, &docs[label]);
            remember(label, &docs[label]);
            atomic_store_explicit(&next_label, n + 1, memory_order_release);
            TCHECK_STATUS(mn_field_indexes_created_insert(set, label, (int64_t)label * 1000), MN_OK);
            TCHECK_STATUS(apply(label, NULL, &docs[label]), MN_OK);
            alive[label] = 1;
        } else if (!alive[label]) {
            continue;
        } else if (r < 80) {
            cdoc d;
            random_doc(&rng, &d);
            remember(label, &d);
            TCHECK_STATUS(apply(label, &docs[label], &d), MN_OK);
            docs[label] = d;
        } else {
            TCHECK_STATUS(apply(label, &docs[label], NULL), MN_OK);
            TCHECK_STATUS(mn_field_indexes_created_remove(set, label, (int64_t)label * 1000), MN_OK);
            alive[label] = 0;
        }
        if (op % 2000 == 1999) {
            if (tags_indexed) {
                TCHECK_STATUS(mn_field_indexes_drop(set, "tags", 4), MN_OK);
            } else {
                backfill b = {0};
                TCHECK_STATUS(mn_field_indexes_add(set, "tags", 4, MN_FIELD_INDEX_KEYWORD, backfill_next, &b), MN_OK);
            }
            tags_indexed = !tags_indexed;
        }
    }
    atomic_store(&writer_done, 1);
    return NULL;
}

/* Collects p; checks order, bounds, agreement with the count; returns the number or SIZE_MAX. */
static size_t collect(const mn_field_index *index, const mn_field_predicate *p, uint64_t *labels, const char *what) {
    uint64_t count = 0;
    size_t n = 0;
    TCHECK_STATUS(mn_field_index_count(index, p, &count), MN_OK);
    mn_status status = mn_field_index_collect(index, p, labels, LABELS, &n);
    TCHECK(status == MN_OK, "%s: collect %d", what, status);
    if (status != MN_OK) return SIZE_MAX;
    uint64_t limit = atomic_load_explicit(&next_label, memory_order_acquire);
    int ordered = 1;
    for (size_t i = 0; i < n; i++) ordered &= (i == 0 || labels[i - 1] < labels[i]) && labels[i] < limit;
    TCHECK(ordered, "%s: labels out of order or beyond the labels given out", what);
    if (p->op != MN_FIELD_OP_IN) TCHECK(n == count, "%s: collected %zu, counted %llu in one snapshot", what, n, (unsigned long long)count);
    return n;
}

static int in_sorted(const uint64_t *labels, size_t n, uint64_t label) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (labels[mid] < label) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && labels[lo] == label;
}

static void *reader(void *arg) {
    mn_test_rng rng = {(uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1};
    uint64_t *labels = malloc(LABELS * sizeof(uint64_t));
    uint64_t *times = malloc(LABELS * sizeof(uint64_t));
    char text[16];
    do {
        mn_rcu_read_lock();
        const mn_field_snapshot *snapshot = mn_field_indexes_snapshot(set);
        const mn_field_index *time = mn_field_snapshot_created_at(snapshot);
        mn_field_predicate exists = {.op = MN_FIELD_OP_EXISTS};
        size_t live = collect(time, &exists, times, "createdAt");
        if (live == SIZE_MAX) live = 0;
        const char *names[3] = {"kind", "score", "tags"};
        for (int f = 0; f < 3; f++) {
            const mn_field_index *index = mn_field_snapshot_find(snapshot, names[f], (uint32_t)strlen(names[f]));
            if (!index) continue; /* tags between a drop and its re-creation */
            if (mn_test_next(&rng) % 8 == 0) TCHECK_STATUS(mn_field_index_check(index), MN_OK);
            size_t n = collect(index, &exists, labels, names[f]);
            for (size_t i = 0; n != SIZE_MAX && i < n; i++)
                TCHECK(in_sorted(times, live, labels[i]), "%s: a label with the field has no createdAt", names[f]);
            mn_field_value v = {0};
            mn_field_predicate p = {.op = MN_FIELD_OP_EQ, .values = &v, .value_count = 1};
            int value = 0;
            if (f == 0) {
                value = (int)(mn_test_next(&rng) % KINDS);
                v.type = MN_FIELD_TYPE_STRING;
                v.length = (uint32_t)snprintf(text, sizeof text, "k%d", value);
                v.string = text;
            } else if (f == 2) {
                value = (int)(mn_test_next(&rng) % TAGS);
                v.type = MN_FIELD_TYPE_STRINGS;
                v.length = (uint32_t)snprintf(text, sizeof text, "t%d", value);
                v.string = text;
            } else {
                /* a range [lo/2, hi/2] with random ends, as ints or doubles */
                int lo = (int)(mn_test_next(&rng) % SCORES), hi = lo + (int)(mn_test_next(&rng) % 16);
                p = (mn_field_predicate){.op = MN_FIELD_OP_RANGE};
                p.low = (mn_field_bound){true, true, {.type = MN_FIELD_TYPE_DOUBLE, .number = lo / 2.0}};
                p.high = (mn_field_bound){true, true, {.type = MN_FIELD_TYPE_INT, .integer = hi / 2}};
                n = collect(index, &p, labels, "score range");
                uint64_t want = 0;
                for (int s = lo; s <= (hi / 2) * 2 + 1 && s < SCORES; s++)
                    if (s / 2.0 >= lo / 2.0 && s / 2.0 <= (double)(hi / 2)) want |= 1ull << s;
                for (size_t i = 0; n != SIZE_MAX && i < n; i++)
                    TCHECK(atomic_load_explicit(&score_seen[labels[i]], memory_order_acquire) & want,
                          "score range: label %llu never held a score in range", (unsigned long long)labels[i]);
                continue;
            }
            n = collect(index, &p, labels, names[f]);
            for (size_t i = 0; n != SIZE_MAX && i < n; i++) {
                uint32_t seen = f == 0 ? atomic_load_explicit(&kind_seen[labels[i]], memory_order_acquire)
                                       : atomic_load_explicit(&tag_seen[labels[i]], memory_order_acquire);
                TCHECK(seen & (1u << value), "%s: label %llu never held the value", names[f], (unsigned long long)labels[i]);
            }
        }
        mn_rcu_read_unlock();
        atomic_fetch_add_explicit(&reader_checks, 1, memory_order_relaxed);
    } while (!atomic_load(&writer_done));
    free(labels);
    free(times);
    return NULL;
}

int main(void) {
    CHECK_STATUS(mn_field_indexes_create(&set), MN_OK);
    backfill empty = {0};
    CHECK_STATUS(mn_field_indexes_add(set, "kind", 4, MN_FIELD_INDEX_KEYWORD, backfill_next, &empty), MN_OK);
    empty.at = 0;
    CHECK_STATUS(mn_field_indexes_add(set, "score", 5, MN_FIELD_INDEX_NUMERIC, backfill_next, &empty), MN_OK);
    empty.at = 0;
    CHECK_STATUS(mn_field_indexes_add(set, "tags", 4, MN_FIELD_INDEX_KEYWORD, backfill_next, &empty), MN_OK);
    pthread_t readers[READERS], writer_thread;
    for (uintptr_t i = 0; i < READERS; i++) pthread_create(&readers[i], NULL, reader, (void *)(i + 1));
    pthread_create(&writer_thread, NULL, writer, NULL);
    pthread_join(writer_thread, NULL);
    for (int i = 0; i < READERS; i++) pthread_join(readers[i], NULL);
    CHECK(atomic_load(&thread_failures) == 0, "%llu failed checks in threads", (unsigned long long)atomic_load(&thread_failures));
    CHECK(atomic_load(&reader_checks) >= READERS, "readers ran (%llu passes)", (unsigned long long)atomic_load(&reader_checks));
    printf("reader passes: %llu\n", (unsigned long long)atomic_load(&reader_checks));
    mn_field_indexes_destroy(set);
    mn_rcu_barrier();
    return mn_test_finish("test_field_index_concurrent");
}
