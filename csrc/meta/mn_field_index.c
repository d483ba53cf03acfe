/*
 * mn_field_index.c: per-space field indexes (see mn_field_index.h), built from one structure:
 * a persistent, counted B+tree of 16-byte entries, published under RCU.
 *
 * Why this structure. Every index is a sorted multiset of (key, label) entries:
 *   KEYWORD postings  key = term id << 2 | form (form: 0 bool, 1 string, 2 list item), label;
 *                     one term's labels are a contiguous, label-sorted run: a posting list.
 *   NUMERIC values    key = the value's bits, label with bit 63 set for a DOUBLE: entries sort
 *                     by exact numeric value, then label.
 *   present           (0, label): the labels whose document has the field.
 *   terms             (xxh3 of the string, term pointer): the keyword dictionary, a string to
 *                     its term id, found by hash then compared bytewise.
 * Readers need O(log n) counts (selectivity estimates) and ordered iteration, from any thread,
 * while the space's single writer changes the index; spaces hold millions of memories, so a
 * write may not copy O(n). The two-level layout (sorted leaves, one published array of leaf
 * pointers and per-leaf counts) copies that array, O(n / leaf) per write, to keep counts
 * current. A B+tree whose inner nodes hold each child's entry count instead copies only the
 * path it changes: a leaf and one node per level, O(log n) (about 2 KiB per node, height 3 for
 * a million entries), and a count is the sum of the left siblings' counts down one path. The
 * price is 16 bytes per entry (plus node slack) where a bare posting array needs 8; in return
 * one structure, one set of tests, serves postings, numbers, the dictionary and the present
 * sets, and deletions need no tombstones or compaction.
 *
 * Persistence and RCU. Published nodes are never written. A write runs as a transaction: it
 * copies ("owns") each published node it changes into a fresh node tagged with the
 * transaction's id, and changes fresh nodes in place, so several changes in one transaction
 * (every field of a document, or a whole backfill) copy each node at most once. The
 * transaction builds a new snapshot (every index's roots) and publishes it with one release
 * store; readers load it with acquire inside their read section and see every index at one
 * point in the write order. Replaced nodes, terms and the old snapshot go to call_rcu as one
 * batch, freed after a grace period. Every allocation (fresh nodes, list growth, the new
 * snapshot, the retire batch) happens before the publishing store, so a failure frees the fresh
 * nodes and leaves the published snapshot exactly as it was: MN_ERR_NO_MEMORY changes nothing.
 *
 * Ordering invariants of an inner node: mins[i] <= every entry of child i, and every entry of
 * child i-1 < mins[i] (mins may be stale-low after deletions, which routing tolerates); sizes[i]
 * is child i's entry count; all leaves are at one depth. An entry added at the end of a full node
 * splits it as (full, 1), and one added at the end of its key's run inside a full keyword leaf
 * splits it there, so runs of increasing entries (a posting list's new labels, creation times)
 * fill nodes completely; other splits halve. A node under a quarter full merges with a
 * neighbour when the two fit in three quarters. Retired nodes come back to the writer through a
 * per-set pool after their grace period (mn_fi_pool) rather than through malloc.
 */
#include "meta/mn_field_index.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>
#include <xxhash.h>

#include "mnemo/mn_limits.h"
#include "mnemo/mn_meta.h"
#include "util/mn_assert.h"
#include "util/mn_rcu.h"

/* Node geometry: one allocation size for both kinds (2 KiB + header). */
#define MN_FI_LEAF_MAX 128u
#define MN_FI_INNER_MAX 64u
/* Deepest tree an iterator supports: a root split needs a full root, so 64 levels hold more
 * entries than memory can. */
#define MN_FI_HEIGHT_MAX 64
/* Bit 63 of a numeric entry's label: the value is a DOUBLE. Labels stay below 2^62. */
#define MN_FI_TAG_DOUBLE (1ull << 63)
#define MN_FI_LABEL_MASK (~MN_FI_TAG_DOUBLE)
/* Keyword entry forms (low two bits of the key). */
#define MN_FI_FORM_BOOL 0u
#define MN_FI_FORM_STRING 1u
#define MN_FI_FORM_ITEM 2u
/* Name of the built-in time index. */
#define MN_FI_CREATED_NAME "createdAt"

typedef struct mn_fi_entry {
    uint64_t key;
    uint64_t label;
} mn_fi_entry;

typedef enum mn_fi_order { MN_FI_ORDER_PLAIN = 0, MN_FI_ORDER_NUMERIC = 1 } mn_fi_order;

typedef struct mn_fi_node {
    uint64_t txn;   /* writer only: the transaction that made it (mutable while current) */
    uint32_t count; /* entries (leaf) or children (inner) */
    uint8_t leaf;
    uint8_t dead; /* writer only: a fresh node dropped within its transaction */
    struct mn_fi_node *free_next; /* in the recycling pool only */
    union {
        mn_fi_entry entries[MN_FI_LEAF_MAX];
        struct {
            mn_fi_entry mins[MN_FI_INNER_MAX];
            uint64_t sizes[MN_FI_INNER_MAX];
            struct mn_fi_node *children[MN_FI_INNER_MAX];
        } inner;
    } u;
} mn_fi_node;

/* A keyword string. id, length and bytes are immutable once published (readers compare them);
 * refs and delta are the writer's, fields no reader touches. */
typedef struct mn_fi_term {
    uint64_t id;
    int64_t refs;  /* entries using this term, all forms */
    int64_t delta; /* change pending in the current transaction */
    const struct mn_fi_def *def; /* the index whose dictionary holds it */
    uint8_t touched;
    uint8_t gone;  /* taken out of its dictionary by the current transaction */
    uint8_t fresh; /* created in the current transaction, not yet published */
    uint32_t length;
    char bytes[];
} mn_fi_term;

/* An index's identity, shared by every snapshot that holds it; immutable. */
typedef struct mn_fi_def {
    mn_field_index_kind kind;
    uint32_t name_length;
    char name[MN_FIELD_NAME_BYTES_MAX + 1];
} mn_fi_def;

struct mn_field_index {
    const mn_fi_def *def;
    mn_fi_node *values;  /* postings (keyword) or values (numeric) */
    mn_fi_node *present; /* NULL for createdAt: every label has a time */
    mn_fi_node *terms;   /* keyword dictionary */
    uint64_t keys;       /* terms in the dictionary */
    uint64_t bytes;      /* nodes and terms */
};

struct mn_field_snapshot {
    uint32_t count;
    uint64_t version; /* the transaction that published it (0: the set's first, empty one) */
    mn_field_index created;
    mn_field_index slots[];
};

/*
 * Recycled nodes. glibc's malloc spends half a write's time on 2 KiB blocks allocated by the
 * writer and freed by the call_rcu thread, so retired nodes come back here instead: the grace
 * period callback pushes them (release CAS), the writer takes the whole stack at once (acquire
 * exchange: one consumer, so no ABA). The pool outlives the set while retire batches hold
 * references to it. `pooled` is a soft bound (the writer resets it when it takes the stack).
 */
typedef struct mn_fi_pool {
    _Atomic(mn_fi_node *) returned;
    _Atomic int64_t pooled;
    _Atomic int64_t cap;  /* set by the writer at each commit */
    _Atomic int64_t refs; /* the set, and each retire batch not yet freed */
} mn_fi_pool;

/* A growable array of pointers, writer side. */
typedef struct mn_fi_vec {
    void **items;
    size_t count;
    size_t capacity;
} mn_fi_vec;

struct mn_field_indexes {
    /* Shared: written by the writer (release / relaxed), read by any thread. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic(mn_field_snapshot *) current;
    _Atomic uint64_t bytes;
    char pad_shared[MN_CACHE_LINE_SIZE - sizeof(void *) - sizeof(uint64_t)];
    /* Writer only. */
    _Alignas(MN_CACHE_LINE_SIZE) uint64_t txn;
    uint64_t next_term_id;
    mn_field_snapshot *work; /* the snapshot being built, room for every index */
    uint64_t *charge;        /* bytes counter of the index being changed */
    uint64_t *keys;          /* term counter of the index being changed */
    mn_fi_vec fresh;         /* nodes made in this transaction */
    mn_fi_vec retire;        /* published nodes this transaction replaces */
    mn_fi_vec retire_other;  /* published terms and index definitions it replaces */
    int recycle;             /* retired nodes go back to the pool (not for a dropped index) */
    mn_fi_pool *pool;
    mn_fi_node *local;       /* nodes ready for reuse, writer only */
    uint32_t local_count;    /* of them, those this writer freed itself */
    mn_fi_vec terms;         /* terms touched in this transaction */
    struct mn_fi_key *scratch; /* a document's keys, old then new */
    size_t scratch_capacity;
    int txn_open;            /* a caller's transaction (mn_field_indexes_txn_begin) is open */
    int txn_changes;         /* it staged a change of the createdAt index or of a document */
    mn_field_snapshot *prepared_snapshot; /* mn_fi_prepare's allocations, published by */
    struct mn_fi_retired *prepared_retired; /* mn_fi_publish */
};
_Static_assert(offsetof(struct mn_field_indexes, txn) == MN_CACHE_LINE_SIZE, "writer fields own their line");

/* Blocks freed together after a grace period: blocks[0 .. nodes) are tree nodes. */
typedef struct mn_fi_retired {
    struct rcu_head head;
    mn_fi_pool *pool;
    int recycle;
    size_t nodes;
    size_t count;
    void *blocks[];
} mn_fi_retired;

/* ---------------------------------------------------------------------------------------- */
/* Metadata documents (mn_meta.h): fields are read in place, never decoded into the heap.    */

typedef mn_meta_value mn_fi_field;

_Static_assert(MN_FIELD_TYPE_STRING == MN_META_STRING && MN_FIELD_TYPE_INT == MN_META_INT &&
                   MN_FIELD_TYPE_DOUBLE == MN_META_DOUBLE && MN_FIELD_TYPE_BOOL == MN_META_BOOL &&
                   MN_FIELD_TYPE_STRINGS == MN_META_STRINGS,
               "operand types are the metadata encoding's");

/* Finds `name` in doc: MN_OK, MN_ERR_NOT_FOUND or MN_ERR_CORRUPT (bounded reads only: the
 * engine validated the document when it was written). */
static mn_status mn_fi_doc_get(const uint8_t *doc, size_t bytes, const char *name, uint32_t name_length,
                               mn_fi_field *out) {
    mn_status status = mn_meta_get(doc, bytes, name, name_length, out);
    return status == MN_OK || status == MN_ERR_NOT_FOUND ? status : MN_ERR_CORRUPT;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry order.                                                                              */

/* Exact order of an int64 and a finite double. */
static int mn_fi_int_double(int64_t i, double d) {
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t; /* in range: -2^63 <= t < 2^63 */
    if (i != ti) return i < ti ? -1 : 1;
    double frac = d - t; /* exact */
    return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int mn_fi_value_cmp(uint64_t a, uint64_t a_label, uint64_t b, uint64_t b_label) {
    int a_double = (a_label & MN_FI_TAG_DOUBLE) != 0, b_double = (b_label & MN_FI_TAG_DOUBLE) != 0;
    if (!a_double && !b_double) {
        int64_t x = (int64_t)a, y = (int64_t)b;
        return (x > y) - (x < y);
    }
    double x, y;
    if (a_double && b_double) {
        memcpy(&x, &a, sizeof x);
        memcpy(&y, &b, sizeof y);
        return (x > y) - (x < y);
    }
    if (a_double) {
        memcpy(&x, &a, sizeof x);
        return -mn_fi_int_double((int64_t)b, x);
    }
    memcpy(&y, &b, sizeof y);
    return mn_fi_int_double((int64_t)a, y);
}

static inline int mn_fi_cmp(mn_fi_order order, const mn_fi_entry *a, const mn_fi_entry *b) {
    if (order == MN_FI_ORDER_NUMERIC) {
        int c = mn_fi_value_cmp(a->key, a->label, b->key, b->label);
        if (c) return c;
        uint64_t x = a->label & MN_FI_LABEL_MASK, y = b->label & MN_FI_LABEL_MASK;
        return (x > y) - (x < y);
    }
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->label > b->label) - (a->label < b->label);
}

/* ---------------------------------------------------------------------------------------- */
/* Tree: reader side (no writes).                                                            */

/* First leaf position whose entry is >= bound. */
static uint32_t mn_fi_lower(mn_fi_order order, const mn_fi_node *leaf, const mn_fi_entry *bound) {
    uint32_t lo = 0, hi = leaf->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (mn_fi_cmp(order, &leaf->u.entries[mid], bound) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The child to descend to: the last i (>= 0) with mins[i] < bound (strict) or <= (route_le). */
static uint32_t mn_fi_route(mn_fi_order order, const mn_fi_node *node, const mn_fi_entry *bound, int le) {
    uint32_t lo = 1, hi = node->count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = mn_fi_cmp(order, &node->u.inner.mins[mid], bound);
        if (c < 0 || (le && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

static uint64_t mn_fi_total(const mn_fi_node *node) {
    if (!node) return 0;
    if (node->leaf) return node->count;
    uint64_t total = 0;
    for (uint32_t i = 0; i < node->count; i++) total += node->u.inner.sizes[i];
    return total;
}

/* Entries strictly before `bound`. */
static uint64_t mn_fi_rank(mn_fi_order order, const mn_fi_node *node, const mn_fi_entry *bound) {
    uint64_t rank = 0;
    while (node) {
        if (node->leaf) return rank + mn_fi_lower(order, node, bound);
        uint32_t i = mn_fi_route(order, node, bound, 0);
        for (uint32_t j = 0; j < i; j++) rank += node->u.inner.sizes[j];
        node = node->u.inner.children[i];
    }
    return rank;
}

typedef struct mn_fi_iter {
    const mn_fi_node *path[MN_FI_HEIGHT_MAX];
    uint32_t at[MN_FI_HEIGHT_MAX];
    int depth; /* path[depth] is the leaf; -1 when done */
} mn_fi_iter;

/* Moves past exhausted leaves to the next entry, or ends. */
static void mn_fi_iter_settle(mn_fi_iter *it) {
    while (it->depth >= 0 && it->at[it->depth] >= it->path[it->depth]->count) {
        it->depth--;
        if (it->depth < 0) return;
        it->at[it->depth]++;
        if (it->at[it->depth] < it->path[it->depth]->count) {
            /* descend leftmost */
            while (!it->path[it->depth]->leaf) {
                const mn_fi_node *child = it->path[it->depth]->u.inner.children[it->at[it->depth]];
                it->depth++;
                MN_ASSERT(it->depth < MN_FI_HEIGHT_MAX);
                it->path[it->depth] = child;
                it->at[it->depth] = 0;
            }
        }
    }
}

/* Positions at the first entry >= bound (bound NULL: the first entry). */
static void mn_fi_iter_seek(mn_fi_iter *it, mn_fi_order order, const mn_fi_node *root, const mn_fi_entry *bound) {
    it->depth = -1;
    if (!root) return;
    const mn_fi_node *node = root;
    int depth = 0;
    for (;;) {
        MN_ASSERT(depth < MN_FI_HEIGHT_MAX);
        it->path[depth] = node;
        if (node->leaf) {
            it->at[depth] = bound ? mn_fi_lower(order, node, bound) : 0;
            break;
        }
        uint32_t i = bound ? mn_fi_route(order, node, bound, 0) : 0;
        it->at[depth] = i;
        node = node->u.inner.children[i];
        depth++;
    }
    it->depth = depth;
    mn_fi_iter_settle(it);
}

static inline const mn_fi_entry *mn_fi_iter_get(const mn_fi_iter *it) {
    return it->depth < 0 ? NULL : &it->path[it->depth]->u.entries[it->at[it->depth]];
}

static inline void mn_fi_iter_next(mn_fi_iter *it) {
    it->at[it->depth]++;
    mn_fi_iter_settle(it);
}

/* ---------------------------------------------------------------------------------------- */
/* Tree: writer side, inside a transaction.                                                  */

static int mn_fi_vec_reserve(mn_fi_vec *vec, size_t more) {
    if (vec->count + more <= vec->capacity) return 1;
    size_t capacity = vec->capacity ? vec->capacity * 2 : 64;
    while (capacity < vec->count + more) capacity *= 2;
    void **items = realloc(vec->items, capacity * sizeof(void *));
    if (!items) return 0;
    vec->items = items;
    vec->capacity = capacity;
    return 1;
}

/* Recycled nodes a pool keeps: an eighth of the set's nodes, at least this many (2 KiB each);
 * beyond, retired nodes are freed. The grace periods a busy writer outruns need thousands. */
#define MN_FI_POOL_NODES_MIN 256

static mn_fi_node *mn_fi_node_alloc(mn_field_indexes *set) {
    if (!set->local) {
        set->local = atomic_exchange_explicit(&set->pool->returned, NULL, memory_order_acquire);
        atomic_store_explicit(&set->pool->pooled, 0, memory_order_relaxed);
        set->local_count = 0;
    }
    mn_fi_node *node = set->local;
    if (!node) return malloc(sizeof(mn_fi_node));
    set->local = node->free_next;
    if (set->local_count) set->local_count--;
    return node;
}

/* A node no reader can reach (never published): straight back to the writer's list. */
static void mn_fi_node_free(mn_field_indexes *set, mn_fi_node *node) {
    if (set->local_count >= MN_FI_POOL_NODES_MIN) {
        free(node);
        return;
    }
    node->free_next = set->local;
    set->local = node;
    set->local_count++;
}

static void mn_fi_pool_release(mn_fi_pool *pool) {
    if (atomic_fetch_sub_explicit(&pool->refs, 1, memory_order_acq_rel) != 1) return;
    mn_fi_node *node = atomic_load_explicit(&pool->returned, memory_order_acquire);
    while (node) {
        mn_fi_node *next = node->free_next;
        free(node);
        node = next;
    }
    free(pool);
}

static mn_fi_node *mn_fi_node_new(mn_field_indexes *set, int leaf) {
    if (!mn_fi_vec_reserve(&set->fresh, 1)) return NULL;
    mn_fi_node *node = mn_fi_node_alloc(set);
    if (!node) return NULL;
    node->txn = set->txn;
    node->count = 0;
    node->leaf = (uint8_t)leaf;
    node->dead = 0;
    set->fresh.items[set->fresh.count++] = node;
    *set->charge += sizeof(mn_fi_node);
    return node;
}

/* The node itself when this transaction made it, else a fresh copy that replaces it. */
static mn_fi_node *mn_fi_own(mn_field_indexes *set, mn_fi_node *node) {
    if (node->txn == set->txn) return node;
    if (!mn_fi_vec_reserve(&set->fresh, 1) || !mn_fi_vec_reserve(&set->retire, 1)) return NULL;
    mn_fi_node *copy = mn_fi_node_alloc(set);
    if (!copy) return NULL;
    if (node->leaf) {
        memcpy(copy, node, offsetof(mn_fi_node, u) + node->count * sizeof(mn_fi_entry));
    } else { /* only the used part of each array */
        memcpy(copy, node, offsetof(mn_fi_node, u));
        memcpy(copy->u.inner.mins, node->u.inner.mins, node->count * sizeof(mn_fi_entry));
        memcpy(copy->u.inner.sizes, node->u.inner.sizes, node->count * sizeof(uint64_t));
        memcpy(copy->u.inner.children, node->u.inner.children, node->count * sizeof(void *));
    }
    copy->txn = set->txn;
    copy->dead = 0;
    set->fresh.items[set->fresh.count++] = copy;
    set->retire.items[set->retire.count++] = node;
    return copy;
}

/* Removes a node from the tree: freed at commit (fresh) or after a grace period. */
static mn_status mn_fi_discard(mn_field_indexes *set, mn_fi_node *node) {
    if (node->txn == set->txn) {
        node->dead = 1;
    } else {
        if (!mn_fi_vec_reserve(&set->retire, 1)) return MN_ERR_NO_MEMORY;
        set->retire.items[set->retire.count++] = node;
    }
    *set->charge -= sizeof(mn_fi_node);
    return MN_OK;
}

static inline const mn_fi_entry *mn_fi_first(const mn_fi_node *node) {
    return node->leaf ? &node->u.entries[0] : &node->u.inner.mins[0];
}

/* Inserts child `child` (size, min) at position i of an owned inner node with room. */
static void mn_fi_inner_put(mn_fi_node *node, uint32_t i, mn_fi_node *child, uint64_t size, const mn_fi_entry *min) {
    uint32_t tail = node->count - i;
    memmove(&node->u.inner.mins[i + 1], &node->u.inner.mins[i], tail * sizeof(mn_fi_entry));
    memmove(&node->u.inner.sizes[i + 1], &node->u.inner.sizes[i], tail * sizeof(uint64_t));
    memmove(&node->u.inner.children[i + 1], &node->u.inner.children[i], tail * sizeof(void *));
    node->u.inner.mins[i] = *min;
    node->u.inner.sizes[i] = size;
    node->u.inner.children[i] = child;
    node->count++;
}

static void mn_fi_inner_cut(mn_fi_node *node, uint32_t i) {
    uint32_t tail = node->count - i - 1;
    memmove(&node->u.inner.mins[i], &node->u.inner.mins[i + 1], tail * sizeof(mn_fi_entry));
    memmove(&node->u.inner.sizes[i], &node->u.inner.sizes[i + 1], tail * sizeof(uint64_t));
    memmove(&node->u.inner.children[i], &node->u.inner.children[i + 1], tail * sizeof(void *));
    node->count--;
}

/* Moves node's items [from, count) to the empty fresh node `right`. */
static void mn_fi_move_tail(mn_fi_node *node, uint32_t from, mn_fi_node *right) {
    uint32_t n = node->count - from;
    if (node->leaf) {
        memcpy(right->u.entries, &node->u.entries[from], n * sizeof(mn_fi_entry));
    } else {
        memcpy(right->u.inner.mins, &node->u.inner.mins[from], n * sizeof(mn_fi_entry));
        memcpy(right->u.inner.sizes, &node->u.inner.sizes[from], n * sizeof(uint64_t));
        memcpy(right->u.inner.children, &node->u.inner.children[from], n * sizeof(void *));
    }
    right->count = n;
    node->count = from;
}

static mn_status mn_fi_insert_at(mn_field_indexes *set, mn_fi_order order, mn_fi_node **slot,
                                 const mn_fi_entry *entry, mn_fi_node **split) {
    *split = NULL;
    mn_fi_node *node = mn_fi_own(set, *slot);
    if (!node) return MN_ERR_NO_MEMORY;
    *slot = node;
    if (node->leaf) {
        uint32_t pos = mn_fi_lower(order, node, entry);
        if (pos < node->count && mn_fi_cmp(order, &node->u.entries[pos], entry) == 0) return MN_ERR_DUPLICATE;
        mn_fi_node *target = node;
        if (node->count == MN_FI_LEAF_MAX) {
            mn_fi_node *right = mn_fi_node_new(set, 1);
            if (!right) return MN_ERR_NO_MEMORY;
            /* At the end: (full, 1), so runs of increasing entries fill leaves completely. At
             * the end of one key's run inside the leaf (a posting list's new label, followed by
             * the next key's labels): split there and keep the new entry on the left, which
             * then fills with that run instead of half-filling a leaf per split. */
            uint32_t keep = MN_FI_LEAF_MAX / 2;
            if (pos == MN_FI_LEAF_MAX)
                keep = MN_FI_LEAF_MAX;
            else if (order == MN_FI_ORDER_PLAIN && pos >= MN_FI_LEAF_MAX / 2 &&
                     node->u.entries[pos - 1].key == entry->key && node->u.entries[pos].key != entry->key)
                keep = pos;
            mn_fi_move_tail(node, keep, right);
            if (pos > keep || (pos == keep && keep == MN_FI_LEAF_MAX)) {
                target = right;
                pos -= keep;
            }
            *split = right;
        }
        memmove(&target->u.entries[pos + 1], &target->u.entries[pos], (target->count - pos) * sizeof(mn_fi_entry));
        target->u.entries[pos] = *entry;
        target->count++;
        return MN_OK;
    }
    uint32_t i = mn_fi_route(order, node, entry, 1);
    mn_fi_node *child_split;
    mn_status status = mn_fi_insert_at(set, order, &node->u.inner.children[i], entry, &child_split);
    if (status != MN_OK) return status;
    node->u.inner.sizes[i]++;
    if (i == 0 && mn_fi_cmp(order, entry, &node->u.inner.mins[0]) < 0) node->u.inner.mins[0] = *entry;
    if (!child_split) return MN_OK;
    uint64_t right_size = mn_fi_total(child_split);
    node->u.inner.sizes[i] -= right_size;
    uint32_t at = i + 1;
    mn_fi_node *target = node;
    if (node->count == MN_FI_INNER_MAX) {
        mn_fi_node *right = mn_fi_node_new(set, 0);
        if (!right) return MN_ERR_NO_MEMORY;
        uint32_t keep = at == MN_FI_INNER_MAX ? MN_FI_INNER_MAX : MN_FI_INNER_MAX / 2;
        mn_fi_move_tail(node, keep, right);
        if (at > keep || (at == keep && keep == MN_FI_INNER_MAX)) {
            target = right;
            at -= keep;
        }
        *split = right;
    }
    mn_fi_inner_put(target, at, child_split, right_size, mn_fi_first(child_split));
    return MN_OK;
}

/* Inserts an entry: MN_ERR_DUPLICATE when it is there (the transaction must then abort: the
 * path was copied). */
static mn_status mn_fi_insert(mn_field_indexes *set, mn_fi_order order, mn_fi_node **root, const mn_fi_entry *entry) {
    if (!*root) {
        mn_fi_node *leaf = mn_fi_node_new(set, 1);
        if (!leaf) return MN_ERR_NO_MEMORY;
        leaf->u.entries[0] = *entry;
        leaf->count = 1;
        *root = leaf;
        return MN_OK;
    }
    mn_fi_node *split;
    mn_status status = mn_fi_insert_at(set, order, root, entry, &split);
    if (status != MN_OK || !split) return status;
    mn_fi_node *top = mn_fi_node_new(set, 0);
    if (!top) return MN_ERR_NO_MEMORY;
    uint64_t right_size = mn_fi_total(split);
    mn_fi_inner_put(top, 0, *root, mn_fi_total(*root), mn_fi_first(*root));
    mn_fi_inner_put(top, 1, split, right_size, mn_fi_first(split));
    *root = top;
    return MN_OK;
}

/* Merges child i+1 of `node` into child i when they are small enough together. */
static mn_status mn_fi_merge(mn_field_indexes *set, mn_fi_node *node, uint32_t i) {
    mn_fi_node *a = node->u.inner.children[i], *b = node->u.inner.children[i + 1];
    uint32_t max = a->leaf ? MN_FI_LEAF_MAX : MN_FI_INNER_MAX;
    if (a->count + b->count > max * 3 / 4) return MN_OK;
    a = mn_fi_own(set, a);
    if (!a) return MN_ERR_NO_MEMORY;
    node->u.inner.children[i] = a;
    if (a->leaf) {
        memcpy(&a->u.entries[a->count], b->u.entries, b->count * sizeof(mn_fi_entry));
    } else {
        memcpy(&a->u.inner.mins[a->count], b->u.inner.mins, b->count * sizeof(mn_fi_entry));
        /* b's first separator is the parent's: the bound between a's and b's entries */
        a->u.inner.mins[a->count] = node->u.inner.mins[i + 1];
        memcpy(&a->u.inner.sizes[a->count], b->u.inner.sizes, b->count * sizeof(uint64_t));
        memcpy(&a->u.inner.children[a->count], b->u.inner.children, b->count * sizeof(void *));
    }
    a->count += b->count;
    mn_status status = mn_fi_discard(set, b);
    if (status != MN_OK) return status;
    node->u.inner.sizes[i] += node->u.inner.sizes[i + 1];
    mn_fi_inner_cut(node, i + 1);
    return MN_OK;
}

static mn_status mn_fi_remove_at(mn_field_indexes *set, mn_fi_order order, mn_fi_node **slot, const mn_fi_entry *entry) {
    mn_fi_node *node = mn_fi_own(set, *slot);
    if (!node) return MN_ERR_NO_MEMORY;
    *slot = node;
    if (node->leaf) {
        uint32_t pos = mn_fi_lower(order, node, entry);
        if (pos == node->count || mn_fi_cmp(order, &node->u.entries[pos], entry) != 0) return MN_ERR_NOT_FOUND;
        memmove(&node->u.entries[pos], &node->u.entries[pos + 1], (node->count - pos - 1) * sizeof(mn_fi_entry));
        node->count--;
        return MN_OK;
    }
    uint32_t i = mn_fi_route(order, node, entry, 1);
    mn_status status = mn_fi_remove_at(set, order, &node->u.inner.children[i], entry);
    if (status != MN_OK) return status;
    node->u.inner.sizes[i]--;
    mn_fi_node *child = node->u.inner.children[i];
    if (child->count == 0) {
        status = mn_fi_discard(set, child);
        if (status != MN_OK) return status;
        mn_fi_inner_cut(node, i);
        return MN_OK;
    }
    uint32_t max = child->leaf ? MN_FI_LEAF_MAX : MN_FI_INNER_MAX;
    if (child->count >= max / 4 || node->count < 2) return MN_OK;
    return mn_fi_merge(set, node, i + 1 < node->count ? i : i - 1);
}

/* Removes an entry: MN_ERR_NOT_FOUND when it is not there (abort, as above). */
static mn_status mn_fi_remove(mn_field_indexes *set, mn_fi_order order, mn_fi_node **root, const mn_fi_entry *entry) {
    if (!*root) return MN_ERR_NOT_FOUND;
    mn_status status = mn_fi_remove_at(set, order, root, entry);
    if (status != MN_OK) return status;
    for (;;) {
        mn_fi_node *top = *root;
        if (top->leaf && top->count == 0) {
            status = mn_fi_discard(set, top);
            if (status == MN_OK) *root = NULL;
            return status;
        }
        if (top->leaf || top->count != 1) return MN_OK;
        status = mn_fi_discard(set, top);
        if (status != MN_OK) return status;
        *root = top->u.inner.children[0];
    }
}

/* Frees a whole tree now (no reader can reach it). */
static void mn_fi_free_tree(mn_fi_node *node) {
    if (!node) return;
    if (!node->leaf)
        for (uint32_t i = 0; i < node->count; i++) mn_fi_free_tree(node->u.inner.children[i]);
    free(node);
}

/* Appends every node of a tree to the retire list (an index being dropped). */
static int mn_fi_retire_tree(mn_field_indexes *set, mn_fi_node *node) {
    if (!node) return 1;
    if (!mn_fi_vec_reserve(&set->retire, 1)) return 0;
    set->retire.items[set->retire.count++] = node;
    if (!node->leaf)
        for (uint32_t i = 0; i < node->count; i++)
            if (!mn_fi_retire_tree(set, node->u.inner.children[i])) return 0;
    return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Keyword terms.                                                                            */

static inline uint64_t mn_fi_hash(const char *bytes, uint32_t length) { return XXH3_64bits(bytes, length); }

/* The term for a string in a dictionary tree, or NULL. Reader and writer. */
static mn_fi_term *mn_fi_term_find(const mn_fi_node *terms, const char *bytes, uint32_t length) {
    mn_fi_entry bound = {mn_fi_hash(bytes, length), 0};
    mn_fi_iter it;
    mn_fi_iter_seek(&it, MN_FI_ORDER_PLAIN, terms, &bound);
    for (const mn_fi_entry *e; (e = mn_fi_iter_get(&it)) && e->key == bound.key; mn_fi_iter_next(&it)) {
        mn_fi_term *term = (mn_fi_term *)(uintptr_t)e->label;
        if (term->length == length && memcmp(term->bytes, bytes, length) == 0) return term;
    }
    return NULL;
}

/* Records a pending reference change of a term. */
static mn_status mn_fi_term_touch(mn_field_indexes *set, mn_fi_term *term, int64_t delta) {
    if (!term->touched) {
        if (!mn_fi_vec_reserve(&set->terms, 1)) return MN_ERR_NO_MEMORY;
        set->terms.items[set->terms.count++] = term;
        term->touched = 1;
    }
    term->delta += delta;
    return MN_OK;
}

/* The term for a string in the index being changed, made (fresh) when absent. */
static mn_status mn_fi_term_get(mn_field_indexes *set, mn_field_index *index, const char *bytes, uint32_t length,
                                mn_fi_term **out) {
    mn_fi_term *term = mn_fi_term_find(index->terms, bytes, length);
    if (!term) {
        if (!mn_fi_vec_reserve(&set->terms, 1)) return MN_ERR_NO_MEMORY;
        term = malloc(sizeof(mn_fi_term) + length);
        if (!term) return MN_ERR_NO_MEMORY;
        term->id = set->next_term_id;
        term->refs = 0;
        term->delta = 0;
        term->def = index->def;
        term->touched = 1;
        term->gone = 0;
        term->fresh = 1;
        term->length = length;
        memcpy(term->bytes, bytes, length);
        set->terms.items[set->terms.count++] = term;
        mn_fi_entry entry = {mn_fi_hash(bytes, length), (uint64_t)(uintptr_t)term};
        mn_status status = mn_fi_insert(set, MN_FI_ORDER_PLAIN, &index->terms, &entry);
        if (status != MN_OK) return status; /* the term is freed by the abort, listed above */
        set->next_term_id++;
        *set->charge += sizeof(mn_fi_term) + length;
        (*set->keys)++;
    }
    *out = term;
    return MN_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Transactions.                                                                             */

static void mn_fi_free_snapshot_contents(mn_field_index *index) {
    mn_fi_iter it;
    mn_fi_iter_seek(&it, MN_FI_ORDER_PLAIN, index->terms, NULL);
    for (const mn_fi_entry *e; (e = mn_fi_iter_get(&it)); mn_fi_iter_next(&it)) free((void *)(uintptr_t)e->label);
    mn_fi_free_tree(index->terms);
    mn_fi_free_tree(index->values);
    mn_fi_free_tree(index->present);
    free((void *)index->def);
}

static void mn_fi_begin(mn_field_indexes *set) {
    MN_ASSERT(!set->txn_open && "a caller's transaction is open: stage into it");
    set->txn++;
    const mn_field_snapshot *current = atomic_load_explicit(&set->current, memory_order_relaxed);
    set->work->count = current->count;
    set->work->created = current->created;
    memcpy(set->work->slots, current->slots, current->count * sizeof(mn_field_index));
    set->fresh.count = 0;
    set->retire.count = 0;
    set->retire_other.count = 0;
    set->terms.count = 0;
    set->recycle = 1;
}

static void mn_fi_abort(mn_field_indexes *set) {
    for (size_t i = 0; i < set->fresh.count; i++) mn_fi_node_free(set, set->fresh.items[i]);
    for (size_t i = 0; i < set->terms.count; i++) {
        mn_fi_term *term = set->terms.items[i];
        if (term->fresh) {
            free(term);
        } else {
            term->delta = 0;
            term->touched = 0;
            term->gone = 0;
        }
    }
    set->fresh.count = set->retire.count = set->retire_other.count = set->terms.count = 0;
}

static void mn_fi_free_retired(struct rcu_head *head) {
    mn_fi_retired *retired = caa_container_of(head, mn_fi_retired, head);
    mn_rcu_grace_acquired(); /* no reader that could see these blocks is left */
    mn_fi_pool *pool = retired->pool;
    for (size_t i = 0; i < retired->count; i++) {
        if (i < retired->nodes && retired->recycle &&
            atomic_load_explicit(&pool->pooled, memory_order_relaxed) < atomic_load_explicit(&pool->cap, memory_order_relaxed)) {
            mn_fi_node *node = retired->blocks[i];
            mn_fi_node *top = atomic_load_explicit(&pool->returned, memory_order_relaxed);
            do node->free_next = top;
            while (!atomic_compare_exchange_weak_explicit(&pool->returned, &top, node, memory_order_release,
                                                          memory_order_relaxed));
            atomic_fetch_add_explicit(&pool->pooled, 1, memory_order_relaxed);
        } else {
            free(retired->blocks[i]);
        }
    }
    free(retired);
    mn_fi_pool_release(pool);
}

/* Finds the index being changed's terms with no references left and takes them out of its
 * dictionary (may fail: before anything is published). */
static mn_status mn_fi_settle_terms(mn_field_indexes *set) {
    for (size_t i = 0; i < set->terms.count; i++) {
        mn_fi_term *term = set->terms.items[i];
        MN_ASSERT(term->refs + term->delta >= 0);
        if (term->gone || term->refs + term->delta != 0) continue;
        mn_fi_entry entry = {mn_fi_hash(term->bytes, term->length), (uint64_t)(uintptr_t)term};
        mn_field_index *owner = NULL;
        for (uint32_t s = 0; s < set->work->count && !owner; s++)
            if (set->work->slots[s].def == term->def) owner = &set->work->slots[s];
        MN_ASSERT(owner);
        set->charge = &owner->bytes;
        mn_status status = mn_fi_remove(set, MN_FI_ORDER_PLAIN, &owner->terms, &entry);
        if (status != MN_OK) return status;
        owner->keys--;
        owner->bytes -= sizeof(mn_fi_term) + term->length;
        if (!term->fresh) {
            if (!mn_fi_vec_reserve(&set->retire_other, 1)) return MN_ERR_NO_MEMORY;
            set->retire_other.items[set->retire_other.count++] = term;
        }
        term->gone = 1;
    }
    return MN_OK;
}

/* Makes the work snapshot ready to publish: settles the dictionaries and allocates the new
 * snapshot and the retire batch, the last steps that can fail. On failure everything of the
 * transaction is freed (mn_fi_abort) and MN_ERR_NO_MEMORY returned. */
static mn_status mn_fi_prepare(mn_field_indexes *set) {
    mn_status status = mn_fi_settle_terms(set);
    mn_field_snapshot *snapshot = NULL;
    mn_fi_retired *retired = NULL;
    if (status == MN_OK) {
        size_t size = sizeof(mn_field_snapshot) + set->work->count * sizeof(mn_field_index);
        snapshot = malloc(size);
        retired = malloc(sizeof(mn_fi_retired) + (set->retire.count + set->retire_other.count + 1) * sizeof(void *));
        if (!snapshot || !retired) status = MN_ERR_NO_MEMORY;
    }
    if (status != MN_OK) {
        free(snapshot);
        free(retired);
        mn_fi_abort(set);
        return status;
    }
    set->prepared_snapshot = snapshot;
    set->prepared_retired = retired;
    return MN_OK;
}

/* Publishes a prepared transaction: cannot fail. */
static void mn_fi_publish(mn_field_indexes *set) {
    mn_field_snapshot *snapshot = set->prepared_snapshot;
    mn_fi_retired *retired = set->prepared_retired;
    MN_ASSERT(snapshot && retired);
    set->prepared_snapshot = NULL;
    set->prepared_retired = NULL;
    memcpy(snapshot, set->work, sizeof(mn_field_snapshot) + set->work->count * sizeof(mn_field_index));
    snapshot->version = set->txn; /* txn only grows: no two snapshots of a set share one */
    mn_field_snapshot *old = atomic_load_explicit(&set->current, memory_order_relaxed);
    /* Publish: every node, term and the snapshot were written before this release store. */
    atomic_store_explicit(&set->current, snapshot, memory_order_release);
    uint64_t bytes = sizeof(mn_field_snapshot) + snapshot->count * sizeof(mn_field_index) + snapshot->created.bytes;
    for (uint32_t i = 0; i < snapshot->count; i++) bytes += snapshot->slots[i].bytes;
    atomic_store_explicit(&set->bytes, bytes, memory_order_relaxed);
    int64_t cap = (int64_t)(bytes / sizeof(mn_fi_node) / 8);
    atomic_store_explicit(&set->pool->cap, cap > MN_FI_POOL_NODES_MIN ? cap : MN_FI_POOL_NODES_MIN, memory_order_relaxed);

    for (size_t i = 0; i < set->fresh.count; i++) {
        mn_fi_node *node = set->fresh.items[i];
        if (node->dead) mn_fi_node_free(set, node);
    }
    for (size_t i = 0; i < set->terms.count; i++) {
        mn_fi_term *term = set->terms.items[i];
        if (term->gone && term->fresh) {
            free(term); /* never published */
            continue;
        }
        term->refs += term->delta;
        term->delta = 0;
        term->touched = 0;
        term->fresh = 0;
    }
    retired->pool = set->pool;
    retired->recycle = set->recycle;
    retired->nodes = set->retire.count;
    retired->count = 0;
    for (size_t i = 0; i < set->retire.count; i++) retired->blocks[retired->count++] = set->retire.items[i];
    for (size_t i = 0; i < set->retire_other.count; i++) retired->blocks[retired->count++] = set->retire_other.items[i];
    retired->blocks[retired->count++] = old;
    atomic_fetch_add_explicit(&set->pool->refs, 1, memory_order_relaxed);
    mn_rcu_read_lock(); /* registers the thread, which call_rcu requires */
    urcu_memb_call_rcu(&retired->head, mn_fi_free_retired);
    mn_rcu_read_unlock();
    set->fresh.count = set->retire.count = set->retire_other.count = set->terms.count = 0;
}

/* Publishes the work snapshot, or frees everything and returns MN_ERR_NO_MEMORY. */
static mn_status mn_fi_commit(mn_field_indexes *set) {
    mn_status status = mn_fi_prepare(set);
    if (status != MN_OK) return status;
    mn_fi_publish(set);
    return MN_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Applying a document to one index.                                                         */

/* One indexed key of a field: its entry and, for strings, its term. */
typedef struct mn_fi_key {
    mn_fi_entry entry;
    mn_fi_term *term;
} mn_fi_key;

static int mn_fi_key_sort(const void *a, const void *b) {
    const mn_fi_key *x = a, *y = b;
    return (x->entry.key > y->entry.key) - (x->entry.key < y->entry.key);
}

/* The entries a field gives one index. `create`: make missing terms (new values); otherwise a
 * missing term is MN_ERR_NOT_FOUND (the old document was not the one applied). */
static mn_status mn_fi_keys(mn_field_indexes *set, mn_field_index *index, const mn_fi_field *field, int create,
                            uint64_t label, mn_fi_key *keys, uint32_t *count) {
    *count = 0;
    if (index->def->kind == MN_FIELD_INDEX_NUMERIC) {
        if (field->type == MN_FIELD_TYPE_INT) {
            keys[(*count)++] = (mn_fi_key){{(uint64_t)field->i, label}, NULL};
        } else if (field->type == MN_FIELD_TYPE_DOUBLE && !isnan(field->d)) {
            double d = field->d == 0 ? 0.0 : field->d; /* one zero */
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            keys[(*count)++] = (mn_fi_key){{bits, label | MN_FI_TAG_DOUBLE}, NULL};
        }
        return MN_OK;
    }
    if (field->type == MN_FIELD_TYPE_BOOL) {
        keys[(*count)++] = (mn_fi_key){{((uint64_t)(field->b != 0) << 2) | MN_FI_FORM_BOOL, label}, NULL};
        return MN_OK;
    }
    uint32_t items = field->type == MN_FIELD_TYPE_STRING    ? 1
                     : field->type == MN_FIELD_TYPE_STRINGS ? field->list_count
                                                            : 0;
    uint32_t at = 0;
    for (uint32_t k = 0; k < items; k++) {
        const char *str;
        uint32_t length;
        uint64_t form = MN_FI_FORM_STRING;
        if (field->type == MN_FIELD_TYPE_STRING) {
            str = field->str;
            length = field->str_bytes;
        } else {
            if (mn_meta_list_next(field, &at, &str, &length) != MN_OK) return MN_ERR_CORRUPT;
            form = MN_FI_FORM_ITEM;
        }
        mn_fi_term *term;
        if (create) {
            mn_status status = mn_fi_term_get(set, index, str, length, &term);
            if (status != MN_OK) return status;
        } else {
            term = mn_fi_term_find(index->terms, str, length);
            if (!term) return MN_ERR_NOT_FOUND;
        }
        keys[(*count)++] = (mn_fi_key){{(term->id << 2) | form, label}, term};
    }
    if (*count > 1) { /* a list may repeat an item: one entry per label */
        qsort(keys, *count, sizeof(mn_fi_key), mn_fi_key_sort);
        uint32_t unique = 1;
        for (uint32_t k = 1; k < *count; k++)
            if (keys[k].entry.key != keys[unique - 1].entry.key) keys[unique++] = keys[k];
        *count = unique;
    }
    return MN_OK;
}

static int mn_fi_scratch_reserve(mn_field_indexes *set, size_t keys) {
    if (keys <= set->scratch_capacity) return 1;
    size_t capacity = set->scratch_capacity ? set->scratch_capacity : 512;
    while (capacity < keys) capacity *= 2;
    mn_fi_key *scratch = realloc(set->scratch, capacity * sizeof(mn_fi_key));
    if (!scratch) return 0;
    set->scratch = scratch;
    set->scratch_capacity = capacity;
    return 1;
}

static int mn_fi_field_same(const mn_fi_field *a, const mn_fi_field *b) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case MN_FIELD_TYPE_STRING:
        return a->str_bytes == b->str_bytes && memcmp(a->str, b->str, a->str_bytes) == 0;
    case MN_FIELD_TYPE_INT:
        return a->i == b->i;
    case MN_FIELD_TYPE_DOUBLE:
        return a->d == b->d; /* finite, one zero */
    case MN_FIELD_TYPE_BOOL:
        return a->b == b->b;
    default:
        return a->list_bytes == b->list_bytes && a->list_count == b->list_count &&
               memcmp(a->list, b->list, a->list_bytes) == 0;
    }
}

/* Applies the change of one index's field for one label (inside a transaction). */
static mn_status mn_fi_apply(mn_field_indexes *set, mn_field_index *index, uint64_t label, const uint8_t *old_doc,
                             size_t old_bytes, const uint8_t *new_doc, size_t new_bytes) {
    mn_fi_field old_field, new_field;
    mn_status s_old = mn_fi_doc_get(old_doc, old_bytes, index->def->name, index->def->name_length, &old_field);
    mn_status s_new = mn_fi_doc_get(new_doc, new_bytes, index->def->name, index->def->name_length, &new_field);
    if (s_old == MN_ERR_CORRUPT || s_new == MN_ERR_CORRUPT) return MN_ERR_CORRUPT;
    int had = s_old == MN_OK, has = s_new == MN_OK;
    if (!had && !has) return MN_OK;
    if (had && has && mn_fi_field_same(&old_field, &new_field)) return MN_OK; /* a patch of other fields */
    set->charge = &index->bytes;
    set->keys = &index->keys;
    mn_fi_order order = index->def->kind == MN_FIELD_INDEX_NUMERIC ? MN_FI_ORDER_NUMERIC : MN_FI_ORDER_PLAIN;
    uint32_t old_items = had && old_field.type == MN_FIELD_TYPE_STRINGS ? old_field.list_count : 1;
    uint32_t new_items = has && new_field.type == MN_FIELD_TYPE_STRINGS ? new_field.list_count : 1;
    if (!mn_fi_scratch_reserve(set, (size_t)old_items + new_items)) return MN_ERR_NO_MEMORY;
    mn_fi_key *olds = set->scratch, *news = set->scratch + old_items;
    uint32_t old_count = 0, new_count = 0;
    mn_status status = MN_OK;
    if (had) status = mn_fi_keys(set, index, &old_field, 0, label, olds, &old_count);
    if (status == MN_OK && has) status = mn_fi_keys(set, index, &new_field, 1, label, news, &new_count);
    if (status != MN_OK) return status;
    /* Removals first, then insertions; keys in both lists stay. Lists are short (<= 256). */
    for (int pass = 0; pass < 2; pass++) {
        const mn_fi_key *from = pass == 0 ? olds : news, *other = pass == 0 ? news : olds;
        uint32_t from_count = pass == 0 ? old_count : new_count, other_count = pass == 0 ? new_count : old_count;
        for (uint32_t k = 0; k < from_count; k++) {
            int kept = 0;
            for (uint32_t j = 0; j < other_count && !kept; j++)
                kept = mn_fi_cmp(order, &from[k].entry, &other[j].entry) == 0 &&
                       from[k].entry.label == other[j].entry.label;
            if (kept) continue;
            if (pass == 0) {
                status = mn_fi_remove(set, order, &index->values, &from[k].entry);
            } else {
                status = mn_fi_insert(set, order, &index->values, &from[k].entry);
                if (status == MN_ERR_DUPLICATE) status = MN_ERR_INVALID; /* the label was indexed */
            }
            if (status == MN_OK && from[k].term) status = mn_fi_term_touch(set, from[k].term, pass == 0 ? -1 : 1);
            if (status != MN_OK) return status;
        }
    }
    if (had != has) {
        mn_fi_entry entry = {0, label};
        status = has ? mn_fi_insert(set, MN_FI_ORDER_PLAIN, &index->present, &entry)
                     : mn_fi_remove(set, MN_FI_ORDER_PLAIN, &index->present, &entry);
        if (status == MN_ERR_DUPLICATE) status = MN_ERR_INVALID;
    }
    return status;
}

/* ---------------------------------------------------------------------------------------- */
/* The set: writer side.                                                                     */

static mn_fi_def *mn_fi_def_new(const char *name, uint32_t name_length, mn_field_index_kind kind) {
    mn_fi_def *def = calloc(1, sizeof(mn_fi_def));
    if (!def) return NULL;
    def->kind = kind;
    def->name_length = name_length;
    memcpy(def->name, name, name_length);
    return def;
}

mn_status mn_field_indexes_create(mn_field_indexes **out) {
    if (!out) return MN_ERR_INVALID;
    *out = NULL;
    mn_field_indexes *set = aligned_alloc(MN_CACHE_LINE_SIZE, sizeof(mn_field_indexes));
    if (!set) return MN_ERR_NO_MEMORY;
    memset(set, 0, sizeof(*set));
    size_t snapshot_bytes = sizeof(mn_field_snapshot) + MN_FIELD_INDEXES_MAX * sizeof(mn_field_index);
    set->work = calloc(1, snapshot_bytes);
    set->pool = calloc(1, sizeof(mn_fi_pool));
    mn_field_snapshot *first = calloc(1, sizeof(mn_field_snapshot));
    mn_fi_def *created = mn_fi_def_new(MN_FI_CREATED_NAME, sizeof(MN_FI_CREATED_NAME) - 1, MN_FIELD_INDEX_NUMERIC);
    if (!set->work || !set->pool || !first || !created) {
        free(set->work);
        free(set->pool);
        free(first);
        free(created);
        free(set);
        return MN_ERR_NO_MEMORY;
    }
    first->created.def = created;
    atomic_init(&set->pool->refs, 1);
    atomic_init(&set->pool->cap, MN_FI_POOL_NODES_MIN);
    set->next_term_id = 1;
    atomic_init(&set->current, first);
    atomic_init(&set->bytes, sizeof(mn_field_snapshot));
    *out = set;
    return MN_OK;
}

void mn_field_indexes_destroy(mn_field_indexes *set) {
    if (!set) return;
    mn_field_snapshot *current = atomic_load_explicit(&set->current, memory_order_acquire);
    mn_fi_free_snapshot_contents(&current->created);
    for (uint32_t i = 0; i < current->count; i++) mn_fi_free_snapshot_contents(&current->slots[i]);
    free(current);
    free(set->work);
    while (set->local) {
        mn_fi_node *next = set->local->free_next;
        free(set->local);
        set->local = next;
    }
    mn_fi_pool_release(set->pool); /* freed now, or by the last pending retire batch */
    free(set->fresh.items);
    free(set->retire.items);
    free(set->retire_other.items);
    free(set->terms.items);
    free(set->scratch);
    free(set);
}

uint64_t mn_field_indexes_bytes(const mn_field_indexes *set) {
    return atomic_load_explicit(&((mn_field_indexes *)set)->bytes, memory_order_relaxed);
}

static int mn_fi_name_equal(const mn_fi_def *def, const char *name, uint32_t name_length) {
    return def->name_length == name_length && memcmp(def->name, name, name_length) == 0;
}

mn_status mn_field_indexes_add(mn_field_indexes *set, const char *name, uint32_t name_length,
                               mn_field_index_kind kind, mn_field_doc_next next, void *context) {
    if (!set || !next || (!name && name_length) || name_length == 0 ||
        (kind != MN_FIELD_INDEX_KEYWORD && kind != MN_FIELD_INDEX_NUMERIC))
        return MN_ERR_INVALID;
    mn_fi_begin(set);
    mn_field_snapshot *work = set->work;
    if (mn_fi_name_equal(work->created.def, name, name_length)) return MN_ERR_DUPLICATE;
    mn_status valid = mn_meta_name_validate(name, name_length, NULL); /* a name a document can hold */
    if (valid != MN_OK) return valid;
    for (uint32_t i = 0; i < work->count; i++)
        if (mn_fi_name_equal(work->slots[i].def, name, name_length)) return MN_ERR_DUPLICATE;
    if (work->count == MN_FIELD_INDEXES_MAX) return MN_ERR_FULL;
    mn_fi_def *def = mn_fi_def_new(name, name_length, kind);
    if (!def) return MN_ERR_NO_MEMORY;
    mn_field_index *index = &work->slots[work->count++];
    memset(index, 0, sizeof(*index));
    index->def = def;
    index->bytes = sizeof(mn_fi_def);
    mn_status status = MN_OK;
    for (;;) {
        uint64_t label = 0;
        const uint8_t *doc = NULL;
        size_t doc_bytes = 0;
        bool more = false;
        status = next(context, &label, &doc, &doc_bytes, &more);
        if (status != MN_OK || !more) break;
        if (label > MN_ENGINE_LABEL_MAX) {
            status = MN_ERR_INVALID;
            break;
        }
        status = mn_fi_apply(set, index, label, NULL, 0, doc, doc_bytes);
        if (status != MN_OK) break;
    }
    if (status == MN_OK) status = mn_fi_commit(set);
    else mn_fi_abort(set);
    if (status != MN_OK) free(def);
    return status;
}

mn_status mn_field_indexes_drop(mn_field_indexes *set, const char *name, uint32_t name_length) {
    if (!set || (!name && name_length)) return MN_ERR_INVALID;
    mn_fi_begin(set);
    mn_field_snapshot *work = set->work;
    uint32_t at = work->count;
    for (uint32_t i = 0; i < work->count; i++)
        if (mn_fi_name_equal(work->slots[i].def, name, name_length)) at = i;
    if (at == work->count) return MN_ERR_NOT_FOUND;
    mn_field_index dropped = work->slots[at];
    memmove(&work->slots[at], &work->slots[at + 1], (work->count - at - 1) * sizeof(mn_field_index));
    work->count--;
    /* Every block of the dropped index waits for a grace period: readers may be in it. */
    int ok = mn_fi_retire_tree(set, dropped.values) && mn_fi_retire_tree(set, dropped.present);
    mn_fi_iter it;
    mn_fi_iter_seek(&it, MN_FI_ORDER_PLAIN, dropped.terms, NULL);
    for (const mn_fi_entry *e; ok && (e = mn_fi_iter_get(&it)); mn_fi_iter_next(&it)) {
        ok = mn_fi_vec_reserve(&set->retire_other, 1);
        if (ok) set->retire_other.items[set->retire_other.count++] = (void *)(uintptr_t)e->label;
    }
    ok = ok && mn_fi_retire_tree(set, dropped.terms) && mn_fi_vec_reserve(&set->retire_other, 1);
    if (!ok) {
        mn_fi_abort(set);
        return MN_ERR_NO_MEMORY;
    }
    set->retire_other.items[set->retire_other.count++] = (void *)dropped.def;
    set->recycle = 0; /* a whole index: its memory goes back to the system */
    return mn_fi_commit(set);
}

/* One memory's whole change in one transaction: its createdAt entry (created_insert /
 * created_remove: insert 1 / 0; -1 leaves it) and its document's fields. */
static mn_status mn_fi_memory_change(mn_field_indexes *set, uint64_t label, int64_t created_at_ns, int created,
                                     const uint8_t *old_doc, size_t old_bytes, const uint8_t *new_doc,
                                     size_t new_bytes) {
    if (!set || label > MN_ENGINE_LABEL_MAX || (!old_doc && old_bytes) || (!new_doc && new_bytes))
        return MN_ERR_INVALID;
    if (created < 0 && atomic_load_explicit(&set->current, memory_order_relaxed)->count == 0) return MN_OK;
    mn_fi_begin(set);
    mn_status status = MN_OK;
    for (uint32_t i = 0; i < set->work->count && status == MN_OK; i++)
        status = mn_fi_apply(set, &set->work->slots[i], label, old_doc, old_bytes, new_doc, new_bytes);
    if (status == MN_OK && created >= 0) {
        mn_field_index *index = &set->work->created;
        mn_fi_entry entry = {(uint64_t)created_at_ns, label};
        set->charge = &index->bytes;
        set->keys = &index->keys;
        status = created ? mn_fi_insert(set, MN_FI_ORDER_NUMERIC, &index->values, &entry)
                         : mn_fi_remove(set, MN_FI_ORDER_NUMERIC, &index->values, &entry);
    }
    if (status != MN_OK) {
        mn_fi_abort(set);
        return status;
    }
    if (set->fresh.count == 0 && set->retire.count == 0) return MN_OK; /* no indexed field changed */
    return mn_fi_commit(set);
}

mn_status mn_field_indexes_update(mn_field_indexes *set, uint64_t label, const uint8_t *old_doc,
                                  size_t old_bytes, const uint8_t *new_doc, size_t new_bytes) {
    return mn_fi_memory_change(set, label, 0, -1, old_doc, old_bytes, new_doc, new_bytes);
}

mn_status mn_field_indexes_insert(mn_field_indexes *set, uint64_t label, int64_t created_at_ns, const uint8_t *doc,
                                  size_t doc_bytes) {
    return mn_fi_memory_change(set, label, created_at_ns, 1, NULL, 0, doc, doc_bytes);
}

mn_status mn_field_indexes_remove(mn_field_indexes *set, uint64_t label, int64_t created_at_ns, const uint8_t *doc,
                                  size_t doc_bytes) {
    return mn_fi_memory_change(set, label, created_at_ns, 0, doc, doc_bytes, NULL, 0);
}

mn_status mn_field_indexes_created_insert(mn_field_indexes *set, uint64_t label, int64_t created_at_ns) {
    return mn_fi_memory_change(set, label, created_at_ns, 1, NULL, 0, NULL, 0);
}

mn_status mn_field_indexes_created_remove(mn_field_indexes *set, uint64_t label, int64_t created_at_ns) {
    return mn_fi_memory_change(set, label, created_at_ns, 0, NULL, 0, NULL, 0);
}

/* ---- a caller's transaction: many memories' changes, published at once or not at all ---- */

void mn_field_indexes_txn_begin(mn_field_indexes *set) {
    MN_ASSERT(set);
    mn_fi_begin(set);
    set->txn_open = 1;
    set->txn_changes = 0;
}

static mn_status mn_fi_txn_stage(mn_field_indexes *set, uint64_t label, int64_t created_at_ns, int created,
                                 const uint8_t *old_doc, size_t old_bytes, const uint8_t *new_doc,
                                 size_t new_bytes) {
    MN_ASSERT(set && set->txn_open && !set->prepared_snapshot);
    mn_status status = MN_OK;
    if (label > MN_ENGINE_LABEL_MAX || (!old_doc && old_bytes) || (!new_doc && new_bytes)) status = MN_ERR_INVALID;
    for (uint32_t i = 0; status == MN_OK && i < set->work->count; i++)
        status = mn_fi_apply(set, &set->work->slots[i], label, old_doc, old_bytes, new_doc, new_bytes);
    if (status == MN_OK && created >= 0) {
        mn_field_index *index = &set->work->created;
        mn_fi_entry entry = {(uint64_t)created_at_ns, label};
        set->charge = &index->bytes;
        set->keys = &index->keys;
        status = created ? mn_fi_insert(set, MN_FI_ORDER_NUMERIC, &index->values, &entry)
                         : mn_fi_remove(set, MN_FI_ORDER_NUMERIC, &index->values, &entry);
    }
    if (status != MN_OK) {
        mn_fi_abort(set);
        set->txn_open = 0;
        return status;
    }
    if (set->fresh.count != 0 || set->retire.count != 0) set->txn_changes = 1;
    return MN_OK;
}

mn_status mn_field_indexes_txn_insert(mn_field_indexes *set, uint64_t label, int64_t created_at_ns,
                                      const uint8_t *doc, size_t doc_bytes) {
    return mn_fi_txn_stage(set, label, created_at_ns, 1, NULL, 0, doc, doc_bytes);
}

mn_status mn_field_indexes_txn_remove(mn_field_indexes *set, uint64_t label, int64_t created_at_ns,
                                      const uint8_t *doc, size_t doc_bytes) {
    return mn_fi_txn_stage(set, label, created_at_ns, 0, doc, doc_bytes, NULL, 0);
}

mn_status mn_field_indexes_txn_update(mn_field_indexes *set, uint64_t label, const uint8_t *old_doc,
                                      size_t old_bytes, const uint8_t *new_doc, size_t new_bytes) {
    return mn_fi_txn_stage(set, label, 0, -1, old_doc, old_bytes, new_doc, new_bytes);
}

mn_status mn_field_indexes_txn_prepare(mn_field_indexes *set) {
    MN_ASSERT(set && set->txn_open && !set->prepared_snapshot);
    if (!set->txn_changes) return MN_OK; /* nothing indexed changed: publish will do nothing */
    mn_status status = mn_fi_prepare(set);
    if (status != MN_OK) set->txn_open = 0;
    return status;
}

void mn_field_indexes_txn_publish(mn_field_indexes *set) {
    MN_ASSERT(set && set->txn_open);
    set->txn_open = 0;
    if (!set->txn_changes) {
        mn_fi_abort(set); /* resets the (empty) transaction's bookkeeping */
        return;
    }
    mn_fi_publish(set);
}

void mn_field_indexes_txn_abort(mn_field_indexes *set) {
    if (!set || !set->txn_open) return;
    set->txn_open = 0;
    free(set->prepared_snapshot);
    free(set->prepared_retired);
    set->prepared_snapshot = NULL;
    set->prepared_retired = NULL;
    mn_fi_abort(set);
}

/* ---------------------------------------------------------------------------------------- */
/* Readers.                                                                                  */

const mn_field_snapshot *mn_field_indexes_snapshot(const mn_field_indexes *set) {
    return atomic_load_explicit(&((mn_field_indexes *)set)->current, memory_order_acquire);
}

const mn_field_index *mn_field_snapshot_find(const mn_field_snapshot *snapshot, const char *name,
                                             uint32_t name_length) {
    if (!snapshot || (!name && name_length)) return NULL;
    for (uint32_t i = 0; i < snapshot->count; i++)
        if (mn_fi_name_equal(snapshot->slots[i].def, name, name_length)) return &snapshot->slots[i];
    return NULL;
}

const mn_field_index *mn_field_snapshot_created_at(const mn_field_snapshot *snapshot) { return &snapshot->created; }

uint32_t mn_field_snapshot_count(const mn_field_snapshot *snapshot) { return snapshot->count; }

uint64_t mn_field_snapshot_version(const mn_field_snapshot *snapshot) { return snapshot->version; }

const mn_field_index *mn_field_snapshot_at(const mn_field_snapshot *snapshot, uint32_t i) {
    return i < snapshot->count ? &snapshot->slots[i] : NULL;
}

static inline int mn_fi_is_created(const mn_field_index *index) { return index->present == NULL && index->def->kind == MN_FIELD_INDEX_NUMERIC && index->def->name_length == sizeof(MN_FI_CREATED_NAME) - 1 && memcmp(index->def->name, MN_FI_CREATED_NAME, sizeof(MN_FI_CREATED_NAME) - 1) == 0; }

void mn_field_index_describe(const mn_field_index *index, mn_field_index_info *info) {
    info->name = index->def->name;
    info->name_length = index->def->name_length;
    info->kind = index->def->kind;
    info->entries = mn_fi_total(index->values);
    info->present = mn_fi_is_created(index) ? info->entries : mn_fi_total(index->present);
    info->keys = index->keys;
    info->bytes = index->bytes;
}

/* A predicate operand as a half-open range [lo, hi) of one tree. */
typedef struct mn_fi_span {
    const mn_fi_node *root;
    mn_fi_order order;
    int all; /* the whole tree */
    int empty;
    int lo_open, hi_open; /* unbounded below / above */
    mn_fi_entry lo, hi;
} mn_fi_span;

static mn_status mn_fi_numeric_bits(const mn_field_value *value, uint64_t *bits, uint64_t *tag) {
    if (value->type == MN_FIELD_TYPE_INT) {
        *bits = (uint64_t)value->integer;
        *tag = 0;
        return MN_OK;
    }
    if (value->type == MN_FIELD_TYPE_DOUBLE) {
        if (isnan(value->number)) return MN_ERR_INVALID;
        double d = value->number == 0 ? 0.0 : value->number;
        memcpy(bits, &d, sizeof d);
        *tag = MN_FI_TAG_DOUBLE;
        return MN_OK;
    }
    if (value->type >= MN_FIELD_TYPE_STRING && value->type <= MN_FIELD_TYPE_STRINGS) return MN_ERR_UNSUPPORTED;
    return MN_ERR_INVALID;
}

/* The span of one operand (EQ / IN) on an index. */
static mn_status mn_fi_span_value(const mn_field_index *index, const mn_field_value *value, mn_fi_span *span) {
    memset(span, 0, sizeof(*span));
    span->root = index->values;
    if (index->def->kind == MN_FIELD_INDEX_NUMERIC) {
        span->order = MN_FI_ORDER_NUMERIC;
        uint64_t bits, tag;
        mn_status status = mn_fi_numeric_bits(value, &bits, &tag);
        if (status != MN_OK) return status;
        span->lo = (mn_fi_entry){bits, tag};
        span->hi = (mn_fi_entry){bits, tag | MN_FI_LABEL_MASK};
        return MN_OK;
    }
    span->order = MN_FI_ORDER_PLAIN;
    uint64_t key;
    switch (value->type) {
    case MN_FIELD_TYPE_BOOL:
        key = ((uint64_t)(value->boolean != 0) << 2) | MN_FI_FORM_BOOL;
        break;
    case MN_FIELD_TYPE_STRING:
    case MN_FIELD_TYPE_STRINGS: {
        if (!value->string && value->length) return MN_ERR_INVALID;
        const mn_fi_term *term = mn_fi_term_find(index->terms, value->string ? value->string : "", value->length);
        if (!term) {
            span->empty = 1;
            return MN_OK;
        }
        key = (term->id << 2) | (value->type == MN_FIELD_TYPE_STRING ? MN_FI_FORM_STRING : MN_FI_FORM_ITEM);
        break;
    }
    case MN_FIELD_TYPE_INT:
    case MN_FIELD_TYPE_DOUBLE:
        return MN_ERR_UNSUPPORTED;
    default:
        return MN_ERR_INVALID;
    }
    span->lo = (mn_fi_entry){key, 0};
    span->hi = (mn_fi_entry){key + 1, 0};
    return MN_OK;
}

static mn_status mn_fi_span_range(const mn_field_index *index, const mn_field_predicate *p, mn_fi_span *span) {
    memset(span, 0, sizeof(*span));
    if (index->def->kind != MN_FIELD_INDEX_NUMERIC) return MN_ERR_UNSUPPORTED;
    span->root = index->values;
    span->order = MN_FI_ORDER_NUMERIC;
    span->lo_open = !p->low.present;
    span->hi_open = !p->high.present;
    uint64_t bits, tag;
    if (p->low.present) {
        mn_status status = mn_fi_numeric_bits(&p->low.value, &bits, &tag);
        if (status != MN_OK) return status;
        span->lo = (mn_fi_entry){bits, tag | (p->low.inclusive ? 0 : MN_FI_LABEL_MASK)};
    }
    if (p->high.present) {
        mn_status status = mn_fi_numeric_bits(&p->high.value, &bits, &tag);
        if (status != MN_OK) return status;
        span->hi = (mn_fi_entry){bits, tag | (p->high.inclusive ? MN_FI_LABEL_MASK : 0)};
    }
    if (!span->lo_open && !span->hi_open && mn_fi_cmp(MN_FI_ORDER_NUMERIC, &span->lo, &span->hi) >= 0) span->empty = 1;
    return MN_OK;
}

static uint64_t mn_fi_span_count(const mn_fi_span *span) {
    if (span->empty) return 0;
    if (span->all) return mn_fi_total(span->root);
    uint64_t lo = span->lo_open ? 0 : mn_fi_rank(span->order, span->root, &span->lo);
    uint64_t hi = span->hi_open ? mn_fi_total(span->root) : mn_fi_rank(span->order, span->root, &span->hi);
    return hi > lo ? hi - lo : 0;
}

/* Writes the labels of a span's first `n` entries (n from mn_fi_span_count: the walk needs no
 * comparison per entry) to out[0 .. n), or sets them in `bitmap` when out is NULL. */
static void mn_fi_span_walk(const mn_fi_span *span, uint64_t n, uint64_t *out, mn_label_bitmap *bitmap) {
    if (span->empty || n == 0) return;
    mn_fi_iter it;
    mn_fi_iter_seek(&it, span->order, span->root, (span->all || span->lo_open) ? NULL : &span->lo);
    uint64_t mask = span->order == MN_FI_ORDER_NUMERIC ? MN_FI_LABEL_MASK : UINT64_MAX;
    while (n > 0 && it.depth >= 0) {
        /* the rest of the current leaf at once */
        const mn_fi_node *leaf = it.path[it.depth];
        uint32_t at = it.at[it.depth];
        uint64_t take = leaf->count - at < n ? leaf->count - at : n;
        const mn_fi_entry *e = &leaf->u.entries[at];
        if (out) {
            for (uint64_t k = 0; k < take; k++) out[k] = e[k].label & mask;
            out += take;
        } else {
            for (uint64_t k = 0; k < take; k++) mn_label_bitmap_set(bitmap, e[k].label & mask);
        }
        n -= take;
        it.at[it.depth] = leaf->count;
        mn_fi_iter_settle(&it);
    }
}

/* Whether an operand before the i-th gives the same span (in [x, x], in [3, 3.0]): such repeats
 * are skipped, so they are neither counted twice nor collected twice. */
static int mn_fi_span_repeated(const mn_field_index *index, const mn_field_predicate *p, uint32_t i,
                               const mn_fi_span *span) {
    const mn_field_value *v = &p->values[i];
    for (uint32_t j = 0; j < i; j++) {
        const mn_field_value *w = &p->values[j];
        if (index->def->kind == MN_FIELD_INDEX_KEYWORD) { /* compared as values: no lookups */
            if (v->type != w->type) continue;
            if (v->type == MN_FIELD_TYPE_BOOL ? (v->boolean != 0) == (w->boolean != 0)
                                              : v->length == w->length && (v->length == 0 || memcmp(v->string, w->string, v->length) == 0))
                return 1;
            continue;
        }
        mn_fi_span other;
        mn_fi_span_value(index, w, &other);
        if (!other.empty && mn_fi_cmp(span->order, &other.lo, &span->lo) == 0 &&
            mn_fi_cmp(span->order, &other.hi, &span->hi) == 0)
            return 1;
    }
    return 0;
}

/* Checks a predicate and calls `each` for each of its spans (empty and repeated ones skipped). */
typedef void (*mn_fi_each_span)(void *context, const mn_fi_span *span);

static mn_status mn_fi_spans(const mn_field_index *index, const mn_field_predicate *p, mn_fi_each_span each,
                             void *context, uint32_t *spans) {
    if (!index || !p) return MN_ERR_INVALID;
    mn_fi_span span;
    *spans = 0;
    switch (p->op) {
    case MN_FIELD_OP_EXISTS:
        memset(&span, 0, sizeof span);
        span.all = 1;
        span.order = mn_fi_is_created(index) ? MN_FI_ORDER_NUMERIC : MN_FI_ORDER_PLAIN;
        span.root = mn_fi_is_created(index) ? index->values : index->present;
        *spans = 1;
        each(context, &span);
        return MN_OK;
    case MN_FIELD_OP_RANGE: {
        mn_status status = mn_fi_span_range(index, p, &span);
        if (status != MN_OK) return status;
        *spans = 1;
        each(context, &span);
        return MN_OK;
    }
    case MN_FIELD_OP_EQ:
    case MN_FIELD_OP_IN: {
        uint32_t n = p->op == MN_FIELD_OP_EQ ? 1 : p->value_count;
        if (!p->values || n == 0 || n > MN_FIELD_IN_MAX || (p->op == MN_FIELD_OP_EQ && p->value_count > 1))
            return MN_ERR_INVALID;
        /* check every operand before visiting any, so an error has no partial effect */
        for (uint32_t i = 0; i < n; i++) {
            mn_status status = mn_fi_span_value(index, &p->values[i], &span);
            if (status != MN_OK) return status;
        }
        for (uint32_t i = 0; i < n; i++) {
            mn_fi_span_value(index, &p->values[i], &span);
            if (span.empty || mn_fi_span_repeated(index, p, i, &span)) continue;
            each(context, &span);
            (*spans)++;
        }
        return MN_OK;
    }
    default:
        return MN_ERR_INVALID;
    }
}

static void mn_fi_count_span(void *context, const mn_fi_span *span) { *(uint64_t *)context += mn_fi_span_count(span); }

mn_status mn_field_index_count(const mn_field_index *index, const mn_field_predicate *predicate, uint64_t *count) {
    if (!count) return MN_ERR_INVALID;
    *count = 0;
    uint64_t total = 0;
    uint32_t spans;
    mn_status status = mn_fi_spans(index, predicate, mn_fi_count_span, &total, &spans);
    if (status != MN_OK) return status;
    *count = total;
    return MN_OK;
}

typedef struct mn_fi_collector {
    uint64_t *labels;
    size_t capacity;
    size_t count;
} mn_fi_collector;

static void mn_fi_collect_span(void *context, const mn_fi_span *span) {
    mn_fi_collector *c = context;
    /* a span larger than the room left is counted, not walked */
    uint64_t n = mn_fi_span_count(span);
    if (c->count + n <= c->capacity) mn_fi_span_walk(span, n, c->labels + c->count, NULL);
    c->count += n;
}

static void mn_fi_insertion_sort(uint64_t *a, size_t n) {
    for (size_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--) a[j] = a[j - 1];
        a[j] = v;
    }
}

/* In-place MSD radix sort (American flag sort) of labels on bits [0, shift + 8): no memory
 * beyond 4 KiB of stack per byte of the largest label, O(n) per byte. */
static void mn_fi_radix_sort(uint64_t *a, size_t n, int shift) {
    if (n <= 48) {
        mn_fi_insertion_sort(a, n);
        return;
    }
    size_t next[256], end[256];
    memset(end, 0, sizeof end);
    for (size_t i = 0; i < n; i++) end[(a[i] >> shift) & 255]++;
    size_t sum = 0;
    for (int b = 0; b < 256; b++) {
        next[b] = sum;
        sum += end[b];
        end[b] = sum;
    }
    for (int b = 0; b < 256; b++) {
        while (next[b] < end[b]) {
            uint64_t v = a[next[b]];
            int d = (int)((v >> shift) & 255);
            while (d != b) { /* carry v to its bucket, taking what was there */
                uint64_t w = a[next[d]];
                a[next[d]++] = v;
                v = w;
                d = (int)((v >> shift) & 255);
            }
            a[next[b]++] = v;
        }
    }
    if (shift == 0) return;
    size_t start = 0;
    for (int b = 0; b < 256; b++) {
        if (end[b] - start > 1) mn_fi_radix_sort(a + start, end[b] - start, shift - 8);
        start = end[b];
    }
}

static void mn_fi_sort_labels(uint64_t *a, size_t n) {
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++) max = a[i] > max ? a[i] : max;
    int shift = 0;
    while (shift < 56 && (max >> (shift + 8)) != 0) shift += 8;
    mn_fi_radix_sort(a, n, shift);
}

mn_status mn_field_index_collect(const mn_field_index *index, const mn_field_predicate *predicate, uint64_t *labels,
                                 size_t capacity, size_t *count) {
    if (!count || (!labels && capacity)) return MN_ERR_INVALID;
    *count = 0;
    mn_fi_collector c = {labels, capacity, 0};
    uint32_t spans;
    mn_status status = mn_fi_spans(index, predicate, mn_fi_collect_span, &c, &spans);
    if (status != MN_OK) return status;
    if (c.count > capacity) {
        *count = c.count;
        return MN_ERR_FULL;
    }
    /* One value's span and a present set are label-ordered; ranges and unions are sorted, and
     * so is createdAt's EXISTS (it walks the times, which need not grow with the labels). */
    int sorted = spans <= 1 && predicate->op != MN_FIELD_OP_RANGE &&
                 !(predicate->op == MN_FIELD_OP_EXISTS && mn_fi_is_created(index));
    if (!sorted && c.count > 1) {
        mn_fi_sort_labels(labels, c.count);
        size_t unique = 1;
        for (size_t i = 1; i < c.count; i++)
            if (labels[i] != labels[unique - 1]) labels[unique++] = labels[i];
        c.count = unique;
    }
    *count = c.count;
    return MN_OK;
}

static void mn_fi_bitmap_span(void *context, const mn_fi_span *span) {
    mn_fi_span_walk(span, mn_fi_span_count(span), NULL, context);
}

mn_status mn_field_index_collect_bitmap(const mn_field_index *index, const mn_field_predicate *predicate,
                                        mn_label_bitmap *bitmap) {
    if (!bitmap || (!bitmap->words && bitmap->bits)) return MN_ERR_INVALID;
    uint32_t spans;
    return mn_fi_spans(index, predicate, mn_fi_bitmap_span, bitmap, &spans);
}

/* ---------------------------------------------------------------------------------------- */
/* Structure check.                                                                          */

/* Checks a subtree whose entries must lie in [lo, hi) (NULL: unbounded); returns its entry
 * count through *total and its leaf depth through *depth, or 0 when broken. */
static int mn_fi_check_node(mn_fi_order order, const mn_fi_node *node, const mn_fi_entry *lo, const mn_fi_entry *hi,
                            int level, int *depth, uint64_t *total) {
    if (level >= MN_FI_HEIGHT_MAX || node->count == 0) return 0;
    if (node->leaf) {
        if (node->count > MN_FI_LEAF_MAX) return 0;
        for (uint32_t i = 0; i < node->count; i++) {
            const mn_fi_entry *e = &node->u.entries[i];
            if (i > 0 && mn_fi_cmp(order, &node->u.entries[i - 1], e) >= 0) return 0;
            if ((lo && mn_fi_cmp(order, e, lo) < 0) || (hi && mn_fi_cmp(order, e, hi) >= 0)) return 0;
        }
        if (*depth < 0) *depth = level;
        *total = node->count;
        return *depth == level;
    }
    if (node->count > MN_FI_INNER_MAX) return 0;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < node->count; i++) {
        const mn_fi_entry *child_lo = i == 0 ? lo : &node->u.inner.mins[i];
        const mn_fi_entry *child_hi = i + 1 < node->count ? &node->u.inner.mins[i + 1] : hi;
        if (i > 0 && mn_fi_cmp(order, &node->u.inner.mins[i - 1], &node->u.inner.mins[i]) >= 0) return 0;
        if (i > 0 && lo && mn_fi_cmp(order, &node->u.inner.mins[i], lo) < 0) return 0;
        uint64_t child_total;
        if (!mn_fi_check_node(order, node->u.inner.children[i], child_lo, child_hi, level + 1, depth, &child_total))
            return 0;
        if (child_total != node->u.inner.sizes[i]) return 0;
        sum += child_total;
    }
    *total = sum;
    return 1;
}

static int mn_fi_check_tree(mn_fi_order order, const mn_fi_node *root) {
    if (!root) return 1;
    int depth = -1;
    uint64_t total;
    return mn_fi_check_node(order, root, NULL, NULL, 0, &depth, &total);
}

mn_status mn_field_index_check(const mn_field_index *index) {
    if (!index) return MN_ERR_INVALID;
    mn_fi_order order = index->def->kind == MN_FIELD_INDEX_NUMERIC ? MN_FI_ORDER_NUMERIC : MN_FI_ORDER_PLAIN;
    if (!mn_fi_check_tree(order, index->values) || !mn_fi_check_tree(MN_FI_ORDER_PLAIN, index->present) ||
        !mn_fi_check_tree(MN_FI_ORDER_PLAIN, index->terms))
        return MN_ERR_CORRUPT;
    /* every term in the dictionary is at its hash */
    mn_fi_iter it;
    uint64_t terms = 0;
    mn_fi_iter_seek(&it, MN_FI_ORDER_PLAIN, index->terms, NULL);
    for (const mn_fi_entry *e; (e = mn_fi_iter_get(&it)); mn_fi_iter_next(&it), terms++) {
        const mn_fi_term *term = (const mn_fi_term *)(uintptr_t)e->label;
        if (mn_fi_hash(term->bytes, term->length) != e->key) return MN_ERR_CORRUPT;
    }
    if (terms != index->keys) return MN_ERR_CORRUPT;
    /* keyword and present entries carry real labels; numeric ones no stray tag bits */
    mn_fi_iter_seek(&it, order, index->values, NULL);
    for (const mn_fi_entry *e; (e = mn_fi_iter_get(&it)); mn_fi_iter_next(&it))
        if ((e->label & MN_FI_LABEL_MASK) > MN_ENGINE_LABEL_MAX) return MN_ERR_CORRUPT;
    return MN_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Label bitmaps.                                                                            */

mn_status mn_label_bitmap_init(mn_label_bitmap *bitmap, uint64_t bits) {
    if (!bitmap || bits > MN_ENGINE_LABEL_MAX) return MN_ERR_INVALID;
    bitmap->bits = bits;
    bitmap->words = NULL;
    size_t words = (size_t)((bits + 63) / 64);
    if (words == 0) return MN_OK;
    bitmap->words = calloc(words, sizeof(uint64_t));
    if (!bitmap->words) {
        bitmap->bits = 0;
        return MN_ERR_NO_MEMORY;
    }
    return MN_OK;
}

void mn_label_bitmap_destroy(mn_label_bitmap *bitmap) {
    if (!bitmap) return;
    free(bitmap->words);
    bitmap->words = NULL;
    bitmap->bits = 0;
}

void mn_label_bitmap_clear(mn_label_bitmap *bitmap) {
    if (bitmap->words) memset(bitmap->words, 0, (size_t)((bitmap->bits + 63) / 64) * sizeof(uint64_t));
}

void mn_label_bitmap_set(mn_label_bitmap *bitmap, uint64_t label) {
    if (label < bitmap->bits) bitmap->words[label / 64] |= 1ull << (label % 64);
}

bool mn_label_bitmap_test(const mn_label_bitmap *bitmap, uint64_t label) {
    return label < bitmap->bits && (bitmap->words[label / 64] >> (label % 64) & 1u);
}

static size_t mn_fi_words(const mn_label_bitmap *bitmap) { return (size_t)((bitmap->bits + 63) / 64); }

void mn_label_bitmap_and(mn_label_bitmap *into, const mn_label_bitmap *other) {
    size_t n = mn_fi_words(into), m = mn_fi_words(other);
    for (size_t i = 0; i < n; i++) into->words[i] &= i < m ? other->words[i] : 0;
}

void mn_label_bitmap_or(mn_label_bitmap *into, const mn_label_bitmap *other) {
    size_t n = mn_fi_words(into), m = mn_fi_words(other);
    for (size_t i = 0; i < n && i < m; i++) into->words[i] |= other->words[i];
    /* other's bits past into->bits are dropped; the last word keeps only valid bits */
    if (into->bits % 64 && n > 0) into->words[n - 1] &= (1ull << (into->bits % 64)) - 1;
}

void mn_label_bitmap_andnot(mn_label_bitmap *into, const mn_label_bitmap *other) {
    size_t n = mn_fi_words(into), m = mn_fi_words(other);
    for (size_t i = 0; i < n && i < m; i++) into->words[i] &= ~other->words[i];
}

void mn_label_bitmap_not(mn_label_bitmap *bitmap) {
    size_t n = mn_fi_words(bitmap);
    for (size_t i = 0; i < n; i++) bitmap->words[i] = ~bitmap->words[i];
    if (bitmap->bits % 64 && n > 0) bitmap->words[n - 1] &= (1ull << (bitmap->bits % 64)) - 1;
}

uint64_t mn_label_bitmap_count(const mn_label_bitmap *bitmap) {
    uint64_t count = 0;
    size_t n = mn_fi_words(bitmap);
    for (size_t i = 0; i < n; i++) count += (uint64_t)__builtin_popcountll(bitmap->words[i]);
    return count;
}

bool mn_label_bitmap_next(const mn_label_bitmap *bitmap, uint64_t from, uint64_t *label) {
    if (from >= bitmap->bits) return false;
    size_t n = mn_fi_words(bitmap), w = (size_t)(from / 64);
    uint64_t word = bitmap->words[w] & (~0ull << (from % 64));
    for (;;) {
        if (word) {
            *label = (uint64_t)w * 64 + (uint64_t)__builtin_ctzll(word);
            return *label < bitmap->bits;
        }
        if (++w >= n) return false;
        word = bitmap->words[w];
    }
}
