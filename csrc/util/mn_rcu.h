/*
 * mn_rcu.h: the C core's thin layer over liburcu (memb flavour, linked as a library).
 *
 * Readers call mn_rcu_read_lock/unlock; the first call on a thread registers it with liburcu
 * and a thread-exit destructor unregisters it, so threads Mnemo does not own (Swift's
 * cooperative pool, test threads) can read without ceremony. Writers retire memory with
 * mn_rcu_retire, which frees it after a grace period through call_rcu, in batches.
 *
 * ThreadSanitizer does not see liburcu's grace periods (the library is not instrumented), so
 * under TSan every read-side unlock releases, and every reclamation acquires, one token: the
 * happens-before edge a grace period really provides.
 */
#ifndef MN_RCU_H
#define MN_RCU_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_limits.h"
#include "mnemo/mn_status.h"

/** Enters an RCU read-side section (registering the thread on first use). Sections nest. */
void mn_rcu_read_lock(void);
/** Leaves an RCU read-side section. */
void mn_rcu_read_unlock(void);
/** Waits for a grace period: every read-side section that was running has ended. */
void mn_rcu_synchronize(void);
/** Waits until every callback queued with call_rcu so far has run. */
void mn_rcu_barrier(void);
/** Tells ThreadSanitizer that a grace period has elapsed before the caller reuses memory. */
void mn_rcu_grace_acquired(void);

/** Memory waiting for a grace period before it is freed; one per writing operation. */
typedef struct mn_rcu_retired mn_rcu_retired;

/**
 * Queues `block` (from malloc) to be freed after a grace period. *retired collects blocks and
 * is handed to call_rcu when full or by mn_rcu_retire_flush. May be called inside a read-side
 * section. If not even a collector can be allocated the block is leaked, never freed early.
 */
void mn_rcu_retire(mn_rcu_retired **retired, void *block);
/** Hands the collected blocks to call_rcu and clears *retired. */
void mn_rcu_retire_flush(mn_rcu_retired **retired);
/** Makes sure the next `blocks` (at most MN_HNSW_RETIRE_BATCH) mn_rcu_retire calls need no
 *  allocation: flushes a collector without room for them, allocates one if there is none.
 *  MN_ERR_NO_MEMORY when that fails, so a writer can refuse before it changes anything rather
 *  than leak what it would retire. May be called inside a read-side section. */
mn_status mn_rcu_retire_reserve(mn_rcu_retired **retired, size_t blocks);

#endif /* MN_RCU_H */
