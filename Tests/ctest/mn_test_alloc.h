/*
 * mn_test_alloc.h: allocation failure injection and allocation accounting for C tests.
 *
 * A test that includes this header (in one translation unit) must be linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc,--wrap=numa_alloc_onnode
 * (CMakeLists.txt does this for the tests named in MN_ALLOC_WRAP_TESTS). The linker then sends
 * every call the test and the library's objects make to these functions through __wrap_*,
 * which count them and can fail them, while the library itself carries no test hook and no
 * global state. Calls made inside shared libraries (liburcu, libnuma, libxxhash) are not seen.
 *
 *   mn_alloc_fail_after(n)  the (n+1)-th counted allocation from now fails (and only it);
 *                           -1 turns failing off
 *   mn_alloc_calls()        allocations seen since the last mn_alloc_reset
 *   mn_alloc_bytes()        bytes requested by them (realloc counts its new size)
 *   mn_alloc_refuse_over(b) any single request over b bytes fails (0: no limit)
 * State is atomic: workers allocate on their own threads.
 */
#ifndef MN_TEST_ALLOC_H
#define MN_TEST_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *pointer, size_t size);
void *__real_aligned_alloc(size_t alignment, size_t size);
void *__real_numa_alloc_onnode(size_t size, int node);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *pointer, size_t size);
void *__wrap_aligned_alloc(size_t alignment, size_t size);
void *__wrap_numa_alloc_onnode(size_t size, int node);

static _Atomic int64_t mn_alloc_countdown = -1; /* < 0: never fail */
static _Atomic uint64_t mn_alloc_seen;
static _Atomic uint64_t mn_alloc_requested;
static _Atomic uint64_t mn_alloc_over;           /* 0: no per-request limit */
static _Atomic uint64_t mn_alloc_failures;

static inline void mn_alloc_reset(void) {
    atomic_store(&mn_alloc_countdown, -1);
    atomic_store(&mn_alloc_seen, 0);
    atomic_store(&mn_alloc_requested, 0);
    atomic_store(&mn_alloc_over, 0);
    atomic_store(&mn_alloc_failures, 0);
}
static inline void mn_alloc_fail_after(int64_t n) { atomic_store(&mn_alloc_countdown, n); }
static inline void mn_alloc_refuse_over(uint64_t bytes) { atomic_store(&mn_alloc_over, bytes); }
static inline uint64_t mn_alloc_calls(void) { return atomic_load(&mn_alloc_seen); }
static inline uint64_t mn_alloc_bytes(void) { return atomic_load(&mn_alloc_requested); }
static inline uint64_t mn_alloc_failed(void) { return atomic_load(&mn_alloc_failures); }

/* 1 when this allocation must fail. */
static int mn_alloc_should_fail(size_t size) {
    atomic_fetch_add(&mn_alloc_seen, 1);
    atomic_fetch_add(&mn_alloc_requested, (uint64_t)size);
    uint64_t over = atomic_load(&mn_alloc_over);
    int fail = over != 0 && size > over;
    int64_t left = atomic_load(&mn_alloc_countdown);
    while (left >= 0) {
        if (atomic_compare_exchange_weak(&mn_alloc_countdown, &left, left - 1)) {
            if (left == 0) fail = 1;
            break;
        }
    }
    if (fail) atomic_fetch_add(&mn_alloc_failures, 1);
    return fail;
}

void *__wrap_malloc(size_t size) { return mn_alloc_should_fail(size) ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t count, size_t size) {
    size_t total = size != 0 && count > SIZE_MAX / size ? SIZE_MAX : count * size;
    return mn_alloc_should_fail(total) ? NULL : __real_calloc(count, size);
}

void *__wrap_realloc(void *pointer, size_t size) {
    return mn_alloc_should_fail(size) ? NULL : __real_realloc(pointer, size);
}

void *__wrap_aligned_alloc(size_t alignment, size_t size) {
    return mn_alloc_should_fail(size) ? NULL : __real_aligned_alloc(alignment, size);
}

void *__wrap_numa_alloc_onnode(size_t size, int node) {
    return mn_alloc_should_fail(size) ? NULL : __real_numa_alloc_onnode(size, node);
}

#endif /* MN_TEST_ALLOC_H */
