/*
 * mn_numa.h: cache-line aligned allocation on a chosen NUMA node (private to the C core).
 *
 * Shard workers and the indexes of their spaces allocate from the node the worker runs on
 * (libnuma's numa_alloc_onnode, which places pages on first touch from that node's memory).
 * Where numa_available() < 0 (no NUMA support in the kernel or a single-node container), or
 * for node -1, memory comes from aligned_alloc instead. Every block carries a small header that
 * records how it was obtained, so mn_numa_free needs only the pointer.
 */
#ifndef MN_NUMA_H
#define MN_NUMA_H

#include <stddef.h>

/** Returns 1 when libnuma can place memory on nodes, 0 otherwise (checked once). */
int mn_numa_enabled(void);

/** Returns the NUMA node of the calling thread's CPU, or -1 when unknown. */
int mn_numa_current_node(void);

/**
 * Allocates `size` bytes aligned to MN_CACHE_LINE_SIZE on `node` (-1: no preference), zeroed.
 * Returns NULL on failure (the caller returns MN_ERR_NO_MEMORY).
 */
void *mn_numa_alloc(size_t size, int node);

/** Frees a block from mn_numa_alloc. NULL is accepted. */
void mn_numa_free(void *block);

#endif /* MN_NUMA_H */
