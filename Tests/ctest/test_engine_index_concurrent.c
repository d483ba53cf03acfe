/*
 * test_engine_index_concurrent.c: filtered reads answered from field indexes while the space
 * is written and its indexes are created and dropped (ThreadSanitizer label).
 *
 * Proves: with numeric index grp and keyword index flag on a space, while one thread inserts,
 * upserts, patches and deletes memories and, every few hundred writes, drops and re-creates
 * both indexes (queued among the writes), reader threads running mn_space_search_filtered,
 * mn_space_list_filtered and mn_space_count_filtered with filters the indexes answer (eq, in,
 * a range, a complement inside an AND, a bool) never receive a memory whose metadata, as handed
 * to the visit callback, does not satisfy the filter (checked here with mn_meta_get, not the
 * filter matcher); some searches collect their candidates from the indexes, some run while an
 * index is absent. Under TSan the run checks the index snapshots, the planner and the apply
 * paths for data races.
 */
#define _GNU_SOURCE
#include "test_filter_concurrent_support.h"

int main(void) { return tfc_run(1); }
