/*
 * mn_engine_meta.c: the engine's calls into the metadata codec (include/mnemo/mn_meta.h).
 *
 * The engine stores a memory's metadata as the encoded document it was given (opaque bytes to
 * it): it checks each document whole on the submitting thread, before anything is queued, and
 * merges a patch into a stored document on the space's runner. These three functions are the
 * only places the engine depends on the codec, so its format can evolve without touching the
 * engine's records, logs or streams.
 */
#include <string.h>

#include "engine/mn_engine_internal.h"

mn_status mn_engine_meta_check_doc(const uint8_t *doc, uint64_t bytes, mn_meta_error *error) {
    mn_meta_error scratch;
    if (!error) error = &scratch;
    memset(error, 0, sizeof(*error));
    if (bytes == 0) return MN_OK; /* no metadata */
    if (!doc) return MN_ERR_INVALID;
    if (bytes > MN_META_DOC_BYTES_MAX) return MN_ERR_TOO_LARGE;
    return mn_meta_validate(doc, (size_t)bytes, error);
}

mn_status mn_engine_meta_check_patch(const uint8_t *patch, uint64_t bytes,
                                     mn_meta_error *error) {
    mn_meta_error scratch;
    if (!error) error = &scratch;
    memset(error, 0, sizeof(*error));
    if (!patch || bytes == 0) return MN_ERR_INVALID;
    if (bytes > MN_ENGINE_META_PATCH_BYTES_MAX) return MN_ERR_TOO_LARGE;
    return mn_meta_patch_validate(patch, (size_t)bytes, error);
}

mn_status mn_engine_meta_merge(const uint8_t *old, uint64_t old_bytes, const uint8_t *patch,
                               uint64_t patch_bytes, uint8_t **out, uint64_t *out_bytes) {
    *out = NULL;
    *out_bytes = 0;
    void *merged = NULL;
    size_t merged_bytes = 0;
    mn_status status = mn_meta_patch_apply(old_bytes ? old : NULL, (size_t)old_bytes, patch,
                                           (size_t)patch_bytes, &merged, &merged_bytes, NULL);
    if (status != MN_OK) return status;
    if (merged_bytes > MN_META_DOC_BYTES_MAX) { /* the codec checks it; the record needs it */
        mn_meta_free(merged);
        return MN_ERR_TOO_LARGE;
    }
    *out = merged;
    *out_bytes = merged_bytes;
    return MN_OK;
}
