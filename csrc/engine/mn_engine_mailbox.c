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
 *
 * A producer told to wait for room (MN_SUBMIT_WAIT) sleeps on a futex, not in a yield loop
 * that would take the cores the workers need to make that room: it counts itself in
 * room_waiters, tries again, and sleeps on room_sequence if still full; the runner, after
 * popping, sees the waiter (both sides store, fence seq_cst, then load the other's variable),
 * bumps room_sequence and wakes everyone. A wake-up that raced ahead leaves room_sequence
 * changed, so the futex does not sleep. A bounded timeout covers the byte budget, which a
 * pop on another path (a dropped space) may free.
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

void mn_mailbox_room_made(struct mn_space *space) {
    atomic_thread_fence(memory_order_seq_cst); /* the pops before the waiter count */
    if (atomic_load_explicit(&space->room_waiters, memory_order_relaxed) == 0) return;
    atomic_fetch_add_explicit(&space->room_sequence, 1, memory_order_seq_cst);
    syscall(SYS_futex, &space->room_sequence, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void mn_mailbox_room_wait(struct mn_space *space, uint32_t sequence, long timeout_ns) {
    struct timespec timeout = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};
    /* Returns at once when room_sequence moved on; EINTR and timeouts just mean a retry. */
    syscall(SYS_futex, &space->room_sequence, FUTEX_WAIT_PRIVATE, sequence, &timeout, NULL, 0);
}
