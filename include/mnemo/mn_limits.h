/*
 * mn_limits.h: every limit of the Mnemo C core, with the reason for its value.
 *
 * After SQLite's sqliteLimit.h: one place to read what the engine accepts. Relations between
 * limits are checked at compile time at the bottom of this file.
 */
#ifndef MN_LIMITS_H
#define MN_LIMITS_H

/** Cache line size assumed for padding shared structures (x86-64 and most ARM64). */
#define MN_CACHE_LINE_SIZE 64

/** Largest vector dimension. 4096 covers every common text and image embedding model. */
#define MN_DIMENSION_MAX 4096

/** Smallest and largest HNSW M (links per node above layer 0; layer 0 keeps 2*M). */
#define MN_HNSW_M_MIN 2
#define MN_HNSW_M_MAX 128

/** Largest ef (search beam) and ef_construction: bounds the work of one search. */
#define MN_HNSW_EF_MAX 32768

/** Largest k a search may ask for. */
#define MN_HNSW_K_MAX 32768

/** Highest HNSW level (level 0 is the base layer). With M >= 2, P(level > 32) < 2^-32. */
#define MN_HNSW_LEVEL_MAX 32

/**
 * Node storage grows in segments that never move: segment s holds
 * MN_HNSW_SEGMENT_BASE << s nodes, so MN_HNSW_SEGMENTS_MAX segments hold MN_HNSW_NODES_MAX.
 */
#define MN_HNSW_SEGMENT_BASE_LOG2 10
#define MN_HNSW_SEGMENT_BASE (1u << MN_HNSW_SEGMENT_BASE_LOG2)
#define MN_HNSW_SEGMENTS_MAX 21
/** Largest number of node slots in one index (slots are uint32, UINT32_MAX means "none"). */
#define MN_HNSW_NODES_MAX ((uint32_t)(MN_HNSW_SEGMENT_BASE * ((1u << MN_HNSW_SEGMENTS_MAX) - 1u)))

/** Largest number of threads one mn_hnsw_insert_batch call may use. */
#define MN_HNSW_BATCH_THREADS_MAX 256

/** Above this much node storage a search prefetches more of each vector than its first line. */
#define MN_HNSW_PREFETCH_DEEP_BYTES (8u * 1024u * 1024u)

/**
 * Lines of each vector a search then requests ahead (the hardware prefetcher streams the rest):
 * requesting all 24 lines of a 384-d vector, four vectors ahead, fills the core's line-fill
 * buffers and stalls on its own prefetches (QPS 7% lower on wordnet384 and clustered784).
 */
#define MN_HNSW_PREFETCH_LINES 4u

/** Retired neighbour lists collected before one call_rcu hand-off (bounds deferred memory). */
#define MN_HNSW_RETIRE_BATCH 256

/**
 * Removed nodes stay in the graph (traversable, never returned) until they are a fifth of the
 * live nodes (or MN_HNSW_REPAIR_MIN of them); then one repair pass relinks their neighbours and
 * frees their slots for reuse. A fifth is the threshold vector stores commonly vacuum at: a
 * removed node still helps searches navigate, and each repair trades a little graph quality for
 * memory (wordnet384, recall@10 at ef 40 after churning a third: 0.973, unchanged).
 */
#define MN_HNSW_REPAIR_DIVISOR 5
#define MN_HNSW_REPAIR_MIN 32

/**
 * An in-place update (mn_hnsw_update) publishes the new vector out of line and copies it into
 * the node only after a grace period; this many updated nodes share one grace period. Bounds
 * the out-of-line copies (at most this many vectors) and the time searches spend checking for
 * them, while amortising synchronize_rcu over many updates.
 */
#define MN_HNSW_SETTLE_BATCH 256

/**
 * Filtered search (mn_hnsw_search_filtered). A candidate's neighbourhood is sparse when fewer
 * than 1 / MN_HNSW_FILTER_SPARSE_DIVISOR of its layer-0 list matches the filter; the search then
 * looks through its non-matching neighbours at their neighbours (two hops, as ACORN-1),
 * collecting matches until M * MN_HNSW_FILTER_EXPAND_M of them are in reach of that candidate;
 * otherwise it scores them as candidates, as the unfiltered search does. Chosen on sift5k and wordnet384 (test_hnsw_filter, docs/filters.md).
 */
#define MN_HNSW_FILTER_SPARSE_DIVISOR 4
#define MN_HNSW_FILTER_EXPAND_M 2

/**
 * The engine's strategy threshold (a suggestion from the measurements, for the caller of
 * mn_hnsw_search_filtered / mn_hnsw_search_ids): answer a filter by an exact scan of its
 * matching ids when it is estimated to match at most MN_HNSW_FILTER_SCAN_MATCHES_MAX ids, or at
 * most 1 / MN_HNSW_FILTER_SCAN_FRACTION_DIVISOR of the live ids; otherwise by the filtered
 * traversal. Measured single-thread (bench_hnsw --filter-selectivity, docs/filters.md): on
 * wordnet384 (30,000 x 384) the scan of 3,000 matches (10%) ran 1.3x the traversal's QPS at
 * recall 0.95 and the traversal of 15,000 matches (50%) 18x the scan's; on sift5k (5,000 x 128)
 * the scan won up to 2,500 matches (50%, 1.4x). Below about 2% the traversal needs a wide beam
 * (ef 160 for recall 0.95 at 1% of wordnet384, 80x slower than the scan of its 300 matches).
 */
#define MN_HNSW_FILTER_SCAN_MATCHES_MAX 4096
#define MN_HNSW_FILTER_SCAN_FRACTION_DIVISOR 50

/** Ids an exact scan (mn_hnsw_search_ids) looks up per hold of the id table's lock: bounds how
 *  long a scan holds up inserts and removes. */
#define MN_HNSW_IDS_CHUNK 64

/** mn_hnsw_search_id_bitmap walks every slot (testing each node's id against the bitmap) when
 *  the set holds at least 1 / MN_HNSW_BITMAP_WALK_DIVISOR of the slots, and looks the set ids up
 *  in the id table otherwise: a header read per slot (streamed) against a hash lookup per
 *  member. Measured on sift5k and wordnet384 (bench_engine_filter --ann, docs/filters.md,
 *  "Filtered search speed"). */
#define MN_HNSW_BITMAP_WALK_DIVISOR 4

#if MN_HNSW_M_MAX * 2 > 1024
#error "layer-0 lists (2*M) must stay small enough for stack scratch"
#endif
#if MN_HNSW_SEGMENT_BASE_LOG2 + MN_HNSW_SEGMENTS_MAX > 31
#error "slot numbers must fit in 31 bits"
#endif

/* ---- Engine: memory spaces, memories and shard workers (mn_engine.h) ---- */

/** Longest space name in bytes (UTF-8): long enough for "tenant/agent/context" paths. */
#define MN_ENGINE_NAME_BYTES_MAX 128
/** Longest memory id in bytes: fits UUIDs, URLs and content hashes with room to spare. */
#define MN_ENGINE_ID_BYTES_MAX 256
/** Default largest content of one memory (1 MiB): a long document chunk, not a file store. */
#define MN_ENGINE_CONTENT_BYTES_DEFAULT (1u << 20)
/** Largest content limit an engine may be configured with (64 MiB): one record, one copy. */
#define MN_ENGINE_CONTENT_BYTES_MAX (64u << 20)
/** Most memories in one batch: the batch is validated, copied and applied as one unit. */
#define MN_ENGINE_BATCH_COUNT_MAX (1u << 20)
/** Default and allowed mailbox depths (entries per space; a power of two, Vyukov ring). */
#define MN_ENGINE_MAILBOX_DEPTH_DEFAULT 1024u
#define MN_ENGINE_MAILBOX_DEPTH_MIN 2u
#define MN_ENGINE_MAILBOX_DEPTH_MAX (1u << 20)
/**
 * Default most bytes queued in one space's mailbox (its ops' packed copies: vectors, ids,
 * contents). The mailbox depth bounds how many writes wait; this bounds what they weigh, so a
 * burst of large batches or contents cannot queue gigabytes behind a busy worker. A submit
 * past it is back-pressure (MN_ERR_FULL, or a wait with MN_SUBMIT_WAIT); one op larger than the
 * limit can never queue (MN_ERR_TOO_LARGE). 1 GiB holds a batch of 500,000 memories of
 * dimension 512; configurable per engine (mn_engine_options.queue_bytes_max).
 */
#define MN_ENGINE_QUEUE_BYTES_DEFAULT (1ull << 30)
/**
 * Default most bytes one space may hold (records, contents and ids, the index's node storage,
 * lists and id table: mn_space_stats.bytes) plus what its queue would add. A write that would
 * take a space past it fails with MN_ERR_TOO_LARGE; deletes are always accepted. 64 GiB keeps a
 * runaway space from taking the machine while leaving room for ~40 M memories of dimension 384;
 * configurable per engine (mn_engine_options.space_bytes_max).
 */
#define MN_ENGINE_SPACE_BYTES_DEFAULT (64ull << 30)
/** Most shard workers: one per CPU of a large two-socket machine. */
#define MN_ENGINE_WORKERS_MAX 256u
/** Operations a worker applies from one space before it moves on (fairness between spaces).
 *  A cold space has one or two queued and takes them all; a hot one gets this many per turn,
 *  applied as one group (upserts coalesced per id, linking shared with idle workers): with
 *  hundreds of cold spaces queued ahead of it, a turn of 64 left a hot space's mailbox full
 *  and its producers blocked (docs/engine.md, skew). */
#define MN_ENGINE_RUN_QUANTUM 256u
/** Default smallest batch that idle workers help to link: waking a helper costs tens of
 *  microseconds, linking 64 memories milliseconds, so smaller batches are not worth it. */
#define MN_ENGINE_PARALLEL_BATCH_DEFAULT 64u
/** How long an idle worker sleeps before it looks for work to steal again, right after it
 *  last found work (and always while its log has unsynced data or the engine is stopping). */
#define MN_ENGINE_IDLE_WAIT_US 1000u
/** The longest such sleep: each look that finds nothing doubles the sleep up to this. A
 *  worker woken every millisecond on every CPU preempted the server's event loops 1,000 times
 *  a second per CPU and cost searches over HTTP 4-12% of their rate (docs/engine.md). */
#define MN_ENGINE_IDLE_WAIT_MAX_US 16000u
/** Search beam when the caller passes ef = 0: max(k, this), a moderate beam for small k. */
#define MN_ENGINE_SEARCH_EF_DEFAULT 64u
/** Searches with k up to this use stack scratch; larger k allocates per call. */
#define MN_ENGINE_SEARCH_STACK_K 64u
/** Worker arenas: chunks of this size, carved into power-of-two classes 64 B ... 64 KiB. */
#define MN_ENGINE_ARENA_CHUNK_BYTES (1u << 20)
#define MN_ENGINE_ARENA_CLASS_MIN_LOG2 6u
#define MN_ENGINE_ARENA_CLASSES 11u

/**
 * Largest label a space gives out (its next label never passes it) and largest write-ahead-log
 * sequence a space gives out. 2^62 writes at a billion a second take 146 years, so no real
 * space reaches either; an export stream or checkpoint claiming more is corrupt. Staying far
 * below UINT64_MAX keeps the arithmetic checked and cheap (next label + a batch's count cannot
 * wrap) and keeps every write's sequence below MN_DURABLE_SEQUENCE_DROP, the drop record's,
 * which must sort after all of them. A space that reaches either refuses writes with
 * MN_ERR_TOO_LARGE instead of wrapping.
 */
#define MN_ENGINE_LABEL_MAX (1ull << 62)
/** Records a filtered search's selectivity estimate evaluates (mn_space_search_filtered): at 1,024
 *  a leaf matching 1% of a space is estimated within about +-0.6% (one standard deviation 0.3%),
 *  ample to place it against the scan threshold (2% or 4,096 memories), for ~25-100 us. */
#define MN_ENGINE_FILTER_SAMPLE_MAX 1024u
/** A filtered search whose filter the field indexes answer whole takes its matches as a
 *  bitmap of labels (scanned in storage order, or tested per node by the traversal) when they
 *  may number at least 1 / MN_ENGINE_FILTER_BITMAP_DIVISOR of the labels (one per two 64-bit words);
 *  fewer come as a sorted list, cheaper than clearing and walking the words. */
#define MN_ENGINE_FILTER_BITMAP_DIVISOR 128u
/** Largest matching-label bitmap a space keeps for its next search with the same filter
 *  (mn_space_search_filtered): 1 MiB, a space of up to 8 Mi labels. */
#define MN_ENGINE_FILTER_MEMO_BYTES_MAX (1u << 20)
/** Largest compact codes (mn_hnsw_codes_build: one byte per dimension of each match) a space
 *  keeps beside that bitmap for the exact scans of the same filter: 4 MiB, 2,730 matches of
 *  1,536 dimensions, 10,922 of 384. */
#define MN_ENGINE_FILTER_CODES_BYTES_MAX (4u << 20)
/** Most field indexes one space may have (mn_space_index_create; createdAt not counted): a
 *  field-index snapshot copies every index's roots, so each write costs O(indexes). */
#define MN_ENGINE_FIELD_INDEXES_MAX 64u
/** Most memories one mn_space_list_filtered page may visit. */
#define MN_ENGINE_LIST_LIMIT_MAX 65536u
#define MN_ENGINE_SEQUENCE_MAX (1ull << 62)

#if MN_ENGINE_WORKERS_MAX > MN_HNSW_BATCH_THREADS_MAX
#error "every worker must be able to join one batch insert"
#endif
#if (MN_ENGINE_MAILBOX_DEPTH_DEFAULT & (MN_ENGINE_MAILBOX_DEPTH_DEFAULT - 1u)) != 0
#error "mailbox depth must be a power of two"
#endif
#if (1u << (MN_ENGINE_ARENA_CLASS_MIN_LOG2 + MN_ENGINE_ARENA_CLASSES - 1u)) > MN_ENGINE_ARENA_CHUNK_BYTES
#error "the largest arena class must fit in a chunk"
#endif
#if MN_ENGINE_CONTENT_BYTES_DEFAULT > MN_ENGINE_CONTENT_BYTES_MAX
#error "default content limit over the maximum"
#endif

/* ---- Write-ahead log (private: csrc/wal/mn_wal.h; segment size and sync interval are also
 *      mn_durable_options fields) ---- */

/** Default segment size: a segment is rotated before a batch would take it past this size.
 *  64 MiB keeps recovery scans and deletions coarse-grained without huge files. */
#define MN_WAL_SEGMENT_BYTES_DEFAULT (64ull << 20)
/** Smallest allowed segment limit (tests rotate often); must hold a segment header. */
#define MN_WAL_SEGMENT_BYTES_MIN 4096ull
/** Largest allowed segment limit: recovery maps one segment at a time. */
#define MN_WAL_SEGMENT_BYTES_MAX (1ull << 30)
/** Largest payload of one record: the largest memory content plus 1 MiB of id, vector, name. */
#define MN_WAL_PAYLOAD_BYTES_MAX (MN_ENGINE_CONTENT_BYTES_MAX + (1u << 20))
/** Most records in one group commit (one engine batch is at most this many memories). */
#define MN_WAL_BATCH_RECORDS_MAX MN_ENGINE_BATCH_COUNT_MAX
/** Most bytes of one group commit (encoded): bounds the appender's single write buffer. */
#define MN_WAL_BATCH_BYTES_MAX (256ull << 20)
/** Default and largest fsync interval of the batched durability mode. */
#define MN_WAL_SYNC_INTERVAL_MS_DEFAULT 10u
#define MN_WAL_SYNC_INTERVAL_MS_MAX 10000u
/** Most segment files one log directory may hold (bounds a recovery listing). */
#define MN_WAL_SEGMENTS_MAX (1u << 20)
/** Longest path of a segment file, directory included (PATH_MAX on Linux). */
#define MN_WAL_PATH_BYTES_MAX 4096u
/** Buckets of the log's fdatasync latency histogram (mn_durable_stats.fsync_buckets): bucket
 *  i counts syncs that took [2^i, 2^(i+1)) nanoseconds (bucket 0 also 0 ns), the last one
 *  everything longer. 36 buckets reach 2^36 ns (69 s): a sync past that is a stalled disk
 *  whatever its exact figure, and fixed log2 buckets need no configuration and one shift. */
#define MN_WAL_SYNC_LATENCY_BUCKETS 36u

#if MN_WAL_BATCH_BYTES_MAX < MN_WAL_PAYLOAD_BYTES_MAX + 64ull
#error "a batch must hold at least one largest record"
#endif
#if MN_WAL_SEGMENT_BYTES_MIN > MN_WAL_SEGMENT_BYTES_DEFAULT || MN_WAL_SEGMENT_BYTES_DEFAULT > MN_WAL_SEGMENT_BYTES_MAX
#error "default segment size out of its range"
#endif
#if MN_ENGINE_IDLE_WAIT_MAX_US < MN_ENGINE_IDLE_WAIT_US
#error "the idle backoff starts at MN_ENGINE_IDLE_WAIT_US"
#endif
#if MN_WAL_SYNC_INTERVAL_MS_DEFAULT > MN_WAL_SYNC_INTERVAL_MS_MAX
#error "default sync interval over the maximum"
#endif

/* ---- Associations and recall (mn_recall.h; the table: csrc/assoc/mn_assoc.h) ---- */

/** Most links out of one memory, and most links into one: bounds a removal's work and a
 *  recall's expansion. 256 is far more associations than a memory usefully has. */
#define MN_ASSOC_DEGREE_MAX 256u
/** Most memories holding links in one table (the index's slot limit). */
#define MN_ASSOC_NODES_MAX MN_HNSW_NODES_MAX
/** Most seeds (nearest memories to the cue) one recall may start from. */
#define MN_ASSOC_SEEDS_MAX 1024u
/** Most hops activation may spread. */
#define MN_ASSOC_HOPS_MAX 8u
/** Most edges one node may expand (association links plus layer-0 similarity neighbours). */
#define MN_ASSOC_FAN_OUT_MAX (MN_ASSOC_DEGREE_MAX + 2u * MN_HNSW_M_MAX)
/** Default and largest number of memories one recall may activate (its work and scratch). */
#define MN_ASSOC_RECALL_NODES_DEFAULT 16384u
#define MN_ASSOC_RECALL_NODES_MAX (1u << 20)

#if MN_ASSOC_RECALL_NODES_DEFAULT > MN_ASSOC_RECALL_NODES_MAX || MN_ASSOC_SEEDS_MAX > MN_ASSOC_RECALL_NODES_DEFAULT
#error "recall node budget must hold every seed"
#endif

/* ---- Durable engines (mn_engine_durable.h) ---- */

/** Longest path of a file inside a data directory (a log segment, a checkpoint), as reported
 *  in mn_durable_report.damaged_file: PATH_MAX on Linux, the log's own limit. */
#define MN_DURABLE_FILE_PATH_BYTES_MAX 4096u
/** Longest data-directory path: leaves room below it for "/wal-NNN/" and a segment name (or
 *  "/spaces/" and a checkpoint name) within MN_DURABLE_FILE_PATH_BYTES_MAX. */
#define MN_DURABLE_PATH_BYTES_MAX (MN_DURABLE_FILE_PATH_BYTES_MAX - 128u)
/** Most log directories recovery reads: one per worker of any earlier open. */
#define MN_DURABLE_LOGS_MAX MN_ENGINE_WORKERS_MAX
/** Space id 0 is never given out; creation records carry sequence 0 and drops the largest. */
#define MN_DURABLE_SEQUENCE_DROP UINT64_MAX
/** A group's scratch buffer is kept between groups up to this size (larger ones are freed). */
#define MN_DURABLE_SCRATCH_KEEP_BYTES (4u << 20)
/** Default automatic checkpoint trigger: bytes of log since the last checkpoint, counted across
 *  restarts (the log read at open counts; open checkpoints when it is over). Bounds the log, and
 *  so the replay after a crash, to about this much beyond the checkpoints. Replay measured
 *  2.6-10 MiB/s in the slowest case (one space, dimension 64, 256-byte contents, default HNSW
 *  parameters: insertion bound; `bench_durable --only replay`, 2 vCPUs shared with other
 *  builds), 9-36 MiB/s at dimension 384-1536: 8 MiB replays in 0.8-3 s, leaving room within
 *  the 5 s goal for a reopen after a crash (docs/durability.md). */
#define MN_DURABLE_CHECKPOINT_LOG_BYTES (8ull << 20)
/** Default bound on the log payload bytes recovery holds in memory at once (read back, not
 *  yet applied); the position index (48 bytes a record) is kept besides. */
#define MN_DURABLE_REPLAY_BYTES (64ull << 20)
/** How often the background checkpoint thread looks at the log size. */
#define MN_DURABLE_CHECKPOINT_POLL_MS 100u
/** Buffer between the export streams and a checkpoint pack file (one write per fill). */
#define MN_DURABLE_CHECKPOINT_BUFFER_BYTES (1u << 20)
/** Largest checkpoint entry or pack offset recovery reads (an entry is read whole before it
 *  is imported). */
#define MN_DURABLE_CHECKPOINT_BYTES_MAX (1ull << 40)

#if MN_ENGINE_SEQUENCE_MAX >= 0xffffffffffffffffull || MN_ENGINE_BATCH_COUNT_MAX >= MN_ENGINE_LABEL_MAX
#error "write sequences must stay below the drop record's; a batch must fit below the label limit"
#endif
#if MN_DURABLE_FILE_PATH_BYTES_MAX != MN_WAL_PATH_BYTES_MAX
#error "a damaged log file's path is copied whole into the durable report"
#endif
#if MN_DURABLE_LOGS_MAX > 1000u
#error "log directories are named wal-NNN (three digits)"
#endif

/* ---- Filters (mn_filter.h) ---- */

/** Deepest nesting of filter objects: the root object is depth 1, each filter inside $and, $or
 *  or $not one deeper (a field's operator object does not count). Agents write a few levels;
 *  the bound keeps every walk of a filter (parse, match, estimate) a short, bounded recursion. */
#define MN_FILTER_DEPTH_MAX 16
/** Most nodes (AND, OR, NOT and leaf conditions) in one compiled filter: bounds the work of one
 *  match, which runs once per visited graph node. A $in list is one node. */
#define MN_FILTER_NODES_MAX 1024
/** Longest filter JSON text in bytes: bounds every allocation of a parse (and $in lists). */
#define MN_FILTER_BYTES_MAX (64u * 1024u)

/* ---- Engine associations, recall and export (mn_engine.h) ---- */

/** Most memories one engine recall may return (its result buffer; the activation budget). */
#define MN_ENGINE_RECALL_LIMIT_MAX MN_ASSOC_RECALL_NODES_MAX
/** Most memories one export stream may declare: each is a live node of the space's index. */
#define MN_EXPORT_MEMORIES_MAX MN_HNSW_NODES_MAX

/* ---- Metadata documents (mn_meta.h) ---- */

/** Most fields in one memory's metadata: agents tag memories with a handful of fields (kind,
 *  source, session, tags ...); 64 leaves room while bounding a filter's per-memory walk. */
#define MN_META_FIELDS_MAX 64u
/** Longest field name in bytes (UTF-8): names are identifiers, not data. Fits a u8. */
#define MN_META_NAME_BYTES_MAX 64u
/** Largest encoded document (all fields): metadata rides in every record, log entry and
 *  export of a memory, so it stays small next to a vector (384 floats are 1.5 KiB). */
#define MN_META_DOC_BYTES_MAX 16384u
/** Longest string value, and longest item of a string list, in bytes. Longer text belongs in
 *  the memory's content. */
#define MN_META_STRING_BYTES_MAX 4096u
/** Most items in one list-of-strings field (tags). Fits the encoding's u16 count. */
#define MN_META_LIST_MAX 256u

#if MN_META_NAME_BYTES_MAX > 255u || MN_META_LIST_MAX > 65535u || MN_META_FIELDS_MAX > 65535u
#error "metadata names, list counts and field counts must fit their u8/u16 length prefixes"
#endif
#if MN_META_DOC_BYTES_MAX > MN_WAL_PAYLOAD_BYTES_MAX / 64u
#error "a memory's metadata must stay small beside its log record"
#endif

#endif /* MN_LIMITS_H */
