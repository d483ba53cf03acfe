/*
 * mn_assoc_internal.h: the association table's structures, shared by the table (mn_assoc.c),
 * recall (mn_assoc_recall.c) and the stream code (mn_assoc_io.c).
 *
 * The table maps a memory id to an immutable list of its links: open addressing with linear
 * probing over a power-of-two slot array. A slot, once used for an id, keeps that id for the
 * life of the slot array; a memory without links keeps its slot with a NULL list (a tombstone),
 * and the array is rebuilt without tombstones (then published as a whole) when used slots pass
 * MN_ASSOC_TABLE_LOAD_PERCENT. Readers never see a slot change its id, so a probe needs no lock.
 *
 * | field                 | written by           | read by            | ordering                |
 * |-----------------------|----------------------|--------------------|-------------------------|
 * | mn_assoc.table        | the writer           | readers            | release / acquire       |
 * | slot.used             | the writer (0 -> 1)  | readers            | release / acquire       |
 * | slot.id               | the writer, before   | readers, after     | ordered by slot.used    |
 * |                       |   used is set        |   used is seen     |                         |
 * | slot.list             | the writer           | readers            | release / acquire       |
 * | list contents         | the writer, before   | readers            | immutable once          |
 * |                       |   publication        |                    |   published             |
 * | mn_assoc.links        | the writer           | anyone (stats)     | relaxed                 |
 * | used, live, retired   | the writer           | the writer         | one writer at a time    |
 */
#ifndef MN_ASSOC_INTERNAL_H
#define MN_ASSOC_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "assoc/mn_assoc.h"
#include "util/mn_rcu.h"

/** Slot arrays start at this many slots and are rebuilt past this fill. */
#define MN_ASSOC_TABLE_MIN_CAPACITY 64u
#define MN_ASSOC_TABLE_LOAD_PERCENT 70u

/** One memory's links: out_count outgoing links by ascending id, then in_count incoming ones
 *  by ascending id. Immutable once published. */
typedef struct mn_assoc_list {
    uint32_t out_count;
    uint32_t in_count;
    mn_assoc_edge links[];
} mn_assoc_list;

typedef struct mn_assoc_slot {
    uint64_t id;
    _Atomic(mn_assoc_list *) list;
    _Atomic uint32_t used;
} mn_assoc_slot;

typedef struct mn_assoc_table {
    uint64_t capacity; /* a power of two */
    mn_assoc_slot slots[];
} mn_assoc_table;

struct mn_assoc {
    /* Read by every reader, written when the slot array is replaced. */
    _Alignas(MN_CACHE_LINE_SIZE) _Atomic(mn_assoc_table *) table;
    /* Writer state, on its own line so writes do not disturb readers' line. */
    _Alignas(MN_CACHE_LINE_SIZE) uint64_t used;  /* slots with an id (lists or tombstones) */
    uint64_t live;                               /* slots with a list */
    _Atomic uint64_t links;                      /* directed links */
    mn_rcu_retired *retired;
};

_Static_assert(sizeof(struct mn_assoc) % MN_CACHE_LINE_SIZE == 0, "mn_assoc padded to cache lines");
_Static_assert(offsetof(struct mn_assoc, used) == MN_CACHE_LINE_SIZE, "writer state on its own line");

/** Returns `id`'s list or NULL. Call inside mn_rcu_read_lock (or as the writer). */
const mn_assoc_list *mn_assoc_find(const mn_assoc *assoc, uint64_t id);

/** Calls fn(context, id, list) for every memory with a list (the writer, or no writer). */
typedef void (*mn_assoc_visit_fn)(void *context, uint64_t id, const mn_assoc_list *list);
void mn_assoc_visit(const mn_assoc *assoc, mn_assoc_visit_fn fn, void *context);

#endif /* MN_ASSOC_INTERNAL_H */
