/*
 * test_engine_upsert_batch.c: a batch of upserts is one write (mn_space_upsert_batch_meta).
 *
 * Proves:
 * - a batch of 600 over a space of 300 (more replaced ids than one replacement chunk,
 *   MN_HNSW_SETTLE_BATCH) completes with detail = 300 replaced; the space holds 600; every
 *   replaced memory has its new vector, content and metadata under its old label and creation
 *   time, and every new one is there;
 * - refusals at submission queue nothing: an id repeated within the batch (MN_ERR_DUPLICATE at
 *   the later position), a wrong dimension, a NaN (the offender's position), a bad metadata
 *   document; the space is unchanged;
 * - durable: the batch is ONE log record (a reopen reads exactly one record more than before
 *   it), and the reopened space answers as the original did.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mn_engine_internal.h"
#include "mn_test_dir.h"
#include "util/mn_rcu.h"
#include "mnemo/mn_meta.h"
#include "test_durable_support.h"

#define DIM TD_DIM
#define BASE 300u
#define TOTAL 600u
#define ID_BYTES 16u

/* A packed batch of ids u-<first> ... with vectors from seed + i, content "v<version>" and, for
 * every third memory, a document {round: version}. */
typedef struct ub_batch {
    char ids[TOTAL * ID_BYTES];
    uint64_t id_offsets[TOTAL + 1];
    uint8_t contents[TOTAL * ID_BYTES];
    uint64_t content_offsets[TOTAL + 1];
    float vectors[TOTAL * DIM];
    uint8_t *metadata;
    uint64_t metadata_offsets[TOTAL + 1];
    mn_batch_in in;
} ub_batch;

static void ub_make(ub_batch *b, uint32_t count, uint64_t seed, int version) {
    void *doc = NULL;
    size_t doc_bytes = 0;
    mn_meta_builder *builder = NULL;
    CHECK_STATUS(mn_meta_builder_create(&builder), MN_OK);
    CHECK_STATUS(mn_meta_builder_add_int(builder, "round", 5, version), MN_OK);
    CHECK_STATUS(mn_meta_builder_finish(builder, &doc, &doc_bytes, NULL), MN_OK);
    mn_meta_builder_destroy(builder);
    b->metadata = malloc((size_t)(doc_bytes * count + 1));
    uint64_t at = 0, content_at = 0, meta_at = 0;
    for (uint32_t i = 0; i < count; i++) {
        b->id_offsets[i] = at;
        at += (uint64_t)snprintf(b->ids + at, ID_BYTES, "u-%u", i);
        b->content_offsets[i] = content_at;
        content_at += (uint64_t)snprintf((char *)b->contents + content_at, ID_BYTES, "v%d", version);
        b->metadata_offsets[i] = meta_at;
        if (i % 3 == 0) {
            memcpy(b->metadata + meta_at, doc, (size_t)doc_bytes);
            meta_at += doc_bytes;
        }
        te_vector(seed + i, b->vectors + (size_t)i * DIM, DIM);
    }
    b->id_offsets[count] = at;
    b->content_offsets[count] = content_at;
    b->metadata_offsets[count] = meta_at;
    mn_meta_free(doc);
    b->in = (mn_batch_in){count, DIM, b->vectors, b->ids, b->id_offsets, b->contents,
                          b->content_offsets, NULL};
}

static mn_status ub_upsert(mn_space *space, ub_batch *b, size_t *failed, uint64_t *replaced) {
    te_wait w;
    te_wait_init(&w);
    mn_status status = mn_space_upsert_batch_meta(space, &b->in, b->metadata, b->metadata_offsets,
                                                  MN_SUBMIT_WAIT, te_wait_done, &w, failed, NULL);
    if (status != MN_OK) return status;
    status = te_wait_for(&w);
    if (replaced) *replaced = w.detail;
    return status;
}

static uint64_t ub_count(mn_space *space) {
    mn_space_stats stats;
    CHECK_STATUS(mn_space_stats_get(space, &stats), MN_OK);
    return stats.count;
}

static uint64_t ub_label(mn_space *space, const char *id) {
    mn_rcu_read_lock();
    mn_record *record = mn_space_find_id(space, id, (uint32_t)strlen(id));
    uint64_t label = record ? record->label : UINT64_MAX;
    mn_rcu_read_unlock();
    return label;
}

/* Memory u-i holds version `version` (vector seed + i, content, document on every third). */
static int ub_holds(mn_space *space, uint32_t i, uint64_t seed, int version) {
    char id[ID_BYTES], content[ID_BYTES];
    snprintf(id, sizeof id, "u-%u", i);
    snprintf(content, sizeof content, "v%d", version);
    int64_t created = 0;
    if (!td_has_memory(space, id, content, seed + i, &created)) return 0;
    td_got got = {0};
    if (mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, td_visit_got, &got) != MN_OK) return 0;
    if (i % 3 != 0) return got.metadata_bytes == 0;
    mn_meta_value value;
    if (mn_meta_get(got.metadata, got.metadata_bytes, "round", 5, &value) != MN_OK) return 0;
    return value.type == MN_META_INT && value.i == version;
}

/* Fills u-0 ... u-(BASE-1) at version 1, then upserts u-0 ... u-(TOTAL-1) at version 2. */
static void upsert_over(mn_space *space, ub_batch *b) {
    ub_make(b, BASE, 100, 1);
    CHECK_STATUS(ub_upsert(space, b, NULL, NULL), MN_OK);
    free(b->metadata);
    CHECK(ub_count(space) == BASE);
    uint64_t labels[BASE];
    int64_t created[BASE];
    for (uint32_t i = 0; i < BASE; i++) {
        char id[ID_BYTES];
        snprintf(id, sizeof id, "u-%u", i);
        labels[i] = ub_label(space, id);
        CHECK(td_has_memory(space, id, "v1", 100 + i, &created[i]));
    }
    ub_make(b, TOTAL, 5000, 2);
    uint64_t replaced = 0;
    CHECK_STATUS(ub_upsert(space, b, NULL, &replaced), MN_OK);
    free(b->metadata);
    CHECK(replaced == BASE);
    CHECK(ub_count(space) == TOTAL);
    int all_new = 1, same_places = 1;
    for (uint32_t i = 0; i < TOTAL; i++) {
        all_new &= ub_holds(space, i, 5000, 2);
        if (i >= BASE) continue;
        char id[ID_BYTES];
        snprintf(id, sizeof id, "u-%u", i);
        int64_t now = 0;
        td_has_memory(space, id, "v2", 5000 + i, &now);
        same_places &= ub_label(space, id) == labels[i] && now == created[i];
    }
    CHECK(all_new);
    CHECK(same_places);
}

/* Bad batches are refused whole at submission, with the offender's position. */
static void refusals(mn_space *space, ub_batch *b) {
    uint64_t before = ub_count(space);
    size_t failed = 0;
    ub_make(b, 40, 9000, 3);
    uint64_t at = 0; /* the same batch with id 30 a repeat of id 7 */
    for (uint32_t i = 0; i < 40; i++) {
        b->id_offsets[i] = at;
        at += (uint64_t)snprintf(b->ids + at, ID_BYTES, "u-%u", i == 30 ? 7u : i);
    }
    b->id_offsets[40] = at;
    CHECK_STATUS(ub_upsert(space, b, &failed, NULL), MN_ERR_DUPLICATE);
    CHECK(failed == 30);
    free(b->metadata);

    ub_make(b, 40, 9000, 3);
    b->vectors[12 * DIM + 3] = NAN;
    CHECK_STATUS(ub_upsert(space, b, &failed, NULL), MN_ERR_NON_FINITE);
    CHECK(failed == 12);
    b->in.dimension = DIM + 1;
    CHECK_STATUS(ub_upsert(space, b, &failed, NULL), MN_ERR_DIMENSION);
    free(b->metadata);

    ub_make(b, 40, 9000, 3);
    b->metadata[b->metadata_offsets[9] + 1] ^= 0x5a; /* a document corrupted */
    mn_status status = ub_upsert(space, b, &failed, NULL);
    CHECK(status != MN_OK);
    CHECK(failed == 9);
    free(b->metadata);
    CHECK(ub_count(space) == before);
    CHECK(ub_holds(space, 0, 5000, 2) && ub_holds(space, 39, 5000, 2));
}

static uint64_t records_read(const char *path) {
    mn_status status = MN_OK;
    mn_durable_report report;
    mn_engine *engine = td_open(path, 2, MN_WAL_SYNC, 0, 0, 0, &status, &report);
    CHECK_STATUS(status, MN_OK);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    return report.records;
}

static void durable(const char *root) {
    char path[512];
    snprintf(path, sizeof path, "%s/durable", root);
    mn_status status = MN_OK;
    mn_engine *engine = td_open(path, 2, MN_WAL_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    mn_space *space = te_space(engine, "batches", DIM, MN_METRIC_L2);
    ub_batch *b = calloc(1, sizeof *b);
    ub_make(b, BASE, 100, 1);
    CHECK_STATUS(ub_upsert(space, b, NULL, NULL), MN_OK);
    free(b->metadata);
    mn_space_release(space);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    uint64_t before = records_read(path);

    engine = td_open(path, 2, MN_WAL_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    space = td_open_space(engine, "batches");
    ub_make(b, TOTAL, 5000, 2);
    uint64_t replaced = 0;
    CHECK_STATUS(ub_upsert(space, b, NULL, &replaced), MN_OK);
    free(b->metadata);
    CHECK(replaced == BASE);
    mn_space_release(space);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    CHECK(records_read(path) == before + 1);

    engine = td_open(path, 2, MN_WAL_SYNC, 0, 0, 0, &status, NULL);
    CHECK_STATUS(status, MN_OK);
    space = td_open_space(engine, "batches");
    CHECK(ub_count(space) == TOTAL);
    int all_new = 1;
    for (uint32_t i = 0; i < TOTAL; i++) all_new &= ub_holds(space, i, 5000, 2);
    CHECK(all_new);
    mn_space_release(space);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    free(b);
}

int main(void) {
    ub_batch *b = calloc(1, sizeof *b);
    mn_engine *engine = te_engine(2, 0);
    mn_space *space = te_space(engine, "batches", DIM, MN_METRIC_L2);
    upsert_over(space, b);
    refusals(space, b);
    mn_space_release(space);
    CHECK_STATUS(mn_engine_destroy(engine), MN_OK);
    free(b);

    char root[] = "/tmp/mnemo-upsert-batch-XXXXXX";
    if (!mkdtemp(root)) return 2;
    durable(root);
    mn_test_remove_tree(root);
    return te_report();
}
