/*
 * mn_engine_durability.h: the one interface between the in-memory engine and durability
 * (private to csrc/engine).
 *
 * The in-memory engine (mn_engine.c, mn_engine_worker.c, mn_engine_export.c, ...) never asks
 * whether it is durable: at the few points where durability matters (log a drained group
 * before applying it, log a space's creation and drop, find a lazy space, publish an imported
 * space, list and count spaces, stop, close and free) it calls one hook of the table chosen
 * when the engine was created. Two tables exist:
 *   - the null object (mn_engine.c): an in-memory engine. Logging hooks do nothing and succeed,
 *     there are no lazy spaces, list and count walk the space table;
 *   - the write-ahead-log table (mn_engine_durable.c, built from mn_engine_durable.c,
 *     mn_engine_checkpoint.c and mn_engine_lazy.c): a durable engine opened by mn_engine_open.
 * Replication (mnemo/mn_replica.h) and, later, other durability back ends are new tables, not
 * new branches in the engine.
 *
 * Ownership and synchronization:
 * | what                  | written by                         | read by / protected by        |
 * |-----------------------|------------------------------------|-------------------------------|
 * | the table itself      | nobody: static const, immutable    | any thread, no lock           |
 * | engine->durability    | mn_engine_create_with, once, before | every thread, no lock (thread |
 * |                       | the workers start                  | creation orders it)           |
 * | engine->durable       | the opener (before create_with     | the table's own functions only|
 * | (the table's state)   | returns it is the caller's; after, | (their locks: see             |
 * |                       | the engine's, freed by `free`)     | mn_engine_durable_internal.h) |
 * The in-memory files never touch engine->durable; only the table's functions do, and the
 * WAL table's hooks assert it is set (no hook of theirs tests for an in-memory engine).
 *
 * Where each hook is called, and what the caller holds (the table may rely on it):
 *   log_group        the worker running `space` (one runner at a time), no lock; count >= 1;
 *                    statuses[] arrive MN_OK and the hook writes an error for each op that
 *                    must be completed unapplied, or MN_DURABLE_STATUS_UNKNOWN (complete it
 *                    with MN_ERR_IO and MN_DURABLE_DETAIL_UNKNOWN: it may be in the log).
 *   tick             the worker itself, idle (no space running on it), no lock. Returns 1
 *                    while the worker's log holds data a later tick must sync (the worker
 *                    then keeps its shortest idle sleep), else 0.
 *   stub_exists      a creating thread, no lock: 1 when the name is an unloaded (lazy) space.
 *   log_create       a creating thread, no lock, before the space enters the table. On
 *                    MN_OK, create_done follows once the space is in the table (or failed to
 *                    enter it); on an error nothing follows.
 *   create_done      the same thread, no lock.
 *   log_drop         a dropping thread with the engine's table_lock held (so a concurrent
 *                    drop of one name logs once), or a creating thread undoing its creation.
 *                    MN_OK (its record is durable: dropped), an error (nothing logged: not
 *                    dropped) or MN_DURABLE_STATUS_UNKNOWN (maybe logged: the space goes, the
 *                    caller hears MN_ERR_IO).
 *   space_load       an opening or dropping thread, no lock: *out = a new handle to the lazy
 *                    space `name` (loaded now) or to the table's space of that name; NULL
 *                    when there is neither. The WAL table refuses with MN_ERR_CLOSED once
 *                    the engine is closed (its directory lock is released: a drop, whose
 *                    first durability call this is, must not log); the null object never does.
 *   space_count,
 *   space_list       any thread, no lock (the hook takes the table lock itself).
 *   publish_imported the importing thread, no lock: puts a detached, restored space in the
 *                    table (mn_engine_space_publish) after whatever durability needs first.
 *   stop             first thing of mn_engine_close, before the workers stop; may run twice.
 *   close            mn_engine_close under close_lock, once, after the workers stopped.
 *   free             mn_engine_destroy, after every space is freed, before the workers are.
 */
#ifndef MN_ENGINE_DURABILITY_H
#define MN_ENGINE_DURABILITY_H

#include <stdint.h>

#include "engine/mn_engine_internal.h"
#include "mnemo/mn_engine_durable.h" /* MN_DURABLE_DETAIL_UNKNOWN, for log_group's callers */

/* A log status of log_group and log_drop: the record may or may not be in the log (a failed
 * append that could not be cut off it). Internal: never returned to a caller. */
#define MN_DURABLE_STATUS_UNKNOWN (-1000)

typedef struct mn_durability_hooks {
    /* the write path (workers) */
    void (*log_group)(mn_worker *worker, struct mn_space *space, mn_op **group, uint32_t count,
                      mn_status *statuses);
    int (*tick)(mn_worker *worker);
    /* the space table (caller threads) */
    int (*stub_exists)(struct mn_engine *engine, const char *name, uint32_t name_bytes);
    mn_status (*log_create)(struct mn_engine *engine, struct mn_space *space);
    void (*create_done)(struct mn_engine *engine);
    mn_status (*log_drop)(struct mn_engine *engine, struct mn_space *space);
    mn_status (*space_load)(struct mn_engine *engine, const char *name, uint32_t name_bytes,
                            struct mn_space **out);
    mn_status (*space_count)(struct mn_engine *engine, uint64_t *out);
    mn_status (*space_list)(struct mn_engine *engine, mn_name_visit_fn visit, void *context);
    mn_status (*publish_imported)(struct mn_engine *engine, struct mn_space *space,
                                  struct mn_space **out);
    /* close and destroy */
    void (*stop)(struct mn_engine *engine);
    void (*close)(struct mn_engine *engine);
    void (*free)(struct mn_engine *engine);
} mn_durability_hooks;

/* engine (mn_engine.c): visits the name of every space in the table, under table_lock (the null
 * object's space_list; the WAL table's visits its stubs too). */
mn_status mn_engine_table_list(struct mn_engine *engine, mn_name_visit_fn visit, void *context);

/* engine (mn_engine.c): mn_engine_create with a durability table and its state (`state` is
 * NULL for the null object); on failure the state is not freed (the caller owns it until the
 * engine exists). */
mn_status mn_engine_create_with(const mn_engine_options *options,
                                const mn_durability_hooks *durability, struct mn_durable *state,
                                mn_engine **out);

#endif /* MN_ENGINE_DURABILITY_H */
