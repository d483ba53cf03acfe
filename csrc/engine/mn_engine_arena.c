/*
 * mn_engine_arena.c: per-worker arenas for memory records, on the worker's NUMA node.
 *
 * Records are written by the worker running their space and read by any thread, so they are
 * placed on that worker's node: the arena takes 1 MiB chunks from mn_numa_alloc (libnuma's
 * numa_alloc_onnode, or aligned_alloc where numa_available() says no NUMA) and carves them into
 * power-of-two classes from 64 B to 64 KiB. Larger records get their own mn_numa_alloc block.
 *
 * Only the owning worker allocates, so the class lists need no lock. Frees come from anywhere
 * (call_rcu's thread after a grace period, a thread releasing the last handle on a dropped
 * space): they push the block onto the lock-free remote-free stack, and the owner takes the
 * whole stack with one atomic exchange when a class list is empty. Pop-all has no ABA problem.
 */
#include <string.h>

#include "engine/mn_engine_internal.h"
#include "numa/mn_numa.h"

#define MN_ARENA_HEADER_BYTES 16u
_Static_assert(sizeof(mn_arena_block) == MN_ARENA_HEADER_BYTES, "block header is 16 bytes");

static uint64_t mn_arena_class_bytes(uint32_t size_class) {
    return (uint64_t)1 << (MN_ENGINE_ARENA_CLASS_MIN_LOG2 + size_class);
}

void mn_arena_init(mn_arena *arena, int numa_node) {
    atomic_init(&arena->remote_free, NULL);
    for (uint32_t c = 0; c < MN_ENGINE_ARENA_CLASSES; c++) arena->free_lists[c] = NULL;
    arena->cursor = NULL;
    arena->end = NULL;
    arena->chunks = NULL;
    arena->numa_node = numa_node;
    atomic_init(&arena->reserved_bytes, 0);
}

void mn_arena_destroy(mn_arena *arena) {
    mn_arena_chunk *chunk = arena->chunks;
    while (chunk) {
        mn_arena_chunk *next = chunk->next;
        mn_numa_free(chunk);
        chunk = next;
    }
    arena->chunks = NULL;
}

/* Moves every remotely freed block to its class list. Owner only. */
static void mn_arena_collect(mn_arena *arena) {
    mn_arena_free *node = atomic_exchange_explicit(&arena->remote_free, NULL,
                                                   memory_order_acquire);
    while (node) {
        mn_arena_free *next = node->next;
        mn_arena_block *block = (mn_arena_block *)((uint8_t *)node - MN_ARENA_HEADER_BYTES);
        MN_ASSERT(block->arena == arena && block->size_class < MN_ENGINE_ARENA_CLASSES);
        node->next = arena->free_lists[block->size_class];
        arena->free_lists[block->size_class] = node;
        node = next;
    }
}

void *mn_arena_alloc(mn_arena *arena, size_t size, uint64_t *charged_bytes) {
    if (size > SIZE_MAX - 2 * MN_ARENA_HEADER_BYTES) return NULL;
    size_t total = size + MN_ARENA_HEADER_BYTES;
    uint32_t size_class = 0;
    while (size_class < MN_ENGINE_ARENA_CLASSES && mn_arena_class_bytes(size_class) < total) {
        size_class++;
    }
    mn_arena_block *block;
    if (size_class == MN_ENGINE_ARENA_CLASSES) {
        block = mn_numa_alloc(total, arena->numa_node);
        if (!block) return NULL;
        block->arena = NULL;
        block->size_class = MN_ARENA_CLASS_LARGE;
        block->large_bytes = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
        if (charged_bytes) *charged_bytes = total;
        return (uint8_t *)block + MN_ARENA_HEADER_BYTES;
    }
    uint64_t class_bytes = mn_arena_class_bytes(size_class);
    if (!arena->free_lists[size_class]) mn_arena_collect(arena);
    mn_arena_free *node = arena->free_lists[size_class];
    if (node) {
        arena->free_lists[size_class] = node->next;
        block = (mn_arena_block *)((uint8_t *)node - MN_ARENA_HEADER_BYTES);
    } else {
        if (!arena->cursor || (uint64_t)(arena->end - arena->cursor) < class_bytes) {
            /* A new chunk; the tail of the old one is abandoned (under one class size). */
            mn_arena_chunk *chunk = mn_numa_alloc(MN_ENGINE_ARENA_CHUNK_BYTES,
                                                  arena->numa_node);
            if (!chunk) return NULL;
            chunk->next = arena->chunks;
            arena->chunks = chunk;
            arena->cursor = (uint8_t *)chunk + MN_CACHE_LINE_SIZE;
            arena->end = (uint8_t *)chunk + MN_ENGINE_ARENA_CHUNK_BYTES;
            atomic_fetch_add_explicit(&arena->reserved_bytes, MN_ENGINE_ARENA_CHUNK_BYTES,
                                      memory_order_relaxed);
        }
        block = (mn_arena_block *)arena->cursor;
        arena->cursor += class_bytes;
    }
    block->arena = arena;
    block->size_class = size_class;
    block->large_bytes = 0;
    if (charged_bytes) *charged_bytes = class_bytes;
    return (uint8_t *)block + MN_ARENA_HEADER_BYTES;
}

void mn_arena_free_block(void *memory) {
    if (!memory) return;
    mn_arena_block *block = (mn_arena_block *)((uint8_t *)memory - MN_ARENA_HEADER_BYTES);
    if (block->size_class == MN_ARENA_CLASS_LARGE) {
        mn_numa_free(block);
        return;
    }
    mn_arena *arena = block->arena;
    mn_arena_free *node = memory;
    mn_arena_free *head = atomic_load_explicit(&arena->remote_free, memory_order_relaxed);
    do {
        node->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&arena->remote_free, &head, node,
                                                    memory_order_release,
                                                    memory_order_relaxed));
}

uint64_t mn_arena_block_bytes(const void *memory) {
    const mn_arena_block *block =
        (const mn_arena_block *)((const uint8_t *)memory - MN_ARENA_HEADER_BYTES);
    if (block->size_class == MN_ARENA_CLASS_LARGE) return block->large_bytes;
    return mn_arena_class_bytes(block->size_class);
}
