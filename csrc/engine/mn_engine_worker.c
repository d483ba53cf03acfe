/*
 * mn_engine_worker.c: shard workers: run queues, running a space, stealing, helping batches.
 *
 * One worker thread per CPU, pinned with pthread_attr_setaffinity_np. A worker loops:
 *   1. pop a runnable space from its own run queue and run it: apply up to
 *      MN_ENGINE_RUN_QUANTUM records from the space's mailbox, in order;
 *   2. if its queue is empty, steal from the worker with the most queued records the heaviest
 *      of the spaces at the head of its run queue (the most records waiting);
 *   3. if there is nothing to steal, help link a large batch another worker is inserting;
 *   4. otherwise sleep on its condition variable (woken by a producer, or after a while to
 *      look for work to steal again: MN_ENGINE_IDLE_WAIT_US while any worker applies writes,
 *      its log has unsynced data or the engine is stopping; once no write has been applied
 *      anywhere since its last look, each look doubles the wait up to
 *      MN_ENGINE_IDLE_WAIT_MAX_US, so an engine that only serves reads does not preempt the
 *      rest of the process a thousand times a second per CPU).
 *
 * A space is in at most one run queue or running on at most one worker: producers put it on a
 * queue only when they flip its `scheduled` flag from 0 to 1, and only the worker that runs it
 * clears the flag. The worker also claims `running_worker` with a CAS from -1 and asserts it
 * won: two workers running one space would be a scheduling bug, and it aborts rather than
 * apply writes out of order. Clearing the flag races with producers publishing new records;
 * both sides store, then fence (seq_cst), then look at the other's variable (Dekker), so either
 * the worker sees the new record or the producer sees the flag clear and schedules the space.
 *
 * A stolen space stays with the thief while it has records (requeued on the thief's own queue
 * after each quantum); once its mailbox is empty it is unscheduled, and the next record
 * schedules it on its home worker again: stolen spaces go home as soon as they are idle.
 */
#define _GNU_SOURCE
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/mn_engine_durability.h"
#include "engine/mn_engine_internal.h"
#include "numa/mn_numa.h"
#include "util/mn_rcu.h"

int64_t mn_engine_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int64_t mn_engine_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* ---- run queues ---- */

/* Appends a space; the caller holds worker->lock. Returns the new depth. Its weight (the
 * records it brings, sampled now) is what thieves compare. */
static uint64_t mn_runq_append_locked(mn_worker *worker, struct mn_space *space) {
    space->run_next = NULL;
    space->run_weight = 1 + mn_mailbox_depth(space);
    atomic_fetch_add_explicit(&worker->weight, space->run_weight, memory_order_relaxed);
    if (worker->tail) {
        worker->tail->run_next = space;
    } else {
        worker->head = space;
    }
    worker->tail = space;
    return atomic_fetch_add_explicit(&worker->depth, 1, memory_order_relaxed) + 1;
}

/* Unlinks `space`, which follows `previous` (NULL: the head); the caller holds worker->lock. */
static struct mn_space *mn_runq_unlink_locked(mn_worker *worker, struct mn_space *previous,
                                              struct mn_space *space) {
    if (previous) {
        previous->run_next = space->run_next;
    } else {
        worker->head = space->run_next;
    }
    if (worker->tail == space) worker->tail = previous;
    space->run_next = NULL;
    atomic_fetch_sub_explicit(&worker->depth, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&worker->weight, space->run_weight, memory_order_relaxed);
    return space;
}

static struct mn_space *mn_runq_take_locked(mn_worker *worker) {
    return worker->head ? mn_runq_unlink_locked(worker, NULL, worker->head) : NULL;
}

/* The heaviest of the first MN_ENGINE_STEAL_SCAN spaces; the caller holds worker->lock. */
static struct mn_space *mn_runq_take_heaviest_locked(mn_worker *worker) {
    struct mn_space *best = NULL, *best_previous = NULL, *previous = NULL;
    struct mn_space *space = worker->head;
    for (uint32_t i = 0; space && i < MN_ENGINE_STEAL_SCAN; i++) {
        if (!best || space->run_weight > best->run_weight) {
            best = space;
            best_previous = previous;
        }
        previous = space;
        space = space->run_next;
    }
    return best ? mn_runq_unlink_locked(worker, best_previous, best) : NULL;
}

static void mn_worker_wake_locked(mn_worker *worker) {
    if (worker->sleeping) {
        pthread_cond_signal(&worker->wake);
    } else {
        worker->wake_pending = 1;
    }
}

/* Wakes one sleeping worker other than `except`, so it can steal or help. */
static void mn_wake_idle(struct mn_engine *engine, uint32_t except, int all) {
    if (atomic_load_explicit(&engine->sleepers, memory_order_relaxed) == 0) return;
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        if (i == except) continue;
        mn_worker *other = engine->workers[i];
        pthread_mutex_lock(&other->lock);
        int was_sleeping = (int)other->sleeping;
        if (was_sleeping) pthread_cond_signal(&other->wake);
        pthread_mutex_unlock(&other->lock);
        if (was_sleeping && !all) return;
    }
}

static void mn_worker_push(mn_worker *worker, struct mn_space *space) {
    pthread_mutex_lock(&worker->lock);
    uint64_t depth = mn_runq_append_locked(worker, space);
    mn_worker_wake_locked(worker);
    pthread_mutex_unlock(&worker->lock);
    struct mn_engine *engine = worker->engine;
    if (depth > 1 && engine->options.stealing) mn_wake_idle(engine, worker->index, 0);
}

void mn_worker_schedule(struct mn_engine *engine, struct mn_space *space) {
    mn_worker_push(engine->workers[space->home], space);
}

static struct mn_space *mn_worker_pop(mn_worker *worker) {
    if (atomic_load_explicit(&worker->depth, memory_order_relaxed) == 0) return NULL;
    pthread_mutex_lock(&worker->lock);
    struct mn_space *space = mn_runq_take_locked(worker);
    pthread_mutex_unlock(&worker->lock);
    return space;
}

/* Takes work from the other worker with the most queued records: of the spaces at the head
 * of its run queue, the one that brought the most. */
static struct mn_space *mn_worker_steal(mn_worker *thief) {
    struct mn_engine *engine = thief->engine;
    mn_worker *victim = NULL;
    uint64_t heaviest = 0;
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        if (i == thief->index) continue;
        if (atomic_load_explicit(&engine->workers[i]->depth, memory_order_relaxed) == 0) continue;
        uint64_t weight = atomic_load_explicit(&engine->workers[i]->weight, memory_order_relaxed);
        if (weight > heaviest) {
            heaviest = weight;
            victim = engine->workers[i];
        }
    }
    if (!victim) return NULL;
    pthread_mutex_lock(&victim->lock);
    struct mn_space *space = mn_runq_take_heaviest_locked(victim);
    pthread_mutex_unlock(&victim->lock);
    if (space) atomic_fetch_add_explicit(&thief->steals, 1, memory_order_relaxed);
    return space;
}

/* ---- running a space ---- */

/* After a run (or a freeze): back on `worker`'s queue while the mailbox holds ops, else
 * unscheduled, dropping the scheduling reference. The caller holds the scheduled flag. */
static void mn_space_requeue(mn_worker *worker, struct mn_space *space) {
    if (!mn_mailbox_empty(space)) {
        mn_worker_push(worker, space); /* still scheduled: keep it, behind the others */
        return;
    }
    atomic_store_explicit(&space->scheduled, 0, memory_order_seq_cst);
    atomic_thread_fence(memory_order_seq_cst);
    if (!mn_mailbox_empty(space) &&
        atomic_exchange_explicit(&space->scheduled, 1, memory_order_seq_cst) == 0) {
        mn_worker_push(worker, space); /* a record arrived as we unscheduled it */
        return;
    }
    mn_space_unref(space); /* the scheduling reference */
}

/*
 * One turn of a run: drains up to MN_ENGINE_RUN_QUANTUM records, logs them (durable engines:
 * one write and one fdatasync for the whole group, group commit; in memory a no-op), then
 * applies them in order. Returns how many it drained; an export marker ends the turn and is
 * handed back in *frozen (the space freezes).
 */
static uint32_t mn_worker_turn(mn_worker *worker, struct mn_space *space, mn_op **frozen) {
    mn_op *group[MN_ENGINE_RUN_QUANTUM];
    mn_status logged[MN_ENGINE_RUN_QUANTUM];
    uint32_t taken = 0;
    while (taken < MN_ENGINE_RUN_QUANTUM) {
        mn_op *op = mn_mailbox_pop(space);
        if (!op) break;
        logged[taken] = MN_OK;
        group[taken++] = op;
        /* An export marker ends the group: a group is logged before it is applied, so a write
         * drained after the marker would already count in the space's log sequence that the
         * export (a checkpoint) records, without being in the snapshot. */
        if (op->kind == MN_OP_EXPORT) break;
    }
    if (taken > 0) mn_mailbox_room_made(space); /* producers waiting for room go on */
    if (taken > 0) worker->engine->durability->log_group(worker, space, group, taken, logged);
    for (uint32_t i = 0; i < taken; i++) {
        /* Single inserts and upserts that queued up behind each other: one group, whose nodes
         * idle workers help link (stealing inside a hot space). */
        uint32_t run = 0;
        while (i + run < taken && logged[i + run] == MN_OK &&
               (group[i + run]->kind == MN_OP_INSERT || group[i + run]->kind == MN_OP_UPSERT))
            run++;
        if (run >= MN_ENGINE_GROUP_MIN) {
            mn_space_apply_writes(space, group + i, run, worker);
            i += run - 1;
            continue;
        }
        if (logged[i] == MN_OK) {
            if (group[i]->kind == MN_OP_EXPORT) { /* always last: see above */
                /* Completed only once this worker has let go of the space (below): the
                 * exporter may resume it at once, and only one worker may hold it. */
                *frozen = group[i];
                space->frozen_worker = worker->index; /* published by the completion */
                atomic_fetch_add_explicit(&worker->ops, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&space->ops_applied, 1, memory_order_relaxed);
                /* Counted before the exporter can resume it: never below zero. */
                atomic_fetch_add_explicit(&worker->engine->frozen, 1, memory_order_seq_cst);
                continue;
            }
            mn_space_apply(space, group[i], worker);
        } else { /* not in the log: not applied either */
            if (group[i]->done) {
                if (logged[i] == MN_DURABLE_STATUS_UNKNOWN) {
                    group[i]->done(group[i]->context, MN_ERR_IO, MN_DURABLE_DETAIL_UNKNOWN);
                } else {
                    group[i]->done(group[i]->context, logged[i], 0);
                }
            }
            free(group[i]);
        }
    }
    return taken;
}

static void mn_worker_run(mn_worker *worker, struct mn_space *space) {
    int32_t expected = -1;
    int claimed = atomic_compare_exchange_strong_explicit(
        &space->running_worker, &expected, (int32_t)worker->index, memory_order_acq_rel,
        memory_order_acquire);
    MN_ASSERT(claimed && "two workers never run the same space");
    MN_ASSERT(atomic_load_explicit(&space->scheduled, memory_order_relaxed) == 1);
    int64_t started = mn_engine_monotonic_ns();
    /* A space whose turn filled the quantum is backed up: it keeps the worker for up to
     * MN_ENGINE_HOT_TURNS turns, so a hot space is not held to one turn per cycle of a run
     * queue of cold ones (its producers would block on its full mailbox meanwhile). */
    mn_op *frozen = NULL;
    for (uint32_t turn = 0; turn < MN_ENGINE_HOT_TURNS && !frozen; turn++) {
        if (mn_worker_turn(worker, space, &frozen) < MN_ENGINE_RUN_QUANTUM) break;
    }
    atomic_fetch_add_explicit(&worker->busy_ns, (uint64_t)(mn_engine_monotonic_ns() - started),
                              memory_order_relaxed);
    expected = (int32_t)worker->index;
    claimed = atomic_compare_exchange_strong_explicit(&space->running_worker, &expected, -1,
                                                      memory_order_release,
                                                      memory_order_relaxed);
    MN_ASSERT(claimed && "the space was run by another worker meanwhile");
    /* Frozen: it stays scheduled (no producer queues it) but on no run queue, so nobody runs
     * it until its exporter calls mn_space_resume, which takes over the scheduling reference.
     * This worker goes on with its other spaces meanwhile. */
    if (frozen) {
        if (frozen->done) frozen->done(frozen->context, MN_OK, 0);
        free(frozen);
        return;
    }
    mn_space_requeue(worker, space);
}

void mn_space_resume(struct mn_engine *engine, struct mn_space *space) {
    mn_space_requeue(engine->workers[space->frozen_worker], space);
    /* After the requeue: a stopping worker that sees 0 has seen the space on its queue. */
    atomic_fetch_sub_explicit(&engine->frozen, 1, memory_order_seq_cst);
}

/* ---- helping parallel batches ---- */

static int mn_worker_help(mn_worker *worker) {
    struct mn_engine *engine = worker->engine;
    if (!atomic_load_explicit(&engine->help_available, memory_order_relaxed)) return 0;
    pthread_mutex_lock(&engine->help_lock);
    mn_help_job *job = engine->help_jobs;
    while (job && job->sequence <= worker->last_help) job = job->next;
    if (job) {
        atomic_fetch_add_explicit(&job->helpers, 1, memory_order_relaxed);
        worker->last_help = job->sequence;
    }
    pthread_mutex_unlock(&engine->help_lock);
    if (!job) return 0;
    int64_t started = mn_engine_monotonic_ns();
    size_t linked = 0;
    /* An error (out of memory) is kept in the batch; its runner's batch_end reports it. */
    (void)mn_hnsw_batch_work(job->batch, &linked);
    atomic_fetch_add_explicit(&worker->busy_ns, (uint64_t)(mn_engine_monotonic_ns() - started),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&worker->helps, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&job->helpers, 1, memory_order_release);
    return 1;
}

void mn_worker_link_batch(mn_worker *worker, mn_hnsw_batch *batch) {
    struct mn_engine *engine = worker->engine;
    mn_help_job job = {.batch = batch, .next = NULL};
    atomic_init(&job.helpers, 0);
    pthread_mutex_lock(&engine->help_lock);
    job.sequence = ++engine->help_sequence;
    job.next = engine->help_jobs;
    engine->help_jobs = &job;
    atomic_store_explicit(&engine->help_available, 1, memory_order_relaxed);
    pthread_mutex_unlock(&engine->help_lock);
    mn_wake_idle(engine, worker->index, 1);
    size_t linked = 0;
    (void)mn_hnsw_batch_work(batch, &linked); /* an error is reported by batch_end */
    pthread_mutex_lock(&engine->help_lock);
    mn_help_job **link = &engine->help_jobs;
    while (*link != &job) link = &(*link)->next;
    *link = job.next;
    atomic_store_explicit(&engine->help_available, engine->help_jobs != NULL,
                          memory_order_relaxed);
    pthread_mutex_unlock(&engine->help_lock);
    /* Helpers still inside batch_work are linking their last item; no new one can join. */
    while (atomic_load_explicit(&job.helpers, memory_order_acquire) != 0) sched_yield();
}

/* ---- the worker thread ---- */

/* The writes applied by every worker so far: an idle worker that sees it move keeps looking
 * for work to steal at the shortest interval. */
static uint64_t mn_engine_ops_applied(struct mn_engine *engine) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < engine->worker_count; i++)
        total += atomic_load_explicit(&engine->workers[i]->ops, memory_order_relaxed);
    return total;
}

static void *mn_worker_main(void *argument) {
    mn_worker *worker = argument;
    struct mn_engine *engine = worker->engine;
    char name[16]; /* what top, perf and debuggers show: "mnemo-w<index>" */
    snprintf(name, sizeof name, "mnemo-w%u", worker->index);
    pthread_setname_np(pthread_self(), name);
    mn_rcu_read_lock(); /* registers the thread with liburcu (call_rcu needs it) */
    mn_rcu_read_unlock();
    struct timespec deadline;
    uint64_t idle_wait_us = MN_ENGINE_IDLE_WAIT_US; /* the next sleep, if nothing changes */
    uint64_t ops_applied = 0; /* mn_engine_ops_applied at the last look */
    for (;;) {
        struct mn_space *space = mn_worker_pop(worker);
        if (!space && engine->options.stealing) space = mn_worker_steal(worker);
        if (space) {
            mn_worker_run(worker, space);
            continue;
        }
        if (mn_worker_help(worker)) continue;
        uint64_t applied = mn_engine_ops_applied(engine);
        if (applied != ops_applied) {
            ops_applied = applied;
            idle_wait_us = MN_ENGINE_IDLE_WAIT_US;
        }
        int unsynced = engine->durability->tick(worker);
        pthread_mutex_lock(&worker->lock);
        if (!worker->head) {
            /* A frozen space comes back to a queue when its export ends: stay until then. */
            int stopping = atomic_load_explicit(&engine->stopping, memory_order_acquire);
            if (stopping && atomic_load_explicit(&engine->frozen, memory_order_seq_cst) == 0) {
                pthread_mutex_unlock(&worker->lock);
                break;
            }
            if (!worker->wake_pending) {
                uint64_t wait_us = (unsynced || stopping) ? MN_ENGINE_IDLE_WAIT_US : idle_wait_us;
                clock_gettime(CLOCK_MONOTONIC, &deadline);
                deadline.tv_sec += (time_t)(wait_us / 1000000u);
                deadline.tv_nsec += (long)(wait_us % 1000000u) * 1000L;
                if (deadline.tv_nsec >= 1000000000L) {
                    deadline.tv_sec += 1;
                    deadline.tv_nsec -= 1000000000L;
                }
                worker->sleeping = 1;
                atomic_fetch_add_explicit(&engine->sleepers, 1, memory_order_relaxed);
                pthread_cond_timedwait(&worker->wake, &worker->lock, &deadline);
                atomic_fetch_sub_explicit(&engine->sleepers, 1, memory_order_relaxed);
                worker->sleeping = 0;
                idle_wait_us = idle_wait_us * 2 < MN_ENGINE_IDLE_WAIT_MAX_US
                                   ? idle_wait_us * 2
                                   : MN_ENGINE_IDLE_WAIT_MAX_US;
            }
            worker->wake_pending = 0;
        }
        pthread_mutex_unlock(&worker->lock);
    }
    return NULL;
}

static void mn_worker_destroy(mn_worker *worker) {
    if (!worker) return;
    MN_ASSERT(worker->head == NULL);
    pthread_cond_destroy(&worker->wake);
    pthread_mutex_destroy(&worker->lock);
    mn_arena_destroy(&worker->arena);
    mn_numa_free(worker);
}

mn_status mn_workers_start(struct mn_engine *engine) {
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        int32_t cpu = -1;
        if (engine->options.pin_workers && engine->cpu_count > 0) {
            cpu = engine->cpus[i % engine->cpu_count];
        }
        int node = (cpu >= 0 && mn_numa_enabled()) ? numa_node_of_cpu(cpu) : -1;
        mn_worker *worker = mn_numa_alloc(sizeof(mn_worker), node);
        if (!worker) return MN_ERR_NO_MEMORY;
        engine->workers[i] = worker;
        pthread_mutex_init(&worker->lock, NULL);
        pthread_condattr_t condattr;
        pthread_condattr_init(&condattr);
        pthread_condattr_setclock(&condattr, CLOCK_MONOTONIC);
        pthread_cond_init(&worker->wake, &condattr);
        pthread_condattr_destroy(&condattr);
        atomic_init(&worker->depth, 0);
        atomic_init(&worker->weight, 0);
        atomic_init(&worker->ops, 0);
        atomic_init(&worker->batches, 0);
        atomic_init(&worker->memories, 0);
        atomic_init(&worker->steals, 0);
        atomic_init(&worker->helps, 0);
        atomic_init(&worker->grouped, 0);
        atomic_init(&worker->coalesced, 0);
        atomic_init(&worker->busy_ns, 0);
        mn_arena_init(&worker->arena, node);
        worker->engine = engine;
        worker->index = i;
        worker->cpu = cpu;
        worker->numa_node = node;
    }
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        mn_worker *worker = engine->workers[i];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        if (worker->cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(worker->cpu, &set);
            pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
        }
        int rc = pthread_create(&worker->thread, &attr, mn_worker_main, worker);
        pthread_attr_destroy(&attr);
        if (rc != 0) return MN_ERR_IO;
        worker->started = 1;
    }
    return MN_OK;
}

void mn_workers_stop(struct mn_engine *engine) {
    atomic_store_explicit(&engine->stopping, 1, memory_order_release);
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        mn_worker *worker = engine->workers[i];
        if (!worker || !worker->started) continue;
        pthread_mutex_lock(&worker->lock);
        mn_worker_wake_locked(worker);
        pthread_mutex_unlock(&worker->lock);
    }
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        mn_worker *worker = engine->workers[i];
        if (!worker || !worker->started) continue;
        pthread_join(worker->thread, NULL);
        worker->started = 0;
    }
}

void mn_workers_free(struct mn_engine *engine) {
    for (uint32_t i = 0; i < engine->worker_count; i++) {
        mn_worker_destroy(engine->workers[i]);
        engine->workers[i] = NULL;
    }
}

mn_status mn_engine_worker_count(const mn_engine *engine, uint32_t *out) {
    if (!engine || !out) return MN_ERR_INVALID;
    *out = engine->worker_count;
    return MN_OK;
}

mn_status mn_engine_worker_stats(const mn_engine *engine, uint32_t index, mn_worker_stats *out) {
    if (!engine || !out || index >= engine->worker_count) return MN_ERR_INVALID;
    mn_worker *worker = engine->workers[index];
    out->ops = atomic_load_explicit(&worker->ops, memory_order_relaxed);
    out->batches = atomic_load_explicit(&worker->batches, memory_order_relaxed);
    out->memories = atomic_load_explicit(&worker->memories, memory_order_relaxed);
    out->steals = atomic_load_explicit(&worker->steals, memory_order_relaxed);
    out->helps = atomic_load_explicit(&worker->helps, memory_order_relaxed);
    out->grouped = atomic_load_explicit(&worker->grouped, memory_order_relaxed);
    out->coalesced = atomic_load_explicit(&worker->coalesced, memory_order_relaxed);
    out->queue_depth = atomic_load_explicit(&worker->depth, memory_order_relaxed);
    out->busy_ns = atomic_load_explicit(&worker->busy_ns, memory_order_relaxed);
    out->cpu = worker->cpu;
    out->numa_node = worker->numa_node;
    return MN_OK;
}
