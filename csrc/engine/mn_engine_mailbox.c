/*
 * mn_engine_mailbox.c: each space's bounded, lock-free, multi-producer single-consumer mailbox.
 *
 * Dmitry Vyukov's bounded MPMC ring, used with one consumer at a time (the worker running the
 * space). Each cell carries a sequence number: a cell at position p is free for the producer
 * that claims p when sequence == p, holds a record for the consumer when sequence == p + 1, and
 * is handed back for the next lap by setting sequence = p + depth. Producers claim positions
 * with a CAS on enqueue_pos; nobody waits on anybody else, and a full ring is reported (the
 * caller decides to wait or fail) rather than grown: back-pressure, never a drop.
 *
 * The consumer changes over time (stealing), but only one runs the space at a time and each
 * hand-over goes through the scheduled flag and a run-queue mutex, which order the plain
 * updates of dequeue_pos between successive consumers.
 */
#include "engine/mn_engine_internal.h"

mn_status mn_mailbox_push(struct mn_space *space, mn_op *op) {
    uint64_t pos = atomic_load_explicit(&space->enqueue_pos, memory_order_relaxed);
    mn_mailbox_cell *cell;
    for (;;) {
        cell = &space->cells[pos & space->mask];
        uint64_t sequence = atomic_load_explicit(&cell->sequence, memory_order_acquire);
        int64_t diff = (int64_t)(sequence - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&space->enqueue_pos, &pos, pos + 1,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                break;
            }
        } else if (diff < 0) {
            return MN_ERR_FULL; /* the consumer has not yet freed this cell: the ring is full */
        } else {
            pos = atomic_load_explicit(&space->enqueue_pos, memory_order_relaxed);
        }
    }
    cell->op = op;
    atomic_store_explicit(&cell->sequence, pos + 1, memory_order_release);
    return MN_OK;
}

mn_op *mn_mailbox_pop(struct mn_space *space) {
    uint64_t pos = atomic_load_explicit(&space->dequeue_pos, memory_order_relaxed);
    mn_mailbox_cell *cell = &space->cells[pos & space->mask];
    uint64_t sequence = atomic_load_explicit(&cell->sequence, memory_order_acquire);
    if (sequence != pos + 1) return NULL; /* empty, or a producer has claimed but not filled */
    mn_op *op = cell->op;
    atomic_fetch_sub_explicit(&space->queued_bytes, op->bytes, memory_order_relaxed);
    atomic_store_explicit(&cell->sequence, pos + space->mask + 1, memory_order_release);
    atomic_store_explicit(&space->dequeue_pos, pos + 1, memory_order_relaxed);
    return op;
}

int mn_mailbox_empty(struct mn_space *space) {
    uint64_t pos = atomic_load_explicit(&space->dequeue_pos, memory_order_relaxed);
    mn_mailbox_cell *cell = &space->cells[pos & space->mask];
    /* seq_cst: pairs with the producer's fence between its publish and its scheduled check. */
    return atomic_load_explicit(&cell->sequence, memory_order_seq_cst) != pos + 1;
}

uint64_t mn_mailbox_depth(const struct mn_space *space) {
    uint64_t head = atomic_load_explicit(&((struct mn_space *)space)->dequeue_pos,
                                         memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&((struct mn_space *)space)->enqueue_pos,
                                         memory_order_relaxed);
    return tail > head ? tail - head : 0;
}
