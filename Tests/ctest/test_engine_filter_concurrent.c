/*
 * test_engine_filter_concurrent.c: filtered reads under concurrent writes (ThreadSanitizer
 * label).
 *
 * Proves: while one thread inserts, upserts (vector and metadata), patches metadata and deletes
 * memories of a space without field indexes, reader threads running mn_space_search_filtered
 * (both strategies: a filter matching ~80% of the memories is traversed, one matching ~10% is
 * scanned), mn_space_list_filtered and mn_space_count_filtered never receive a memory whose
 * metadata, as handed to the visit callback, does not satisfy the filter (checked by reading the
 * fields with mn_meta_get, not with the filter matcher), and every search result comes nearest
 * first. Under TSan the same run checks the engine's filtered reads for data races. The run is
 * test_filter_concurrent_support.h's, shared with test_engine_index_concurrent.
 */
#define _GNU_SOURCE
#include "test_filter_concurrent_support.h"

int main(void) { return tfc_run(0); }
