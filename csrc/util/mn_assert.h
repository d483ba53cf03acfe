/*
 * mn_assert.h: invariant checks. MN_ASSERT is always on (a broken invariant is a bug, and a
 * database that continues past one corrupts data); MN_DEBUG_ASSERT is for O(n) checks and only
 * compiled into debug builds. Operating errors (bad input, ENOMEM) are returned, never asserted.
 */
#ifndef MN_ASSERT_H
#define MN_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define MN_ASSERT(cond)                                                                    \
    do {                                                                                   \
        if (__builtin_expect(!(cond), 0)) {                                                \
            fprintf(stderr, "mnemo: assertion failed: %s (%s:%d)\n", #cond, __FILE__,      \
                    __LINE__);                                                             \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#ifdef NDEBUG
#define MN_DEBUG_ASSERT(cond) ((void)0)
#else
#define MN_DEBUG_ASSERT(cond) MN_ASSERT(cond)
#endif

#endif /* MN_ASSERT_H */
