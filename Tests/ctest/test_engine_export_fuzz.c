/*
 * test_engine_export_fuzz.c: a long randomized fuzz of the space import reader (CI runs it
 * under AddressSanitizer and UBSan, label "parser").
 *
 * A valid export (memories with and without content and metadata documents, upserts and
 * deletes so the index holds deleted nodes, associations) is mutated tens of thousands of times: bit flips, random bytes,
 * runs of 0x00/0xFF, truncations, duplicated and deleted spans, and targeted lies in the
 * header, the memory records and the two embedded streams (counts, labels, lengths, levels,
 * weights set to 0, 1, all ones, or off by one). Most mutants then get freshly computed
 * checksums — the embedded index and association streams' own XXH64 trailers where the
 * mutation touched them, and the outer trailer — so they pass every checksum and reach the
 * structural checks. Every import must either fail with a stream status (truncated, corrupt,
 * version, too large) or create a space that answers searches, recalls, gets and a second
 * export without a crash; nothing may assert, leak or read out of bounds.
 */
#include <xxhash.h>

#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"
#include "test_space_support.h"

#define DIM 8
#define COUNT 120
#define ROUNDS 30000

static uint64_t rng_state = 0x5eed;
static uint64_t rnd(void) { return te_next(&rng_state); }

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Section boundaries of the original stream: [0, hnsw) header, memories and (version 3) the
 * field index definitions, [hnsw, assoc) the index stream, [assoc, size - 8) the association stream. */
typedef struct layout {
    size_t hnsw, assoc, size;
    size_t fields[512]; /* offsets of interesting 4- or 8-byte fields */
    uint8_t widths[512];
    size_t field_count;
} layout;

static void add_field(layout *l, size_t at, uint8_t width) {
    if (l->field_count < 512) {
        l->fields[l->field_count] = at;
        l->widths[l->field_count++] = width;
    }
}

static void parse(const uint8_t *s, size_t size, layout *l) {
    memset(l, 0, sizeof(*l));
    l->size = size;
    for (size_t at = 12; at < 64; at += 4) add_field(l, at, 4);
    add_field(l, 40, 8);
    add_field(l, 48, 8);
    uint64_t n = get_u64(s + 40);
    size_t at = 64;
    for (uint64_t i = 0; i < n; i++) {
        if (i < 40) {
            add_field(l, at, 8);       /* label */
            add_field(l, at + 16, 8);  /* content bytes */
            add_field(l, at + 24, 4);  /* id bytes */
            add_field(l, at + 28, 4);  /* metadata bytes */
        }
        at += 32 + get_u32(s + at + 24) + (size_t)get_u64(s + at + 16) + get_u32(s + at + 28);
    }
    if (get_u32(s + 8) >= 3) { /* the field index definitions: count, reserved, then each */
        uint32_t definitions = get_u32(s + at);
        add_field(l, at, 4);
        add_field(l, at + 4, 4);
        at += 8;
        for (uint32_t d = 0; d < definitions; d++) {
            add_field(l, at, 4);     /* kind */
            add_field(l, at + 4, 4); /* name bytes */
            at += 8 + get_u32(s + at + 4);
        }
    }
    l->hnsw = at;
    uint32_t dimension = get_u32(s + at + 12);
    uint32_t slots = get_u32(s + at + 40);
    for (size_t f = 12; f < 56; f += 4) add_field(l, at + f, 4);
    at += 56;
    for (uint32_t slot = 0; slot < slots; slot++) {
        uint8_t state = s[at++];
        if (state == 0) continue;
        if (slot < 30) add_field(l, at + 8, 4); /* level */
        uint32_t level = get_u32(s + at + 8);
        at += 12 + 4 * (size_t)dimension;
        for (uint32_t k = 0; k <= level; k++) {
            uint32_t count = get_u32(s + at);
            if (slot < 30) add_field(l, at, 4);
            if (slot < 30 && count > 0) add_field(l, at + 4, 4);
            at += 4 + 4 * (size_t)count;
        }
    }
    at += 8;
    l->assoc = at;
    for (size_t f = 8; f < 32; f += 4) add_field(l, at + f, 4);
    add_field(l, at + 16, 8);
    add_field(l, at + 24, 8);
    size_t p = at + 32;
    for (int r = 0; r < 10 && p + 12 <= size - 16; r++) {
        add_field(l, p, 8);
        add_field(l, p + 8, 4);
        uint32_t count = get_u32(s + p + 8);
        for (uint32_t j = 0; j < count && j < 3; j++) {
            add_field(l, p + 12 + 12 * (size_t)j, 8);
            add_field(l, p + 12 + 12 * (size_t)j + 8, 4);
        }
        p += 12 + 12 * (size_t)count;
    }
}

static void fix_trailer(uint8_t *data, size_t start, size_t end) {
    if (end < start + 8) return;
    put_u64(data + end - 8, XXH64(data + start, end - start - 8, 0));
}

/* Every document an imported space hands out was checked on import: still valid. */
static void visit_metadata(void *context, const mn_memory_view *view) {
    (void)context;
    CHECK(mn_meta_validate(view->metadata, (size_t)view->metadata_bytes, NULL) == MN_OK);
}

static void exercise(mn_space *space) {
    float v[DIM];
    ts_results r;
    for (uint64_t q = 0; q < 3; q++) {
        te_vector(900 + q, v, DIM);
        mn_status status = ts_search(space, v, DIM, 10, &r);
        CHECK(status == MN_OK || status == MN_ERR_DIMENSION);
        mn_recall_params p;
        mn_recall_params_default(&p);
        status = ts_recall(space, v, DIM, &p, 50, &r);
        CHECK(status == MN_OK || status == MN_ERR_DIMENSION);
    }
    char id[16];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "m%d", i);
        (void)mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, visit_metadata, NULL);
    }
    /* The rebuilt field indexes answer what the records answer. */
    static const char *const filters[2] = {"{\"kind\": \"fact\"}", "{\"n\": {\"$gte\": 30}}"};
    for (int f = 0; f < 2; f++) {
        mn_filter *filter = NULL;
        CHECK_STATUS(mn_filter_parse(filters[f], strlen(filters[f]), &filter, NULL), MN_OK);
        uint64_t count = 0;
        uint32_t listed = 0;
        CHECK_STATUS(mn_space_count_filtered(space, filter, &count), MN_OK);
        CHECK_STATUS(mn_space_list_filtered(space, filter, 0, MN_ENGINE_LIST_LIMIT_MAX, NULL, NULL,
                                            &listed, NULL),
                     MN_OK);
        CHECK(count == listed);
        mn_filter_free(filter);
    }
    mn_bytes again = {0};
    CHECK_STATUS(mn_space_export(space, mn_bytes_write, &again), MN_OK);
    free(again.data);
}

int main(void) {
    mn_engine *engine = te_engine(2, 0);
    mn_hnsw_params params;
    mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
    params.m = 4; /* more upper layers in a small index */
    params.ef_construction = 32;
    mn_space *space = NULL;
    CHECK_STATUS(mn_engine_space_create(engine, "source", 6, &params, &space), MN_OK);
    float v[DIM];
    char id[16], other[16], content[32];
    for (int i = 0; i < COUNT; i++) {
        snprintf(id, sizeof(id), "m%d", i);
        snprintf(content, sizeof(content), "%.*s", i % 9, "abcdefghi");
        te_vector((uint64_t)i, v, DIM);
        CHECK_STATUS(ts_write(space, 0, id, v, DIM, content), MN_OK);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "m%d", i * 5);
        te_vector(500u + (uint64_t)i, v, DIM);
        CHECK_STATUS(ts_write(space, 1, id, v, DIM, "u"), MN_OK);
        snprintf(id, sizeof(id), "m%d", i * 5 + 2);
        CHECK_STATUS(ts_delete(space, id), MN_OK);
    }
    /* Metadata on every third memory, through patches (a string, an int, a list). */
    for (int i = 0; i < COUNT; i += 3) {
        mn_meta_builder *b = NULL;
        CHECK_STATUS(mn_meta_builder_create(&b), MN_OK);
        const char *tags[2] = {"x", "yz"};
        const uint32_t tag_bytes[2] = {1, 2};
        mn_meta_builder_add_string(b, "kind", 4, i % 2 ? "fact" : "chat", 4);
        mn_meta_builder_add_int(b, "n", 1, i);
        if (i % 9 == 0) mn_meta_builder_add_strings(b, "tags", 4, tags, tag_bytes, 2);
        void *doc = NULL, *patch = NULL;
        size_t doc_bytes = 0, patch_bytes = 0;
        CHECK_STATUS(mn_meta_builder_finish(b, &doc, &doc_bytes, NULL), MN_OK);
        mn_meta_builder_destroy(b);
        CHECK_STATUS(mn_meta_patch_encode(doc, doc_bytes, NULL, NULL, 0, &patch, &patch_bytes, NULL),
                     MN_OK);
        snprintf(id, sizeof(id), "m%d", i);
        te_wait w;
        te_wait_init(&w);
        mn_status status = mn_space_patch_metadata(space, id, (uint32_t)strlen(id), patch,
                                                   patch_bytes, MN_SUBMIT_WAIT, te_wait_done, &w,
                                                   NULL);
        if (status == MN_OK) status = te_wait_for(&w);
        CHECK(status == MN_OK || (status == MN_ERR_NOT_FOUND && i % 5 == 2)); /* deleted */
        mn_meta_free(doc);
        mn_meta_free(patch);
    }
    /* Two field indexes: their definitions are in the stream, their contents rebuilt. */
    const char *const index_fields[2] = {"kind", "n"};
    for (int f = 0; f < 2; f++) {
        te_wait w;
        te_wait_init(&w);
        mn_status status = mn_space_index_create(space, index_fields[f],
                                                 (uint32_t)strlen(index_fields[f]),
                                                 f == 0 ? MN_INDEX_KEYWORD : MN_INDEX_NUMERIC,
                                                 MN_SUBMIT_WAIT, te_wait_done, &w);
        if (status == MN_OK) status = te_wait_for(&w);
        CHECK_STATUS(status, MN_OK);
    }
    for (int i = 0; i < 60; i++) {
        int a = (int)(rnd() % COUNT), b = (int)(rnd() % COUNT);
        if (a == b || a % 5 == 2 || b % 5 == 2) continue;
        snprintf(id, sizeof(id), "m%d", a);
        snprintf(other, sizeof(other), "m%d", b);
        CHECK_STATUS(ts_link(space, id, other, 0.1f + 0.9f * (float)(rnd() % 100) / 100.0f, NULL), MN_OK);
    }
    mn_bytes original = {0};
    CHECK_STATUS(mn_space_export(space, mn_bytes_write, &original), MN_OK);
    mn_space_release(space);
    layout l;
    parse(original.data, original.size, &l);
    CHECK(l.hnsw > 64 && l.assoc > l.hnsw && l.assoc + 40 <= original.size);

    size_t accepted = 0, rejected = 0, by_status[32] = {0};
    uint8_t *mutant = malloc(original.size * 2 + 64);
    for (int round = 0; round < ROUNDS; round++) {
        size_t size = original.size;
        memcpy(mutant, original.data, size);
        int resized = 0, touched_hnsw = 0, touched_assoc = 0;
        int edits = 1 + (int)(rnd() % 3);
        for (int e = 0; e < edits && size > 8; e++) {
            size_t at = rnd() % size;
            unsigned kind = (unsigned)(rnd() % 8);
            if (kind >= 6) { /* a targeted lie in a known field */
                size_t f = rnd() % l.field_count;
                at = l.fields[f];
                uint64_t value = l.widths[f] == 8 ? get_u64(mutant + at) : get_u32(mutant + at);
                static const uint64_t picks[] = {0, 1, 2, UINT64_MAX, UINT32_MAX, 0x7fffffff};
                switch (rnd() % 4) {
                case 0: value += 1; break;
                case 1: value -= 1; break;
                case 2: value = picks[rnd() % 6]; break;
                default: value ^= 1ull << (rnd() % (8u * l.widths[f])); break;
                }
                for (int i = 0; i < l.widths[f]; i++) mutant[at + i] = (uint8_t)(value >> (8 * i));
            } else {
                switch (kind) {
                case 0: mutant[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
                case 1: mutant[at] = (uint8_t)rnd(); break;
                case 2: memset(mutant + at, rnd() & 1 ? 0xFF : 0x00, size - at < 4 ? size - at : 4); break;
                case 3: size = at; resized = 1; break;
                case 4: {
                    size_t span = 1 + rnd() % 16;
                    if (at + span > size) span = size - at;
                    memmove(mutant + at + span, mutant + at, size - at);
                    size += span;
                    resized = 1;
                    break;
                }
                default: {
                    size_t span = 1 + rnd() % 16;
                    if (at + span > size) span = size - at;
                    memmove(mutant + at, mutant + at + span, size - at - span);
                    size -= span;
                    resized = 1;
                    break;
                }
                }
            }
            touched_hnsw |= at >= l.hnsw && at < l.assoc;
            touched_assoc |= at >= l.assoc && at < l.size - 8;
        }
        if (round % 4 != 0 && size >= 8) {
            if (!resized) {
                if (touched_hnsw) fix_trailer(mutant, l.hnsw, l.assoc);
                if (touched_assoc) fix_trailer(mutant, l.assoc, l.size - 8);
            }
            fix_trailer(mutant, 0, size);
        }
        mn_space *loaded = NULL;
        mn_status status = mn_engine_space_import_buffer(engine, "mutant", 6, mutant, size, &loaded);
        if (status == MN_OK) {
            accepted++;
            exercise(loaded);
            mn_space_release(loaded);
            CHECK_STATUS(mn_engine_space_drop(engine, "mutant", 6), MN_OK);
        } else {
            rejected++;
            by_status[(-status) & 31]++;
            CHECK(status == MN_ERR_TRUNCATED || status == MN_ERR_CORRUPT || status == MN_ERR_VERSION ||
                  status == MN_ERR_TOO_LARGE);
            if (!(status == MN_ERR_TRUNCATED || status == MN_ERR_CORRUPT || status == MN_ERR_VERSION ||
                  status == MN_ERR_TOO_LARGE)) {
                fprintf(stderr, "round %d: unexpected status %d (%s)\n", round, status, mn_status_string(status));
            }
        }
    }
    uint64_t spaces = 0;
    mn_engine_space_count(engine, &spaces);
    CHECK(spaces == 1); /* only "source": every failure created nothing */
    printf("engine_export_fuzz: %zu mutants rejected (%zu truncated, %zu corrupt, %zu version, "
           "%zu too large), %zu imported and exercised\n", rejected, by_status[-MN_ERR_TRUNCATED],
           by_status[-MN_ERR_CORRUPT], by_status[-MN_ERR_VERSION], by_status[-MN_ERR_TOO_LARGE], accepted);
    CHECK(by_status[-MN_ERR_CORRUPT] > ROUNDS / 4);
    CHECK(rejected > ROUNDS / 2);
    CHECK(accepted > 0); /* benign lies (a content byte, a weight) do import */
    free(mutant);
    free(original.data);
    mn_engine_destroy(engine);
    return te_report();
}
