/*
 * mn_bytes.h: the pieces every on-disk and on-wire format of the C core shares.
 *
 * Little-endian field access (formats are little-endian whatever the host, and fields are
 * read from byte buffers that need not be aligned), and the checksummed stream wrappers used by
 * the index, association and space streams: every byte written or read also feeds an XXH64
 * state, whose digest is the stream's trailer.
 */
#ifndef MN_BYTES_H
#define MN_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <xxhash.h>

#include "mnemo/mn_status.h"
#include "mnemo/mn_stream.h"

static inline void mn_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void mn_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t mn_get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static inline uint64_t mn_get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/** A write callback whose bytes are also hashed. */
typedef struct mn_hashed_writer {
    mn_write_fn write;
    void *context;
    XXH64_state_t *hash;
} mn_hashed_writer;

static inline mn_status mn_hashed_write(mn_hashed_writer *writer, const void *data, size_t size) {
    if (size == 0) return MN_OK;
    XXH64_update(writer->hash, data, size);
    return writer->write(writer->context, data, size);
}

/** A read callback whose bytes are also hashed. */
typedef struct mn_hashed_reader {
    mn_read_fn read;
    void *context;
    XXH64_state_t *hash;
} mn_hashed_reader;

static inline mn_status mn_hashed_read(mn_hashed_reader *reader, void *data, size_t size) {
    if (size == 0) return MN_OK;
    mn_status status = reader->read(reader->context, data, size);
    if (status == MN_OK) XXH64_update(reader->hash, data, size);
    return status;
}

/** A byte buffer read front to back through an mn_read_fn (the *_load_buffer functions). */
typedef struct mn_buffer_reader {
    const uint8_t *data;
    size_t size;
    size_t offset;
} mn_buffer_reader;

/** An mn_read_fn over an mn_buffer_reader: MN_ERR_TRUNCATED past the end. */
static inline mn_status mn_buffer_read(void *context, void *data, size_t size) {
    mn_buffer_reader *reader = context;
    if (size > reader->size - reader->offset) return MN_ERR_TRUNCATED;
    memcpy(data, reader->data + reader->offset, size);
    reader->offset += size;
    return MN_OK;
}

#endif /* MN_BYTES_H */
