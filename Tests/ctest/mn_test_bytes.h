/*
 * mn_test_bytes.h: a growing byte buffer, the target of the save and export functions' write
 * callbacks in the C tests (shared by both test harnesses, mn_test.h and test_engine_support.h).
 */
#ifndef MN_TEST_BYTES_H
#define MN_TEST_BYTES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_status.h"

/* A growing byte buffer, the target of the save functions' write callbacks in tests. */
typedef struct mn_bytes {
    uint8_t *data;
    size_t size;
    size_t capacity;
} mn_bytes;

static inline mn_status mn_bytes_write(void *context, const void *data, size_t size) {
    mn_bytes *bytes = context;
    if (bytes->size + size > bytes->capacity) {
        size_t capacity = bytes->capacity ? bytes->capacity : 4096;
        while (capacity < bytes->size + size) capacity *= 2;
        uint8_t *grown = realloc(bytes->data, capacity);
        if (!grown) return MN_ERR_NO_MEMORY;
        bytes->data = grown;
        bytes->capacity = capacity;
    }
    memcpy(bytes->data + bytes->size, data, size);
    bytes->size += size;
    return MN_OK;
}

#endif /* MN_TEST_BYTES_H */
