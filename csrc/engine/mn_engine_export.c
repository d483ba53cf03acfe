/*
 * mn_engine_export.c: one self-describing stream per space: export, and import into a new space.
 *
 * The stream holds everything needed to rebuild the space exactly: its parameters, every memory
 * with the internal label the index knows it by, the next label to give out, the index itself
 * (mn_hnsw_save keeps slot numbers, deleted nodes and the entry point, so searches walk the same
 * graph) and the association table (mn_assoc_save). An imported space therefore answers every
 * get, search and recall exactly as the exported one did at the snapshot. The durable engine
 * uses this stream as its checkpoint format.
 *
 * Consistency: export queues an MN_OP_EXPORT marker through the space's mailbox. When the
 * worker reaches it (every earlier write applied, no later one started) it FREEZES the space:
 * the marker's op signals the exporting thread and the worker leaves the space scheduled but
 * on no run queue, so no worker runs it (its later ops wait in its mailbox) while the worker
 * itself goes on with its other spaces. The exporting thread reads the records, the index and
 * the table, calling the caller's `write` callback as it goes, then resumes the space
 * (mn_space_resume). Reads of the space go on throughout (they never wait for the writer).
 *
 * Why freeze and not park the worker: the callback may block for as long as the caller likes
 * (a multi-GB checkpoint written to a slow disk); a parked worker would stall every other
 * space it runs for that long, and an RCU read-side section held across the callback would
 * stall every synchronize_rcu in the process (index repairs on every worker). So no RCU
 * section spans a callback: the records are collected under one section and read after it
 * (a frozen space retires none), and the index is serialised in bounded chunks, each under
 * its own section (mn_hnsw_save). The price: the exported space's own writes wait until the
 * stream is written (they are queued, not lost); a copy-on-write snapshot would lift that at
 * the cost of copying the space.
 *
 * Import reads and validates the whole stream on the caller's thread first, into a detached
 * space (not yet in the table) whose index and table are the loaded ones; the records are then
 * built by the space's home worker (records live in worker arenas, which only their worker may
 * allocate from) through an MN_OP_RESTORE op, and the space is published under its name last.
 * Nothing on the reading path trusts the stream or asserts on it.
 *
 * Stream layout (little-endian):
 *
 *   offset  size  field                                         constant
 *   0       8     magic "MNEMOSPC"                              MN_EXPORT_MAGIC
 *   8       4     format version, 3 (1 and 2 are read too:      MN_EXPORT_VERSION
 *                 below)
 *   12      4     reserved, 0                                   MN_EXPORT_RESERVED
 *   16      4     dimension                                     MN_EXPORT_DIMENSION
 *   20      4     metric                                        MN_EXPORT_METRIC
 *   24      4     m                                             MN_EXPORT_M
 *   28      4     ef_construction                               MN_EXPORT_EF_CONSTRUCTION
 *   32      8     seed                                          MN_EXPORT_SEED
 *   40      8     memories (n)                                  MN_EXPORT_COUNT
 *   48      8     next label (every label is below it;          MN_EXPORT_NEXT_LABEL
 *                 1 ... MN_ENGINE_LABEL_MAX)
 *   56      8     sequence: the last write-ahead-log sequence   MN_EXPORT_SEQUENCE
 *                 number the space gave out (0 in memory); the
 *                 imported space continues from it
 *                 (0 ... MN_ENGINE_SEQUENCE_MAX)
 *   64      ...   n memory records, labels strictly ascending:
 *                   +0   8  label (1 ... next label - 1)        MN_EXPORT_REC_LABEL
 *                   +8   8  created_ns                          MN_EXPORT_REC_CREATED
 *                   +16  8  content bytes (<= the engine's      MN_EXPORT_REC_CONTENT_BYTES
 *                           content limit)
 *                   +24  4  id bytes (1 ... 256)                MN_EXPORT_REC_ID_BYTES
 *                   +28  4  metadata bytes (0: none;            MN_EXPORT_REC_METADATA_BYTES
 *                           <= MN_META_DOC_BYTES_MAX)
 *                   +32     id bytes, then content bytes, then  MN_EXPORT_REC_SIZE
 *                           the metadata document (mn_meta.h)
 *   ...     8     field index definitions d (0 ...              MN_EXPORT_DEFS_COUNT
 *                 MN_ENGINE_FIELD_INDEXES_MAX), u32, then a
 *                 reserved u32, 0
 *   ...           d definitions, in creation order:
 *                   +0   4  kind (1 keyword, 2 numeric)         MN_EXPORT_DEF_KIND
 *                   +4   4  name bytes (1 ... 64)               MN_EXPORT_DEF_NAME_BYTES
 *                   +8      the field name (mn_meta_name_validate) MN_EXPORT_DEF_SIZE
 *   ...           the index stream (mn_hnsw_io.c), whose live ids are exactly the n labels
 *   ...           the association stream (mn_assoc_io.c), every end a label below next label
 *   end-8   8     XXH64 (seed 0) of every byte before it, the sub-streams included
 *
 * Ids are unique; the index's parameters equal the header's. A link may name a label that is
 * no longer a memory (a delete that ran out of memory while unlinking): recall skips it.
 *
 * Version 2 (before field indexes) is version 3 without the definitions section: it imports
 * with no index but createdAt. Version 1 (before metadata) is version 2 with the word at +28
 * reserved, 0: a version 1 stream imports as memories without metadata. The indexes hold no
 * bytes in the stream: an import rebuilds them from the memories (createdAt always). Every metadata document read is checked with
 * the codec (mn_meta_validate); one it refuses makes the stream MN_ERR_CORRUPT.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/mn_bytes.h"
#include "assoc/mn_assoc_internal.h"
#include "engine/mn_engine_durability.h"
#include "engine/mn_engine_internal.h"
#include "hnsw/mn_hnsw_internal.h"
#include "util/mn_rcu.h"

#define MN_EXPORT_VERSION_1 1u
#define MN_EXPORT_VERSION_2 2u
#define MN_EXPORT_VERSION_3 3u
#define MN_EXPORT_DEFS_HEADER 8u
#define MN_EXPORT_DEFS_COUNT 0u
#define MN_EXPORT_DEF_KIND 0u
#define MN_EXPORT_DEF_NAME_BYTES 4u
#define MN_EXPORT_DEF_SIZE 8u
#define MN_EXPORT_HEADER_SIZE 64u
#define MN_EXPORT_MAGIC 0u
#define MN_EXPORT_VERSION 8u
#define MN_EXPORT_RESERVED 12u
#define MN_EXPORT_DIMENSION 16u
#define MN_EXPORT_METRIC 20u
#define MN_EXPORT_M 24u
#define MN_EXPORT_EF_CONSTRUCTION 28u
#define MN_EXPORT_SEED 32u
#define MN_EXPORT_COUNT 40u
#define MN_EXPORT_NEXT_LABEL 48u
#define MN_EXPORT_SEQUENCE 56u
#define MN_EXPORT_REC_LABEL 0u
#define MN_EXPORT_REC_CREATED 8u
#define MN_EXPORT_REC_CONTENT_BYTES 16u
#define MN_EXPORT_REC_ID_BYTES 24u
#define MN_EXPORT_REC_METADATA_BYTES 28u
#define MN_EXPORT_REC_SIZE 32u
#define MN_EXPORT_TRAILER_SIZE 8u
static const char mn_export_magic[8] = {'M', 'N', 'E', 'M', 'O', 'S', 'P', 'C'};


/* ---- the rendezvous between a waiting thread and the worker applying its op ---- */

typedef struct mn_rendezvous {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int completed;  /* the op's completion ran */
    mn_status status;
} mn_rendezvous;

static void mn_rendezvous_init(mn_rendezvous *r) {
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->completed = 0;
    r->status = MN_OK;
}

static void mn_rendezvous_destroy(mn_rendezvous *r) {
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
}

/* The completion of EXPORT and RESTORE ops (context: the rendezvous, first member). */
static void mn_rendezvous_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    mn_rendezvous *r = context;
    pthread_mutex_lock(&r->lock);
    r->status = status;
    r->completed = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void mn_rendezvous_wait_completed(mn_rendezvous *r) {
    pthread_mutex_lock(&r->lock);
    while (!r->completed) pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

/* ---- export ---- */

typedef struct mn_export_writer {
    mn_write_fn write;
    void *context;
    XXH64_state_t *hash;
} mn_export_writer;

static mn_status mn_export_emit(void *context, const void *data, size_t size) {
    mn_export_writer *writer = context;
    if (size == 0) return MN_OK;
    XXH64_update(writer->hash, data, size);
    return writer->write(writer->context, data, size);
}

static int mn_export_compare_label(const void *a, const void *b) {
    uint64_t x = (*(mn_record *const *)a)->label, y = (*(mn_record *const *)b)->label;
    return (x > y) - (x < y);
}

/* Every record in label order (the space is frozen, so none is retired while we hold them). */
static mn_status mn_export_records(struct mn_space *space, mn_record ***out, size_t *count) {
    mn_status status = mn_space_records(space, out, count);
    if (status == MN_OK && *count > 1)
        qsort(*out, *count, sizeof(mn_record *), mn_export_compare_label);
    return status;
}

/* The field index definitions (the space is frozen: its snapshot does not change). Copied
 * out of the read section first: the callback may block. */
static mn_status mn_export_definitions(struct mn_space *space, mn_export_writer *writer) {
    uint8_t bytes[MN_EXPORT_DEFS_HEADER +
                  MN_ENGINE_FIELD_INDEXES_MAX * (MN_EXPORT_DEF_SIZE + MN_FIELD_NAME_BYTES_MAX)];
    size_t size = MN_EXPORT_DEFS_HEADER;
    mn_rcu_read_lock();
    const mn_field_snapshot *snapshot = mn_field_indexes_snapshot(space->fields);
    uint32_t count = mn_field_snapshot_count(snapshot);
    for (uint32_t i = 0; i < count; i++) {
        mn_field_index_info info;
        mn_field_index_describe(mn_field_snapshot_at(snapshot, i), &info);
        mn_put_u32(bytes + size + MN_EXPORT_DEF_KIND, (uint32_t)info.kind);
        mn_put_u32(bytes + size + MN_EXPORT_DEF_NAME_BYTES, info.name_length);
        memcpy(bytes + size + MN_EXPORT_DEF_SIZE, info.name, info.name_length);
        size += MN_EXPORT_DEF_SIZE + info.name_length;
    }
    mn_rcu_read_unlock();
    mn_put_u32(bytes + MN_EXPORT_DEFS_COUNT, count);
    mn_put_u32(bytes + MN_EXPORT_DEFS_COUNT + 4u, 0);
    return mn_export_emit(writer, bytes, size);
}

/* Writes the stream; the space is frozen (no runner). */
static mn_status mn_export_write(struct mn_space *space, mn_write_fn write, void *context) {
    mn_export_writer writer = {write, context, XXH64_createState()};
    if (!writer.hash) return MN_ERR_NO_MEMORY;
    XXH64_reset(writer.hash, 0);
    mn_record **records = NULL;
    size_t count = 0;
    mn_status status = mn_export_records(space, &records, &count);
    if (status != MN_OK) goto done;
    uint8_t header[MN_EXPORT_HEADER_SIZE] = {0};
    memcpy(header + MN_EXPORT_MAGIC, mn_export_magic, 8);
    mn_put_u32(header + MN_EXPORT_VERSION, MN_EXPORT_VERSION_3);
    mn_put_u32(header + MN_EXPORT_DIMENSION, space->params.dimension);
    mn_put_u32(header + MN_EXPORT_METRIC, (uint32_t)space->params.metric);
    mn_put_u32(header + MN_EXPORT_M, space->params.m);
    mn_put_u32(header + MN_EXPORT_EF_CONSTRUCTION, space->params.ef_construction);
    mn_put_u64(header + MN_EXPORT_SEED, space->params.seed);
    mn_put_u64(header + MN_EXPORT_COUNT, count);
    mn_put_u64(header + MN_EXPORT_NEXT_LABEL, space->next_label);
    mn_put_u64(header + MN_EXPORT_SEQUENCE, space->log_sequence); /* frozen: no runner */
    status = mn_export_emit(&writer, header, sizeof(header));
    for (size_t i = 0; i < count && status == MN_OK; i++) {
        const mn_record *record = records[i];
        uint8_t fixed[MN_EXPORT_REC_SIZE] = {0};
        mn_put_u64(fixed + MN_EXPORT_REC_LABEL, record->label);
        mn_put_u64(fixed + MN_EXPORT_REC_CREATED, (uint64_t)record->created_ns);
        mn_put_u64(fixed + MN_EXPORT_REC_CONTENT_BYTES, record->content_bytes);
        mn_put_u32(fixed + MN_EXPORT_REC_ID_BYTES, record->id_bytes);
        mn_put_u32(fixed + MN_EXPORT_REC_METADATA_BYTES, record->metadata_bytes);
        status = mn_export_emit(&writer, fixed, sizeof(fixed));
        if (status == MN_OK) status = mn_export_emit(&writer, record->data, record->id_bytes);
        if (status == MN_OK) {
            status = mn_export_emit(&writer, mn_record_content(record),
                                    (size_t)record->content_bytes);
        }
        if (status == MN_OK) {
            status = mn_export_emit(&writer, mn_record_metadata(record), record->metadata_bytes);
        }
    }
    if (status == MN_OK) status = mn_export_definitions(space, &writer);
    if (status == MN_OK) status = mn_hnsw_save(space->index, mn_export_emit, &writer);
    if (status == MN_OK) status = mn_assoc_save(space->assoc, mn_export_emit, &writer);
    if (status == MN_OK) {
        uint8_t trailer[MN_EXPORT_TRAILER_SIZE];
        mn_put_u64(trailer, XXH64_digest(writer.hash));
        status = write(context, trailer, sizeof(trailer));
    }
done:
    free(records);
    XXH64_freeState(writer.hash);
    return status;
}

struct mn_space_freeze {
    mn_rendezvous rendezvous; /* first: the marker's completion context */
    struct mn_space *space;
};

mn_status mn_space_freeze_begin(struct mn_space *space, mn_space_freeze **out) {
    *out = NULL;
    mn_space_freeze *freeze = malloc(sizeof(*freeze));
    mn_op *op = mn_engine_op_new(MN_OP_EXPORT, 0, 0, 0, 0);
    if (!freeze || !op) {
        free(freeze);
        free(op);
        return MN_ERR_NO_MEMORY;
    }
    op->id_offsets[0] = 0;
    op->content_offsets[0] = 0;
    mn_rendezvous_init(&freeze->rendezvous);
    freeze->space = space;
    mn_status status = mn_engine_submit_op(space, op, MN_SUBMIT_WAIT, mn_rendezvous_done,
                                           &freeze->rendezvous);
    if (status != MN_OK) {
        mn_rendezvous_destroy(&freeze->rendezvous);
        free(freeze);
        return status;
    }
    *out = freeze;
    return MN_OK;
}

mn_status mn_space_freeze_wait(mn_space_freeze *freeze) {
    /* The runner completes the marker with MN_OK once it has frozen the space and let go of
     * it (mn_worker_run); any other status: the marker was never applied. */
    mn_rendezvous_wait_completed(&freeze->rendezvous);
    return freeze->rendezvous.status;
}

mn_status mn_space_export_frozen(struct mn_space *space, mn_write_fn write, void *context) {
    return mn_export_write(space, write, context);
}

void mn_space_freeze_end(mn_space_freeze *freeze) {
    mn_rendezvous *r = &freeze->rendezvous;
    mn_rendezvous_wait_completed(r);
    if (r->status == MN_OK) mn_space_resume(freeze->space->engine, freeze->space);
    mn_rendezvous_destroy(r);
    free(freeze);
}

mn_status mn_space_export(mn_space *space, mn_write_fn write, void *context) {
    if (!space || !write) return MN_ERR_INVALID;
    mn_space_freeze *freeze = NULL;
    mn_status status = mn_space_freeze_begin(space, &freeze);
    if (status != MN_OK) return status;
    status = mn_space_freeze_wait(freeze);
    if (status == MN_OK) status = mn_space_export_frozen(space, write, context);
    mn_space_freeze_end(freeze);
    return status;
}

/* ---- import ---- */

typedef struct mn_import_entry {
    uint64_t label;
    int64_t created_ns;
    uint64_t offset;          /* of the id in `bytes`; the content, then the metadata follow */
    uint64_t content_bytes;
    uint32_t id_bytes;
    uint32_t metadata_bytes;
} mn_import_entry;

/* The parsed memories, handed to the RESTORE op (rendezvous first: the completion's context). */
typedef struct mn_import_state {
    mn_rendezvous rendezvous;
    mn_import_entry *entries;
    uint64_t count, capacity;
    uint8_t *bytes;
    uint64_t bytes_size, bytes_capacity;
    uint64_t next_label;
    uint64_t sequence;
    uint32_t definition_count; /* field indexes to create (version 3) */
    uint32_t definition_kinds[MN_ENGINE_FIELD_INDEXES_MAX];
    uint32_t definition_name_bytes[MN_ENGINE_FIELD_INDEXES_MAX];
    char definition_names[MN_ENGINE_FIELD_INDEXES_MAX][MN_FIELD_NAME_BYTES_MAX];
} mn_import_state;

typedef struct mn_import_reader {
    mn_read_fn read;
    void *context;
    XXH64_state_t *hash;
} mn_import_reader;

static mn_status mn_import_take(void *context, void *data, size_t size) {
    mn_import_reader *reader = context;
    if (size == 0) return MN_OK;
    mn_status status = reader->read(reader->context, data, size);
    if (status == MN_OK) XXH64_update(reader->hash, data, size);
    return status;
}

/* An empty iteration: a restored index is filled with the memories afterwards. */
static mn_status mn_import_no_docs(void *context, uint64_t *label, const uint8_t **doc,
                                   size_t *doc_bytes, bool *more) {
    (void)context;
    (void)label;
    (void)doc;
    (void)doc_bytes;
    *more = false;
    return MN_OK;
}

mn_status mn_space_apply_restore(struct mn_space *space, mn_op *op, mn_worker *worker) {
    mn_import_state *state = op->context;
    MN_ASSERT(state != NULL);
    /* Sized once for the whole stream rather than doubled along the way. */
    mn_space_tables_fit(space, atomic_load_explicit(&space->count, memory_order_relaxed) +
                                   state->count);
    for (uint64_t i = 0; i < state->count; i++) {
        const mn_import_entry *e = &state->entries[i];
        const uint8_t *id = state->bytes + e->offset;
        mn_status status = mn_space_restore_record(space, worker, e->label, (const char *)id,
                                                   e->id_bytes, id + e->id_bytes,
                                                   e->content_bytes,
                                                   id + e->id_bytes + e->content_bytes,
                                                   e->metadata_bytes, e->created_ns);
        if (status != MN_OK) return status;
    }
    space->next_label = state->next_label;
    space->log_sequence = state->sequence;
    /* The field indexes: their definitions on the empty set, then every memory in one
     * transaction (the space is not published: nobody reads them yet). */
    for (uint32_t i = 0; i < state->definition_count; i++) {
        mn_status status = mn_field_indexes_add(space->fields, state->definition_names[i],
                                                state->definition_name_bytes[i],
                                                (mn_field_index_kind)state->definition_kinds[i],
                                                mn_import_no_docs, NULL);
        if (status != MN_OK) return status == MN_ERR_NO_MEMORY ? status : MN_ERR_CORRUPT;
    }
    return mn_space_index_restore(space);
}

/* Reads a version 3 stream's field index definitions, checking each. */
static mn_status mn_import_definitions(mn_import_reader *reader, mn_import_state *state) {
    uint8_t header[MN_EXPORT_DEFS_HEADER];
    mn_status status = mn_import_take(reader, header, sizeof(header));
    if (status != MN_OK) return status;
    uint32_t count = mn_get_u32(header + MN_EXPORT_DEFS_COUNT);
    if (count > MN_ENGINE_FIELD_INDEXES_MAX || mn_get_u32(header + MN_EXPORT_DEFS_COUNT + 4u) != 0) {
        return MN_ERR_CORRUPT;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint8_t fixed[MN_EXPORT_DEF_SIZE];
        if ((status = mn_import_take(reader, fixed, sizeof(fixed))) != MN_OK) return status;
        uint32_t kind = mn_get_u32(fixed + MN_EXPORT_DEF_KIND);
        uint32_t name_bytes = mn_get_u32(fixed + MN_EXPORT_DEF_NAME_BYTES);
        if ((kind != MN_INDEX_KEYWORD && kind != MN_INDEX_NUMERIC) || name_bytes == 0 ||
            name_bytes > MN_FIELD_NAME_BYTES_MAX) {
            return MN_ERR_CORRUPT;
        }
        char *name = state->definition_names[i];
        if ((status = mn_import_take(reader, name, name_bytes)) != MN_OK) return status;
        if (mn_meta_name_validate(name, name_bytes, NULL) != MN_OK) return MN_ERR_CORRUPT;
        for (uint32_t j = 0; j < i; j++) {
            if (state->definition_name_bytes[j] == name_bytes &&
                memcmp(state->definition_names[j], name, name_bytes) == 0) {
                return MN_ERR_CORRUPT; /* one index per field */
            }
        }
        state->definition_kinds[i] = kind;
        state->definition_name_bytes[i] = name_bytes;
    }
    state->definition_count = count;
    return MN_OK;
}

/* Reads the n memory records of a stream of `version` into `state`, checking each. */
static mn_status mn_import_memories(struct mn_engine *engine, mn_import_reader *reader,
                                    mn_import_state *state, uint64_t count, uint32_t version) {
    uint64_t previous = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint8_t fixed[MN_EXPORT_REC_SIZE];
        mn_status status = mn_import_take(reader, fixed, sizeof(fixed));
        if (status != MN_OK) return status;
        uint64_t label = mn_get_u64(fixed + MN_EXPORT_REC_LABEL);
        uint64_t content_bytes = mn_get_u64(fixed + MN_EXPORT_REC_CONTENT_BYTES);
        uint32_t id_bytes = mn_get_u32(fixed + MN_EXPORT_REC_ID_BYTES);
        /* Version 1: a reserved word, 0. */
        uint32_t metadata_bytes = mn_get_u32(fixed + MN_EXPORT_REC_METADATA_BYTES);
        if (label <= previous || label >= state->next_label || id_bytes == 0 ||
            id_bytes > MN_ENGINE_ID_BYTES_MAX || content_bytes > MN_ENGINE_CONTENT_BYTES_MAX ||
            metadata_bytes > MN_META_DOC_BYTES_MAX ||
            (version == MN_EXPORT_VERSION_1 && metadata_bytes != 0)) {
            return MN_ERR_CORRUPT;
        }
        if (content_bytes > engine->options.content_bytes_max) return MN_ERR_TOO_LARGE;
        previous = label;
        /* Storage grows as records arrive, so a forged count cannot reserve memory. */
        if (state->count == state->capacity) {
            uint64_t capacity = state->capacity ? state->capacity * 2 : 64;
            mn_import_entry *grown = realloc(state->entries,
                                             (size_t)capacity * sizeof(mn_import_entry));
            if (!grown) return MN_ERR_NO_MEMORY;
            state->entries = grown;
            state->capacity = capacity;
        }
        uint64_t need = state->bytes_size + id_bytes + content_bytes + metadata_bytes;
        if (need > state->bytes_capacity) {
            uint64_t capacity = state->bytes_capacity ? state->bytes_capacity : 4096;
            while (capacity < need) capacity *= 2;
            uint8_t *grown = realloc(state->bytes, (size_t)capacity);
            if (!grown) return MN_ERR_NO_MEMORY;
            state->bytes = grown;
            state->bytes_capacity = capacity;
        }
        uint8_t *target = state->bytes + state->bytes_size;
        status = mn_import_take(reader, target,
                                (size_t)(id_bytes + content_bytes + metadata_bytes));
        if (status != MN_OK) return status;
        if (metadata_bytes != 0 &&
            mn_engine_meta_check_doc(target + id_bytes + content_bytes, metadata_bytes, NULL) !=
                MN_OK) {
            return MN_ERR_CORRUPT;
        }
        state->entries[state->count++] = (mn_import_entry){
            .label = label,
            .created_ns = (int64_t)mn_get_u64(fixed + MN_EXPORT_REC_CREATED),
            .offset = state->bytes_size,
            .content_bytes = content_bytes,
            .id_bytes = id_bytes,
            .metadata_bytes = metadata_bytes,
        };
        state->bytes_size = need;
    }
    return MN_OK;
}

/* MN_ERR_CORRUPT if two memories share an id. */
static mn_status mn_import_unique_ids(const mn_import_state *state) {
    if (state->count < 2) return MN_OK;
    uint64_t capacity = 16;
    while (capacity < state->count * 2) capacity <<= 1;
    uint64_t *slots = malloc((size_t)capacity * sizeof(uint64_t));
    if (!slots) return MN_ERR_NO_MEMORY;
    for (uint64_t i = 0; i < capacity; i++) slots[i] = UINT64_MAX;
    mn_status status = MN_OK;
    for (uint64_t i = 0; i < state->count && status == MN_OK; i++) {
        const mn_import_entry *e = &state->entries[i];
        const uint8_t *id = state->bytes + e->offset;
        uint64_t slot = XXH64(id, e->id_bytes, 0) & (capacity - 1);
        while (slots[slot] != UINT64_MAX) {
            const mn_import_entry *other = &state->entries[slots[slot]];
            if (other->id_bytes == e->id_bytes &&
                memcmp(state->bytes + other->offset, id, e->id_bytes) == 0) {
                status = MN_ERR_CORRUPT;
                break;
            }
            slot = (slot + 1) & (capacity - 1);
        }
        if (status == MN_OK) slots[slot] = i;
    }
    free(slots);
    return status;
}

/* The index's live ids must be exactly the memories' labels, its parameters the header's. */
static mn_status mn_import_check_index(const mn_hnsw *index, const mn_hnsw_params *header,
                                       const mn_import_state *state) {
    mn_hnsw_params params;
    mn_hnsw_params_get(index, &params);
    if (params.dimension != header->dimension || params.metric != header->metric ||
        params.m != header->m || params.ef_construction != header->ef_construction ||
        params.seed != header->seed) {
        return MN_ERR_CORRUPT;
    }
    uint64_t live = 0;
    mn_hnsw_count(index, &live);
    if (live != state->count) return MN_ERR_CORRUPT;
    for (uint64_t i = 0; i < state->count; i++) {
        int present = 0;
        mn_hnsw_contains(index, state->entries[i].label, &present);
        if (!present) return MN_ERR_CORRUPT; /* labels are distinct, so the sets are equal */
    }
    return MN_OK;
}

typedef struct mn_import_link_check {
    uint64_t next_label;
    int bad;
} mn_import_link_check;

static void mn_import_check_link(void *context, uint64_t id, const mn_assoc_list *list) {
    mn_import_link_check *check = context;
    if (id == 0 || id >= check->next_label) check->bad = 1;
    for (uint32_t i = 0; i < list->out_count + list->in_count; i++) {
        if (list->links[i].id == 0 || list->links[i].id >= check->next_label) check->bad = 1;
    }
}

/* Imports from `read`; when `whole` is not NULL it is `read`'s buffer (context), and the stream
 * must end exactly at its end. */
static mn_status mn_import(mn_engine *engine, const char *name, uint32_t name_bytes,
                           mn_read_fn read, void *context, mn_buffer_reader *whole,
                           mn_space **out) {
    if (out) *out = NULL;
    if (!engine || !read) return MN_ERR_INVALID;
    uint32_t home = 0;
    mn_status status = mn_engine_space_home(engine, name, name_bytes, &home); /* checks name */
    if (status != MN_OK) return status;
    mn_import_reader reader = {read, context, XXH64_createState()};
    if (!reader.hash) return MN_ERR_NO_MEMORY;
    XXH64_reset(reader.hash, 0);
    mn_import_state state;
    memset(&state, 0, sizeof(state));
    mn_rendezvous_init(&state.rendezvous);
    mn_hnsw *index = NULL;
    mn_assoc *assoc = NULL;
    struct mn_space *space = NULL;

    uint8_t header[MN_EXPORT_HEADER_SIZE];
    if ((status = mn_import_take(&reader, header, sizeof(header))) != MN_OK) goto done;
    uint32_t version = mn_get_u32(header + MN_EXPORT_VERSION);
    if (memcmp(header + MN_EXPORT_MAGIC, mn_export_magic, 8) != 0 ||
        (version != MN_EXPORT_VERSION_1 && version != MN_EXPORT_VERSION_2 &&
         version != MN_EXPORT_VERSION_3)) {
        status = MN_ERR_VERSION;
        goto done;
    }
    mn_hnsw_params params;
    mn_hnsw_params_default(1, MN_METRIC_L2, &params);
    params.dimension = mn_get_u32(header + MN_EXPORT_DIMENSION);
    params.metric = (mn_metric)mn_get_u32(header + MN_EXPORT_METRIC);
    params.m = mn_get_u32(header + MN_EXPORT_M);
    params.ef_construction = mn_get_u32(header + MN_EXPORT_EF_CONSTRUCTION);
    params.seed = mn_get_u64(header + MN_EXPORT_SEED);
    uint64_t count = mn_get_u64(header + MN_EXPORT_COUNT);
    state.next_label = mn_get_u64(header + MN_EXPORT_NEXT_LABEL);
    state.sequence = mn_get_u64(header + MN_EXPORT_SEQUENCE);
    if (mn_get_u32(header + MN_EXPORT_RESERVED) != 0 || params.dimension == 0 ||
        params.dimension > MN_DIMENSION_MAX ||
        (params.metric != MN_METRIC_L2 && params.metric != MN_METRIC_IP &&
         params.metric != MN_METRIC_COSINE) ||
        params.m < MN_HNSW_M_MIN || params.m > MN_HNSW_M_MAX || params.ef_construction == 0 ||
        params.ef_construction > MN_HNSW_EF_MAX || count > MN_EXPORT_MEMORIES_MAX ||
        state.next_label == 0 || count >= state.next_label ||
        state.next_label > MN_ENGINE_LABEL_MAX || state.sequence > MN_ENGINE_SEQUENCE_MAX) {
        /* Out-of-range counters would wrap on the next write (or, for the sequence, sort
         * after the drop record): no export of a real space holds them. */
        status = MN_ERR_CORRUPT;
        goto done;
    }
    if ((status = mn_import_memories(engine, &reader, &state, count, version)) != MN_OK) goto done;
    if ((status = mn_import_unique_ids(&state)) != MN_OK) goto done;
    if (version == MN_EXPORT_VERSION_3 &&
        (status = mn_import_definitions(&reader, &state)) != MN_OK) {
        goto done;
    }
    if (whole) {
        /* In place: the index stream is not copied again (mn_hnsw_load would, to check its
         * checksum before allocating for it). */
        size_t consumed = 0;
        status = mn_hnsw_load_view(whole->data + whole->offset, whole->size - whole->offset,
                                   &consumed, &index);
        if (status != MN_OK) goto done;
        XXH64_update(reader.hash, whole->data + whole->offset, consumed);
        whole->offset += consumed;
    } else if ((status = mn_hnsw_load(mn_import_take, &reader, &index)) != MN_OK) {
        goto done;
    }
    if ((status = mn_import_check_index(index, &params, &state)) != MN_OK) goto done;
    if ((status = mn_assoc_load(mn_import_take, &reader, &assoc)) != MN_OK) goto done;
    mn_import_link_check links = {state.next_label, 0};
    mn_assoc_visit(assoc, mn_import_check_link, &links);
    if (links.bad) {
        status = MN_ERR_CORRUPT;
        goto done;
    }
    uint64_t digest = XXH64_digest(reader.hash);
    uint8_t trailer[MN_EXPORT_TRAILER_SIZE];
    if ((status = read(context, trailer, sizeof(trailer))) != MN_OK) goto done;
    if (mn_get_u64(trailer) != digest || (whole && whole->offset != whole->size)) {
        status = MN_ERR_CORRUPT; /* a checksum mismatch, or bytes after the stream */
        goto done;
    }

    /* The stream is sound: build the space around the loaded index and table. */
    status = mn_engine_space_new_detached(engine, name, name_bytes, &params, &space);
    if (status != MN_OK) goto done;
    mn_hnsw_destroy(space->index); /* the empty ones nobody has seen */
    mn_assoc_destroy(space->assoc);
    space->index = index;
    space->assoc = assoc;
    index = NULL;
    assoc = NULL;
    mn_hnsw_params_get(space->index, &space->params);
    mn_op *op = mn_engine_op_new(MN_OP_RESTORE, 0, 0, 0, 0);
    if (!op) {
        status = MN_ERR_NO_MEMORY;
        goto done;
    }
    op->id_offsets[0] = 0;
    op->content_offsets[0] = 0;
    status = mn_engine_submit_op(space, op, MN_SUBMIT_WAIT, mn_rendezvous_done, &state);
    if (status != MN_OK) goto done;
    mn_rendezvous_wait_completed(&state.rendezvous);
    status = state.rendezvous.status;
    if (status != MN_OK) goto done;
    status = engine->durability->publish_imported(engine, space, out); /* (+ checkpoint) */

done:
    if (space) mn_space_unref(space); /* the detached reference: frees it on failure */
    mn_assoc_destroy(assoc);
    mn_hnsw_destroy(index);
    free(state.entries);
    free(state.bytes);
    mn_rendezvous_destroy(&state.rendezvous);
    XXH64_freeState(reader.hash);
    return status;
}

mn_status mn_engine_space_import(mn_engine *engine, const char *name, uint32_t name_bytes,
                                 mn_read_fn read, void *context, mn_space **out) {
    return mn_import(engine, name, name_bytes, read, context, NULL, out);
}

mn_status mn_engine_space_import_buffer(mn_engine *engine, const char *name,
                                        uint32_t name_bytes, const void *data, size_t size,
                                        mn_space **out) {
    if (out) *out = NULL;
    if (!engine || (!data && size > 0)) return MN_ERR_INVALID;
    mn_buffer_reader buffer = {data, size, 0};
    return mn_import(engine, name, name_bytes, mn_buffer_read, &buffer, &buffer, out);
}
