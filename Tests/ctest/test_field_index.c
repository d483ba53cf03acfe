/*
 * test_field_index.c: the field indexes (csrc/meta/mn_field_index.h) against a brute-force
 * oracle. Random documents are inserted, replaced, patched and deleted; indexes are created
 * (backfilled) and dropped midway; after every few hundred changes every kind of predicate
 * (eq and in over every value of each field's domain, random numeric ranges with open,
 * inclusive and exclusive ends, exists, createdAt ranges) must count and collect exactly the
 * labels the oracle finds, the collections sorted and unique, the bitmaps equal, and every tree
 * must pass its structural check. Then allocation failures are injected into every write
 * (linked with mn_test_alloc.h): each failing call must return MN_ERR_NO_MEMORY and leave the
 * published snapshot untouched. Bad input (corrupt documents, mismatched old documents, bad
 * predicates) is refused with the documented status, and the label bitmap is checked against a
 * byte array.
 */
#include <stdlib.h>
#include <string.h>

#include "meta/mn_field_index.h"
#include "mnemo/mn_meta.h"
#include "mn_test.h"
#include "mn_test_alloc.h"
#include "test_field_support.h"
#include "util/mn_rcu.h"

enum { LABELS_MAX = 9000, FIELDS = 4 };

static const char *const field_names[FIELDS] = {"flag", "kind", "score", "tags"};
static const mn_field_index_kind field_kinds[FIELDS] = {MN_FIELD_INDEX_KEYWORD, MN_FIELD_INDEX_KEYWORD,
                                                        MN_FIELD_INDEX_NUMERIC, MN_FIELD_INDEX_KEYWORD};

static tf_doc docs[LABELS_MAX];
static int alive[LABELS_MAX];
static int64_t created[LABELS_MAX];
static uint64_t next_label;
static int indexed[FIELDS];
static uint64_t expected[LABELS_MAX], got[LABELS_MAX + 8];

/* ---- the oracle's answers ---- */

static size_t oracle(const char *field, const mn_field_predicate *p, uint64_t *out) {
    size_t n = 0;
    for (uint64_t label = 0; label < next_label; label++)
        if (alive[label] && tf_match(&docs[label], field, p)) out[n++] = label;
    return n;
}

static size_t oracle_created(const mn_field_predicate *p, uint64_t *out) {
    size_t n = 0;
    for (uint64_t label = 0; label < next_label; label++)
        if (alive[label] && (p->op == MN_FIELD_OP_EXISTS || tf_in_range((long double)created[label], p))) out[n++] = label;
    return n;
}

/* Count, collect (exact room, one short) and bitmap against expected[0 .. n). */
static void verify(const mn_field_index *index, const mn_field_predicate *p, size_t n, uint64_t count_expected,
                   const char *what) {
    uint64_t count = 0;
    CHECK_STATUS(mn_field_index_count(index, p, &count), MN_OK);
    CHECK(count == count_expected, "%s: count %llu, oracle %llu", what, (unsigned long long)count,
          (unsigned long long)count_expected);
    size_t collected = 0;
    mn_status status = mn_field_index_collect(index, p, got, n, &collected);
    if (status == MN_ERR_FULL && p->op == MN_FIELD_OP_IN && count_expected > n) {
        /* a list holding several operands needs room for each before duplicates go: the
         * returned capacity must be enough */
        CHECK(collected >= n && collected <= LABELS_MAX, "%s: asked for room %zu", what, collected);
        status = mn_field_index_collect(index, p, got, collected, &collected);
    }
    CHECK(status == MN_OK, "%s: collect %d", what, status);
    CHECK(collected == n, "%s: collected %zu, oracle %zu", what, collected, n);
    if (status == MN_OK && collected == n)
        CHECK(memcmp(got, expected, n * sizeof(uint64_t)) == 0, "%s: labels differ from the oracle's", what);
    if (n > 0) {
        status = mn_field_index_collect(index, p, got, n - 1, &collected);
        CHECK(status == MN_ERR_FULL && collected >= n, "%s: short buffer gave %d, count %zu", what, status, collected);
    }
    mn_label_bitmap bitmap;
    CHECK_STATUS(mn_label_bitmap_init(&bitmap, next_label + 3), MN_OK);
    CHECK_STATUS(mn_field_index_collect_bitmap(index, p, &bitmap), MN_OK);
    CHECK(mn_label_bitmap_count(&bitmap) == n, "%s: bitmap holds %llu, oracle %zu", what,
          (unsigned long long)mn_label_bitmap_count(&bitmap), n);
    for (size_t i = 0; i < n; i++) CHECK(mn_label_bitmap_test(&bitmap, expected[i]), "%s: bitmap lacks a label", what);
    mn_label_bitmap_destroy(&bitmap);
}

static void check_field(mn_test_rng *rng, const mn_field_index *index, int f) {
    const char *field = field_names[f];
    char what[96];
    CHECK_STATUS(mn_field_index_check(index), MN_OK);
    mn_field_index_info info;
    mn_field_index_describe(index, &info);
    CHECK(info.name_length == strlen(field) && memcmp(info.name, field, info.name_length) == 0, "describe names %s", field);
    CHECK(info.kind == field_kinds[f], "describe kind of %s", field);
    mn_field_predicate p = {.op = MN_FIELD_OP_EXISTS};
    size_t n = oracle(field, &p, expected);
    CHECK(info.present == n, "%s: present %llu, oracle %zu", field, (unsigned long long)info.present, n);
    snprintf(what, sizeof what, "%s exists", field);
    verify(index, &p, n, n, what);

    /* eq over the whole domain, in both string forms, plus a value never used */
    mn_field_value v;
    char text[16];
    for (int round = 0; round < 40; round++) {
        tf_random_value(rng, field, &v, text);
        p = (mn_field_predicate){.op = MN_FIELD_OP_EQ, .values = &v, .value_count = 1};
        n = oracle(field, &p, expected);
        snprintf(what, sizeof what, "%s eq (type %u)", field, v.type);
        verify(index, &p, n, n, what);
    }
    /* in: up to 4 operands (a list holding two of them is counted twice, collected once) */
    mn_field_value values[4];
    char texts[4][16];
    for (int round = 0; round < 20; round++) {
        uint32_t k = 1 + (uint32_t)(mn_test_next(rng) % 4);
        uint64_t sum = 0;
        for (uint32_t i = 0; i < k; i++) {
            tf_random_value(rng, field, &values[i], texts[i]);
            int repeated = 0; /* an operand equal to an earlier one adds nothing */
            for (uint32_t j = 0; j < i; j++) {
                const mn_field_value *a = &values[i], *b = &values[j];
                if (a->type == MN_FIELD_TYPE_INT || a->type == MN_FIELD_TYPE_DOUBLE)
                    repeated |= tf_operand(a) == tf_operand(b);
                else if (a->type == b->type)
                    repeated |= a->type == MN_FIELD_TYPE_BOOL ? a->boolean == b->boolean : strcmp(texts[i], texts[j]) == 0;
            }
            mn_field_predicate one = {.op = MN_FIELD_OP_EQ, .values = &values[i], .value_count = 1};
            if (!repeated) sum += oracle(field, &one, expected);
        }
        p = (mn_field_predicate){.op = MN_FIELD_OP_IN, .values = values, .value_count = k};
        n = oracle(field, &p, expected);
        snprintf(what, sizeof what, "%s in (%u)", field, k);
        verify(index, &p, n, sum, what);
    }
    uint64_t count;
    if (field_kinds[f] == MN_FIELD_INDEX_NUMERIC) {
        for (int round = 0; round < 40; round++) {
            tf_random_range(rng, &p);
            n = oracle(field, &p, expected);
            snprintf(what, sizeof what, "%s range", field);
            verify(index, &p, n, n, what);
        }
        v = (mn_field_value){.type = MN_FIELD_TYPE_STRING, .string = "k1", .length = 2};
        p = (mn_field_predicate){.op = MN_FIELD_OP_EQ, .values = &v, .value_count = 1};
        CHECK_STATUS(mn_field_index_count(index, &p, &count), MN_ERR_UNSUPPORTED);
    } else {
        tf_random_range(rng, &p);
        CHECK_STATUS(mn_field_index_count(index, &p, &count), MN_ERR_UNSUPPORTED);
        v = (mn_field_value){.type = MN_FIELD_TYPE_INT, .integer = 1};
        p = (mn_field_predicate){.op = MN_FIELD_OP_EQ, .values = &v, .value_count = 1};
        CHECK_STATUS(mn_field_index_count(index, &p, &count), MN_ERR_UNSUPPORTED);
    }
}

static void check_all(mn_test_rng *rng, mn_field_indexes *set) {
    mn_rcu_read_lock();
    const mn_field_snapshot *snapshot = mn_field_indexes_snapshot(set);
    uint32_t want = 0;
    for (int f = 0; f < FIELDS; f++) {
        const mn_field_index *index = mn_field_snapshot_find(snapshot, field_names[f], (uint32_t)strlen(field_names[f]));
        CHECK((index != NULL) == (indexed[f] != 0), "%s indexed %d, found %d", field_names[f], indexed[f], index != NULL);
        want += indexed[f] != 0;
        if (index) check_field(rng, index, f);
    }
    CHECK(mn_field_snapshot_count(snapshot) == want, "snapshot holds %u indexes, expected %u",
          mn_field_snapshot_count(snapshot), want);
    const mn_field_index *time = mn_field_snapshot_created_at(snapshot);
    CHECK_STATUS(mn_field_index_check(time), MN_OK);
    mn_field_predicate p = {.op = MN_FIELD_OP_EXISTS};
    size_t n = oracle_created(&p, expected);
    verify(time, &p, n, n, "createdAt exists");
    for (int round = 0; round < 20; round++) {
        memset(&p, 0, sizeof p);
        p.op = MN_FIELD_OP_RANGE;
        mn_field_bound *sides[2] = {&p.low, &p.high};
        for (int s = 0; s < 2; s++) {
            sides[s]->present = mn_test_next(rng) % 4 != 0;
            sides[s]->inclusive = mn_test_next(rng) % 2;
            sides[s]->value.type = MN_FIELD_TYPE_INT;
            sides[s]->value.integer = (int64_t)(mn_test_next(rng) % (next_label / 2 + 2)) * 1000;
        }
        n = oracle_created(&p, expected);
        verify(time, &p, n, n, "createdAt range");
    }
    mn_rcu_read_unlock();
    CHECK(mn_field_indexes_bytes(set) > 0, "bytes reported");
}

/* ---- writes, mirrored in the oracle ---- */

static mn_status apply(mn_field_indexes *set, uint64_t label, const tf_doc *old_doc, const tf_doc *new_doc) {
    uint8_t old_bytes[TF_DOC_BYTES], new_bytes[TF_DOC_BYTES];
    size_t old_size = old_doc ? tf_encode(old_doc, old_bytes) : 0;
    size_t new_size = new_doc ? tf_encode(new_doc, new_bytes) : 0;
    /* the documents are real metadata documents, as the engine will hand them over */
    CHECK(mn_meta_validate(new_bytes, new_size, NULL) == MN_OK, "the test's encoder wrote an invalid document");
    return mn_field_indexes_update(set, label, old_bytes, old_size, new_bytes, new_size);
}

static mn_status insert_memory(mn_field_indexes *set, uint64_t label) {
    uint8_t bytes[TF_DOC_BYTES];
    return mn_field_indexes_insert(set, label, created[label], bytes, tf_encode(&docs[label], bytes));
}

static mn_status remove_memory(mn_field_indexes *set, uint64_t label) {
    uint8_t bytes[TF_DOC_BYTES];
    return mn_field_indexes_remove(set, label, created[label], bytes, tf_encode(&docs[label], bytes));
}

typedef struct backfill {
    uint64_t at;
    uint8_t bytes[TF_DOC_BYTES];
} backfill;

static mn_status backfill_next(void *context, uint64_t *label, const uint8_t **doc, size_t *doc_bytes, bool *more) {
    backfill *b = context;
    while (b->at < next_label && !alive[b->at]) b->at++;
    if (b->at >= next_label) {
        *more = false;
        return MN_OK;
    }
    *label = b->at;
    *doc_bytes = tf_encode(&docs[b->at], b->bytes);
    *doc = b->bytes;
    *more = true;
    b->at++;
    return MN_OK;
}

static uint64_t random_alive(mn_test_rng *rng) {
    for (int tries = 0; tries < 64; tries++) {
        uint64_t label = mn_test_next(rng) % next_label;
        if (alive[label]) return label;
    }
    for (uint64_t label = 0; label < next_label; label++)
        if (alive[label]) return label;
    return UINT64_MAX;
}

/* One random change; returns 0 when it could not run (nothing alive, labels used up). */
static void random_change(mn_test_rng *rng, mn_field_indexes *set, int insert_bias) {
    uint64_t r = mn_test_next(rng) % 100;
    uint64_t label = next_label ? random_alive(rng) : UINT64_MAX;
    if (label == UINT64_MAX || r < (uint64_t)insert_bias) {
        if (next_label >= LABELS_MAX) return;
        label = next_label++;
        tf_random_doc(rng, &docs[label]);
        created[label] = (int64_t)(label / 2) * 1000; /* pairs share a time */
        if (label % 2) { /* the time, then the document */
            CHECK_STATUS(mn_field_indexes_created_insert(set, label, created[label]), MN_OK);
            CHECK_STATUS(apply(set, label, NULL, &docs[label]), MN_OK);
        } else { /* both in one transaction */
            CHECK_STATUS(insert_memory(set, label), MN_OK);
        }
        alive[label] = 1;
    } else if (r < 70) {
        tf_doc doc;
        tf_random_doc(rng, &doc);
        CHECK_STATUS(apply(set, label, &docs[label], &doc), MN_OK);
        docs[label] = doc;
    } else if (r < 85) { /* a patch: one field changes */
        tf_doc doc = docs[label], fresh;
        tf_random_doc(rng, &fresh);
        switch (mn_test_next(rng) % 4) {
        case 0: doc.has_flag = fresh.has_flag, doc.flag = fresh.flag; break;
        case 1: doc.has_kind = fresh.has_kind, doc.kind = fresh.kind, doc.kind_is_int = fresh.kind_is_int; break;
        case 2:
            doc.has_score = fresh.has_score, doc.score_type = fresh.score_type;
            doc.score_i = fresh.score_i, doc.score_d = fresh.score_d;
            break;
        default:
            doc.has_tags = fresh.has_tags, doc.tags_is_string = fresh.tags_is_string, doc.tag_count = fresh.tag_count;
            memcpy(doc.tags, fresh.tags, sizeof doc.tags);
        }
        CHECK_STATUS(apply(set, label, &docs[label], &doc), MN_OK);
        docs[label] = doc;
    } else {
        if (mn_test_next(rng) % 2) {
            CHECK_STATUS(apply(set, label, &docs[label], NULL), MN_OK);
            CHECK_STATUS(mn_field_indexes_created_remove(set, label, created[label]), MN_OK);
        } else {
            CHECK_STATUS(remove_memory(set, label), MN_OK);
        }
        alive[label] = 0;
    }
}

static void toggle_index(mn_test_rng *rng, mn_field_indexes *set) {
    int f = (int)(mn_test_next(rng) % FIELDS);
    uint32_t length = (uint32_t)strlen(field_names[f]);
    if (indexed[f]) {
        CHECK_STATUS(mn_field_indexes_drop(set, field_names[f], length), MN_OK);
        CHECK_STATUS(mn_field_indexes_drop(set, field_names[f], length), MN_ERR_NOT_FOUND);
        indexed[f] = 0;
    } else {
        backfill b = {0};
        CHECK_STATUS(mn_field_indexes_add(set, field_names[f], length, field_kinds[f], backfill_next, &b), MN_OK);
        backfill again = {0};
        CHECK_STATUS(mn_field_indexes_add(set, field_names[f], length, field_kinds[f], backfill_next, &again),
                     MN_ERR_DUPLICATE);
        indexed[f] = 1;
    }
}

/* ---- bad input ---- */

static void test_bad_input(mn_field_indexes *set) {
    tf_doc doc;
    mn_test_rng rng = {0x5eed};
    do tf_random_doc(&rng, &doc);
    while (!doc.has_kind || doc.kind_is_int);
    uint8_t bytes[TF_DOC_BYTES];
    size_t size = tf_encode(&doc, bytes);
    const mn_field_snapshot *before = mn_field_indexes_snapshot(set);
    /* every truncation of a document with indexed fields is refused, nothing published */
    for (size_t cut = 1; cut < size; cut++) {
        mn_status status = mn_field_indexes_update(set, next_label, NULL, 0, bytes, cut);
        CHECK(status == MN_ERR_CORRUPT, "a document cut to %zu bytes gave %d", cut, status);
    }
    uint8_t bad_type[TF_DOC_BYTES];
    memcpy(bad_type, bytes, size);
    bad_type[2 + 1 + bad_type[2]] = 9; /* the first field's type byte */
    CHECK_STATUS(mn_field_indexes_update(set, next_label, NULL, 0, bad_type, size), MN_ERR_CORRUPT);
    /* an old document that was never applied */
    CHECK_STATUS(mn_field_indexes_update(set, next_label, bytes, size, NULL, 0), MN_ERR_NOT_FOUND);
    CHECK_STATUS(mn_field_indexes_update(set, MN_ENGINE_LABEL_MAX + 1, NULL, 0, bytes, size), MN_ERR_INVALID);
    CHECK_STATUS(mn_field_indexes_update(set, 1, NULL, 5, NULL, 0), MN_ERR_INVALID);
    CHECK(mn_field_indexes_snapshot(set) == before, "refused writes published nothing");
    CHECK_STATUS(mn_field_indexes_created_remove(set, next_label, 7), MN_ERR_NOT_FOUND);
    for (uint64_t label = 0; label < next_label; label++)
        if (alive[label]) { /* a time already there: the document's entries are not kept either */
            CHECK_STATUS(mn_field_indexes_insert(set, label, created[label], NULL, 0), MN_ERR_DUPLICATE);
            CHECK_STATUS(mn_field_indexes_remove(set, label, created[label] + 1, NULL, 0), MN_ERR_NOT_FOUND);
            break;
        }
    CHECK_STATUS(mn_field_indexes_add(set, "createdAt", 9, MN_FIELD_INDEX_NUMERIC, backfill_next, NULL), MN_ERR_DUPLICATE);
    CHECK_STATUS(mn_field_indexes_add(set, "x", 1, (mn_field_index_kind)7, backfill_next, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_field_indexes_add(set, "", 0, MN_FIELD_INDEX_KEYWORD, backfill_next, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_field_indexes_add(set, "$x", 2, MN_FIELD_INDEX_KEYWORD, backfill_next, NULL), MN_ERR_INVALID);
    CHECK_STATUS(mn_field_indexes_add(set, "id", 2, MN_FIELD_INDEX_KEYWORD, backfill_next, NULL), MN_ERR_INVALID);
    char long_name[MN_META_NAME_BYTES_MAX + 1];
    memset(long_name, 'a', sizeof long_name);
    CHECK_STATUS(mn_field_indexes_add(set, long_name, sizeof long_name, MN_FIELD_INDEX_KEYWORD, backfill_next, NULL),
                 MN_ERR_TOO_LARGE);
    CHECK(mn_field_indexes_snapshot(set) == before, "refused index changes published nothing");

    mn_rcu_read_lock();
    const mn_field_index *time = mn_field_snapshot_created_at(mn_field_indexes_snapshot(set));
    mn_field_value nan_value = {.type = MN_FIELD_TYPE_DOUBLE, .number = NAN};
    mn_field_predicate p = {.op = MN_FIELD_OP_EQ, .values = &nan_value, .value_count = 1};
    uint64_t count;
    CHECK_STATUS(mn_field_index_count(time, &p, &count), MN_ERR_INVALID);
    p = (mn_field_predicate){.op = MN_FIELD_OP_IN, .values = NULL, .value_count = 0};
    CHECK_STATUS(mn_field_index_count(time, &p, &count), MN_ERR_INVALID);
    mn_field_value bad_type_value = {.type = 77};
    p = (mn_field_predicate){.op = MN_FIELD_OP_EQ, .values = &bad_type_value, .value_count = 1};
    CHECK_STATUS(mn_field_index_count(time, &p, &count), MN_ERR_INVALID);
    p = (mn_field_predicate){.op = (mn_field_op)99};
    CHECK_STATUS(mn_field_index_count(time, &p, &count), MN_ERR_INVALID);
    CHECK(mn_field_snapshot_find(mn_field_indexes_snapshot(set), "nope", 4) == NULL, "unknown field not found");
    mn_rcu_read_unlock();
}

/* ---- allocation failures ---- */

/* Runs `call` failing its n-th allocation for n = 0, 1, ... until it succeeds; each failure
 * must be MN_ERR_NO_MEMORY with the same snapshot and byte count published. */
#define EXPECT_ATOMIC(set, call)                                                                         \
    do {                                                                                                 \
        for (int64_t n_ = 0;; n_++) {                                                                    \
            const mn_field_snapshot *before_ = mn_field_indexes_snapshot(set);                           \
            uint64_t bytes_ = mn_field_indexes_bytes(set);                                               \
            mn_alloc_fail_after(n_);                                                                     \
            mn_status status_ = (call);                                                                  \
            mn_alloc_fail_after(-1);                                                                     \
            if (status_ == MN_OK) break;                                                                 \
            CHECK(status_ == MN_ERR_NO_MEMORY, "%s failing allocation %lld gave %d", #call, (long long)n_, \
                  status_);                                                                              \
            CHECK(mn_field_indexes_snapshot(set) == before_ && mn_field_indexes_bytes(set) == bytes_,    \
                  "%s failing allocation %lld published a change", #call, (long long)n_);                \
            if (status_ != MN_ERR_NO_MEMORY || n_ > 100000) break;                                       \
        }                                                                                                \
    } while (0)

static void test_out_of_memory(mn_test_rng *rng, mn_field_indexes *set) {
    for (int round = 0; round < 300; round++) {
        uint64_t r = mn_test_next(rng) % 100;
        uint64_t label = random_alive(rng);
        if (label == UINT64_MAX || r < 30) {
            if (next_label >= LABELS_MAX) continue;
            label = next_label;
            tf_random_doc(rng, &docs[label]);
            created[label] = (int64_t)(label / 2) * 1000;
            if (round % 2) {
                EXPECT_ATOMIC(set, mn_field_indexes_created_insert(set, label, created[label]));
                EXPECT_ATOMIC(set, apply(set, label, NULL, &docs[label]));
            } else {
                EXPECT_ATOMIC(set, insert_memory(set, label));
            }
            alive[label] = 1;
            next_label++;
        } else if (r < 75) {
            tf_doc doc;
            tf_random_doc(rng, &doc);
            EXPECT_ATOMIC(set, apply(set, label, &docs[label], &doc));
            docs[label] = doc;
        } else if (r < 95) {
            if (round % 2) {
                EXPECT_ATOMIC(set, apply(set, label, &docs[label], NULL));
                EXPECT_ATOMIC(set, mn_field_indexes_created_remove(set, label, created[label]));
            } else {
                EXPECT_ATOMIC(set, remove_memory(set, label));
            }
            alive[label] = 0;
        } else {
            int f = (int)(mn_test_next(rng) % FIELDS);
            uint32_t length = (uint32_t)strlen(field_names[f]);
            if (indexed[f]) {
                EXPECT_ATOMIC(set, mn_field_indexes_drop(set, field_names[f], length));
            } else {
                backfill b;
                EXPECT_ATOMIC(set, (b.at = 0, mn_field_indexes_add(set, field_names[f], length, field_kinds[f],
                                                                   backfill_next, &b)));
            }
            indexed[f] = !indexed[f];
        }
        if (round % 50 == 49) check_all(rng, set);
    }
    check_all(rng, set);
}

/* ---- caller transactions (mn_field_indexes_txn_*): several memories, one publication ---- */

typedef struct txn_change {
    int kind; /* 0 insert, 1 update, 2 remove */
    uint64_t label;
    tf_doc doc; /* insert and update: the new document */
} txn_change;

/* Begins, stages every change and prepares; on an error the transaction is already closed. */
static mn_status txn_stage(mn_field_indexes *set, const txn_change *changes, int n) {
    mn_field_indexes_txn_begin(set);
    for (int i = 0; i < n; i++) {
        const txn_change *c = &changes[i];
        uint8_t old_bytes[TF_DOC_BYTES], new_bytes[TF_DOC_BYTES];
        size_t old_size = c->kind == 0 ? 0 : tf_encode(&docs[c->label], old_bytes);
        size_t new_size = c->kind == 2 ? 0 : tf_encode(&c->doc, new_bytes);
        mn_status status =
            c->kind == 0   ? mn_field_indexes_txn_insert(set, c->label, created[c->label], new_bytes, new_size)
            : c->kind == 1 ? mn_field_indexes_txn_update(set, c->label, old_bytes, old_size, new_bytes, new_size)
                           : mn_field_indexes_txn_remove(set, c->label, created[c->label], old_bytes, old_size);
        if (status != MN_OK) return status;
    }
    return mn_field_indexes_txn_prepare(set);
}

/* Each round: up to six changes of distinct labels staged together; every allocation of
 * staging and prepare failed in turn (nothing published, the transaction closed); on odd
 * rounds a prepared transaction aborted (nothing published); then published whole. */
static void test_transactions(mn_test_rng *rng, mn_field_indexes *set) {
    for (int round = 0; round < 120; round++) {
        txn_change changes[6];
        int n = 0;
        for (int tries = 0; tries < 12 && n < 6; tries++) {
            txn_change c;
            memset(&c, 0, sizeof(c));
            uint64_t r = mn_test_next(rng) % 3;
            c.label = r == 0 ? next_label + (uint64_t)n : random_alive(rng);
            if (c.label == UINT64_MAX || c.label >= LABELS_MAX) continue;
            c.kind = (int)r;
            int repeated = 0;
            for (int j = 0; j < n; j++) repeated |= changes[j].label == c.label;
            if (repeated) continue;
            if (c.kind == 0) {
                created[c.label] = (int64_t)(c.label / 3) * 1000;
                c.label = next_label + (uint64_t)n; /* fresh labels in order */
            }
            if (c.kind != 2) tf_random_doc(rng, &c.doc);
            changes[n++] = c;
        }
        if (n == 0) continue;
        /* fresh labels are consecutive from next_label */
        uint64_t fresh = 0;
        for (int i = 0; i < n; i++) {
            if (changes[i].kind != 0) continue;
            changes[i].label = next_label + fresh++;
            created[changes[i].label] = (int64_t)(changes[i].label / 3) * 1000;
        }
        for (int64_t k = 0;; k++) {
            const mn_field_snapshot *before = mn_field_indexes_snapshot(set);
            uint64_t bytes = mn_field_indexes_bytes(set);
            mn_alloc_fail_after(k);
            mn_status status = txn_stage(set, changes, n);
            mn_alloc_fail_after(-1);
            if (status == MN_OK) break;
            CHECK(status == MN_ERR_NO_MEMORY, "staging failing allocation %lld gave %d", (long long)k, status);
            mn_field_indexes_txn_abort(set); /* closed already: a no-op */
            CHECK(mn_field_indexes_snapshot(set) == before && mn_field_indexes_bytes(set) == bytes,
                  "a failed transaction published a change");
            if (status != MN_ERR_NO_MEMORY || k > 100000) break;
        }
        /* prepared: nothing visible yet */
        const mn_field_snapshot *before = mn_field_indexes_snapshot(set);
        uint64_t bytes = mn_field_indexes_bytes(set);
        if (round % 2) {
            mn_field_indexes_txn_abort(set);
            CHECK(mn_field_indexes_snapshot(set) == before && mn_field_indexes_bytes(set) == bytes,
                  "an aborted transaction published a change");
            CHECK_STATUS(txn_stage(set, changes, n), MN_OK);
        }
        mn_field_indexes_txn_publish(set);
        for (int i = 0; i < n; i++) {
            const txn_change *c = &changes[i];
            if (c->kind != 2) docs[c->label] = c->doc;
            alive[c->label] = c->kind != 2;
        }
        next_label += fresh;
        if (round % 20 == 19) check_all(rng, set);
    }
    check_all(rng, set);
}

/* ---- a large createdAt tree: random (not increasing) times, then mass deletion ---- */

static void check_times(mn_test_rng *rng, mn_field_indexes *set, const int64_t *times, const unsigned char *live,
                        uint64_t count) {
    mn_rcu_read_lock();
    const mn_field_index *time = mn_field_snapshot_created_at(mn_field_indexes_snapshot(set));
    CHECK_STATUS(mn_field_index_check(time), MN_OK);
    for (int round = 0; round < 60; round++) {
        mn_field_predicate p = {.op = MN_FIELD_OP_RANGE};
        p.low = (mn_field_bound){.present = true, .inclusive = mn_test_next(rng) % 2,
                                 .value = {.type = MN_FIELD_TYPE_INT, .integer = (int64_t)(mn_test_next(rng) % 50000)}};
        p.high = p.low;
        p.high.value.integer += (int64_t)(mn_test_next(rng) % 3000);
        p.high.inclusive = mn_test_next(rng) % 2;
        if (round % 3 == 0) {
            p.high.value.type = MN_FIELD_TYPE_DOUBLE;
            p.high.value.number = (double)p.high.value.integer + 0.5;
        }
        uint64_t want = 0, got_count = 0;
        for (uint64_t i = 0; i < count; i++) want += live[i] && tf_in_range((long double)times[i], &p);
        CHECK_STATUS(mn_field_index_count(time, &p, &got_count), MN_OK);
        CHECK(got_count == want, "large tree: range count %llu, oracle %llu", (unsigned long long)got_count,
              (unsigned long long)want);
    }
    mn_field_predicate all = {.op = MN_FIELD_OP_EXISTS};
    uint64_t want = 0, total = 0;
    for (uint64_t i = 0; i < count; i++) want += live[i];
    CHECK_STATUS(mn_field_index_count(time, &all, &total), MN_OK);
    CHECK(total == want, "large tree: %llu entries, oracle %llu", (unsigned long long)total, (unsigned long long)want);
    mn_rcu_read_unlock();
}

static void test_large_tree(mn_test_rng *rng) {
    enum { COUNT = 150000 };
    int64_t *times = malloc(COUNT * sizeof(int64_t));
    unsigned char *live = calloc(COUNT, 1);
    mn_field_indexes *set;
    CHECK_STATUS(mn_field_indexes_create(&set), MN_OK);
    for (uint64_t i = 0; i < COUNT; i++) {
        times[i] = (int64_t)(mn_test_next(rng) % 50000);
        CHECK_STATUS(mn_field_indexes_created_insert(set, i, times[i]), MN_OK);
        live[i] = 1;
    }
    check_times(rng, set, times, live, COUNT);
    for (uint64_t i = 0; i < COUNT; i++) /* 95% go, in random order */
        if (mn_test_next(rng) % 100 < 95) {
            CHECK_STATUS(mn_field_indexes_created_remove(set, i, times[i]), MN_OK);
            live[i] = 0;
        }
    check_times(rng, set, times, live, COUNT);
    for (uint64_t i = 0; i < COUNT; i++)
        if (live[i]) {
            CHECK_STATUS(mn_field_indexes_created_remove(set, i, times[i]), MN_OK);
            live[i] = 0;
        }
    check_times(rng, set, times, live, COUNT);
    mn_field_indexes_destroy(set);
    free(times);
    free(live);
}

/* ---- label bitmaps against a byte array ---- */

static void test_bitmap(mn_test_rng *rng) {
    enum { BITS = 1000 };
    unsigned char a_ref[BITS], b_ref[BITS];
    mn_label_bitmap a, b;
    CHECK_STATUS(mn_label_bitmap_init(&a, BITS), MN_OK);
    CHECK_STATUS(mn_label_bitmap_init(&b, BITS - 37), MN_OK);
    memset(a_ref, 0, sizeof a_ref);
    memset(b_ref, 0, sizeof b_ref);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 40; i++) {
            uint64_t x = mn_test_next(rng) % (BITS + 20), y = mn_test_next(rng) % (BITS + 20);
            mn_label_bitmap_set(&a, x);
            mn_label_bitmap_set(&b, y);
            if (x < BITS) a_ref[x] = 1;
            if (y < BITS - 37) b_ref[y] = 1;
        }
        switch (mn_test_next(rng) % 5) {
        case 0:
            mn_label_bitmap_and(&a, &b);
            for (int i = 0; i < BITS; i++) a_ref[i] &= i < BITS - 37 ? b_ref[i] : 0;
            break;
        case 1:
            mn_label_bitmap_or(&a, &b);
            for (int i = 0; i < BITS - 37; i++) a_ref[i] |= b_ref[i];
            break;
        case 2:
            mn_label_bitmap_andnot(&a, &b);
            for (int i = 0; i < BITS - 37; i++) a_ref[i] &= !b_ref[i];
            break;
        case 3:
            mn_label_bitmap_not(&a);
            for (int i = 0; i < BITS; i++) a_ref[i] = !a_ref[i];
            break;
        default:
            mn_label_bitmap_clear(&b);
            memset(b_ref, 0, sizeof b_ref);
        }
        uint64_t count = 0, label, from = 0;
        int ok = 1;
        for (int i = 0; i < BITS; i++) {
            count += a_ref[i];
            ok &= mn_label_bitmap_test(&a, (uint64_t)i) == (a_ref[i] != 0);
        }
        CHECK(ok, "bitmap bits differ from the reference");
        CHECK(mn_label_bitmap_count(&a) == count, "bitmap count %llu, reference %llu",
              (unsigned long long)mn_label_bitmap_count(&a), (unsigned long long)count);
        uint64_t seen = 0;
        while (mn_label_bitmap_next(&a, from, &label)) {
            ok &= a_ref[label] != 0 && label >= from;
            seen++;
            from = label + 1;
        }
        CHECK(ok && seen == count, "bitmap iteration saw %llu of %llu", (unsigned long long)seen,
              (unsigned long long)count);
    }
    mn_label_bitmap_destroy(&a);
    mn_label_bitmap_destroy(&b);
    CHECK_STATUS(mn_label_bitmap_init(&a, 0), MN_OK);
    CHECK(!mn_label_bitmap_next(&a, 0, &(uint64_t){0}) && mn_label_bitmap_count(&a) == 0, "empty bitmap");
    mn_label_bitmap_destroy(&a);
}

int main(void) {
    mn_test_rng rng = {0x9e3779b97f4a7c15ull};
    mn_field_indexes *set;
    CHECK_STATUS(mn_field_indexes_create(&set), MN_OK);
    indexed[1] = indexed[2] = 1; /* kind and score from the start; flag and tags backfilled later */
    CHECK_STATUS(mn_field_indexes_add(set, "kind", 4, MN_FIELD_INDEX_KEYWORD, backfill_next, &(backfill){0}), MN_OK);
    CHECK_STATUS(mn_field_indexes_add(set, "score", 5, MN_FIELD_INDEX_NUMERIC, backfill_next, &(backfill){0}), MN_OK);
    check_all(&rng, set);

    /* growth with churn, indexes created and dropped on the way */
    for (int op = 1; op <= 12000; op++) {
        random_change(&rng, set, 55);
        if (op % 1500 == 0) toggle_index(&rng, set);
        if (op % 1000 == 0) check_all(&rng, set);
    }
    for (int f = 0; f < FIELDS; f++)
        if (!indexed[f]) {
            backfill b = {0};
            CHECK_STATUS(mn_field_indexes_add(set, field_names[f], (uint32_t)strlen(field_names[f]), field_kinds[f],
                                              backfill_next, &b),
                         MN_OK);
            indexed[f] = 1;
        }
    check_all(&rng, set);
    /* mostly deletions: trees shrink, nodes merge, roots collapse */
    for (int op = 1; op <= 6000; op++) {
        random_change(&rng, set, 2);
        if (op % 1500 == 0) check_all(&rng, set);
    }
    check_all(&rng, set);
    test_bad_input(set);
    test_out_of_memory(&rng, set);
    test_transactions(&rng, set);
    CHECK(mn_alloc_failed() > 200, "allocation failures were injected (%llu)", (unsigned long long)mn_alloc_failed());
    test_large_tree(&rng);
    test_bitmap(&rng);

    mn_field_indexes_destroy(set);
    mn_rcu_barrier(); /* retired blocks freed before the leak check */
    return mn_test_finish("test_field_index");
}
