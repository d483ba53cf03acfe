/*
 * mn_numa.c: NUMA-aware, cache-line aligned allocation with a transparent fallback.
 *
 * Layout of a block (the header sits in the cache line before the caller's pointer, so the
 * caller's memory stays aligned and never shares a line with the header):
 *
 *   offset  size  field
 *   0       8     total size of the mapping/allocation in bytes
 *   8       4     origin: MN_NUMA_ORIGIN_NUMA (numa_alloc_onnode) or _HEAP (aligned_alloc)
 *   12      52    padding
 *   64      ...   caller's memory (returned pointer)
 */
#define _GNU_SOURCE
#include "numa/mn_numa.h"

#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mnemo/mn_limits.h"
#include "util/mn_assert.h"

#define MN_NUMA_HEADER_SIZE MN_CACHE_LINE_SIZE
/* Blocks of at least this many bytes (a huge page on x86-64) are asked to be backed by
 * transparent huge pages (madvise MADV_HUGEPAGE; the kernel's default mode on many systems is
 * "madvise", which gives none otherwise). An index's node segments are read at random by every
 * search: with 4 KiB pages each vector a search touches in a 48 MB index is a TLB miss of its
 * own, with 2 MiB pages a few hundred pages cover it (docs/filters.md, "Filtered search
 * speed"). Heap blocks that large are also aligned to it, so the huge pages can start at the
 * block. Advice only: a kernel without THP ignores it. */
#define MN_NUMA_HUGE_PAGE_BYTES ((size_t)2 << 20)
#define MN_NUMA_ORIGIN_HEAP 1u
#define MN_NUMA_ORIGIN_NUMA 2u

typedef struct mn_numa_header {
    size_t total_size;
    uint32_t origin;
} mn_numa_header;
_Static_assert(sizeof(mn_numa_header) <= MN_NUMA_HEADER_SIZE, "header fits its cache line");

static pthread_once_t mn_numa_once = PTHREAD_ONCE_INIT;
static int mn_numa_state; /* written once under pthread_once, read-only afterwards */

static void mn_numa_detect(void) { mn_numa_state = numa_available() >= 0 ? 1 : 0; }

int mn_numa_enabled(void) {
    pthread_once(&mn_numa_once, mn_numa_detect);
    return mn_numa_state;
}

int mn_numa_current_node(void) {
    if (!mn_numa_enabled()) return -1;
    int cpu = sched_getcpu();
    if (cpu < 0) return -1;
    return numa_node_of_cpu(cpu);
}

void *mn_numa_alloc(size_t size, int node) {
    if (size > SIZE_MAX - 2 * MN_NUMA_HEADER_SIZE) return NULL;
    size_t total = (size + MN_NUMA_HEADER_SIZE + MN_CACHE_LINE_SIZE - 1) &
                   ~(size_t)(MN_CACHE_LINE_SIZE - 1);
    unsigned char *base = NULL;
    uint32_t origin = MN_NUMA_ORIGIN_HEAP;
    if (node >= 0 && mn_numa_enabled() && node <= numa_max_node()) {
        base = numa_alloc_onnode(total, node); /* page aligned, zero-filled pages */
        if (base) {
            origin = MN_NUMA_ORIGIN_NUMA;
            if (total >= MN_NUMA_HUGE_PAGE_BYTES) (void)madvise(base, total, MADV_HUGEPAGE);
        }
    }
    if (!base) {
        if (total >= MN_NUMA_HUGE_PAGE_BYTES) {
            size_t rounded = (total + MN_NUMA_HUGE_PAGE_BYTES - 1) & ~(MN_NUMA_HUGE_PAGE_BYTES - 1);
            base = aligned_alloc(MN_NUMA_HUGE_PAGE_BYTES, rounded);
            /* Before the first touch (the memset), so the pages fault in huge. */
            if (base) (void)madvise(base, rounded, MADV_HUGEPAGE);
        } else {
            base = aligned_alloc(MN_CACHE_LINE_SIZE, total);
        }
        if (!base) return NULL;
        memset(base, 0, total);
    }
    mn_numa_header *header = (mn_numa_header *)base;
    header->total_size = total;
    header->origin = origin;
    return base + MN_NUMA_HEADER_SIZE;
}

void mn_numa_free(void *block) {
    if (!block) return;
    unsigned char *base = (unsigned char *)block - MN_NUMA_HEADER_SIZE;
    mn_numa_header *header = (mn_numa_header *)base;
    if (header->origin == MN_NUMA_ORIGIN_NUMA) {
        numa_free(base, header->total_size);
    } else {
        MN_ASSERT(header->origin == MN_NUMA_ORIGIN_HEAP);
        free(base);
    }
}
