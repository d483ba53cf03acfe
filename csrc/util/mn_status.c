/*
 * mn_status.c: names for the status codes of mn_status.h, so every layer (C tests, the Swift
 * error type, the CLI) prints the same words for the same failure.
 */
#include "mnemo/mn_status.h"

const char *mn_status_string(mn_status status) {
    switch (status) {
    case MN_OK: return "ok";
    case MN_ERR_INVALID: return "invalid argument";
    case MN_ERR_DIMENSION: return "dimension mismatch or out of range";
    case MN_ERR_NON_FINITE: return "vector has a NaN or infinite component";
    case MN_ERR_ZERO_VECTOR: return "zero vector under the cosine metric";
    case MN_ERR_DUPLICATE: return "duplicate id";
    case MN_ERR_NOT_FOUND: return "not found";
    case MN_ERR_NO_MEMORY: return "out of memory";
    case MN_ERR_TRUNCATED: return "stream truncated";
    case MN_ERR_CORRUPT: return "stream corrupt";
    case MN_ERR_VERSION: return "unknown stream format or version";
    case MN_ERR_IO: return "i/o error";
    case MN_ERR_FULL: return "queue full";
    case MN_ERR_TOO_LARGE: return "too large";
    case MN_ERR_CLOSED: return "closed";
    case MN_ERR_UNSUPPORTED: return "unsupported on this cpu or build";
    case MN_ERR_UNKNOWN_SPACE: return "unknown space";
    case MN_ERR_LOCKED: return "data directory locked by another engine";
    default: return "unknown status";
    }
}
