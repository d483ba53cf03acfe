/*
 * mn_test_data.h: the real ANN sets of ../shared/data for the C tests. One loader reads a
 * set's base and query vectors (texmex .fvecs), so every recall test finds the data, skips and
 * fails the same way: absent data is skipped with a message, except under CI=true where it is
 * a failure (the data must be there in CI). The directory is $MNEMO_DATA, else the path CMake
 * compiles in as MN_TEST_DATA_DIR.
 */
#ifndef MN_TEST_DATA_H
#define MN_TEST_DATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnemo/mn_limits.h"
#include "mn_test.h"

/* Reads an .fvecs file's first `limit` rows (all when 0); NULL when absent or unreadable. */
static float *mn_test_read_fvecs(const char *path, uint32_t *dim, size_t *count, size_t limit) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    int32_t d = 0;
    if (fread(&d, 4, 1, file) != 1 || d <= 0 || d > MN_DIMENSION_MAX) {
        fclose(file);
        return NULL;
    }
    fseek(file, 0, SEEK_END);
    size_t rows = (size_t)ftell(file) / (4 + (size_t)d * 4);
    fseek(file, 0, SEEK_SET);
    if (limit && rows > limit) rows = limit;
    float *data = malloc(rows * (size_t)d * sizeof(float));
    for (size_t i = 0; data && i < rows; i++) {
        int32_t header;
        if (fread(&header, 4, 1, file) != 1 || fread(data + i * d, 4, (size_t)d, file) != (size_t)d) {
            free(data);
            data = NULL;
        }
    }
    fclose(file);
    if (!data) return NULL;
    *dim = (uint32_t)d;
    *count = rows;
    return data;
}

/* A set's vectors: `base` rows and `queries` rows of one dimension. */
typedef struct mn_test_set {
    float *base;
    float *queries;
    size_t count;
    size_t queries_count;
    uint32_t dim;
} mn_test_set;

/* Loads SET_base.fvecs (first `rows`, all when 0) and SET_query.fvecs (first `queries_max`).
 * Returns 0 and prints "skipped" when the set is absent (a CHECK failure under CI=true), 1 when
 * loaded; release with mn_test_set_free. */
static int mn_test_set_load(const char *set, size_t rows, size_t queries_max, mn_test_set *out) {
    const char *directory = getenv("MNEMO_DATA");
    if (!directory) directory = MN_TEST_DATA_DIR;
    const char *ci = getenv("CI");
    int required = ci && strcmp(ci, "true") == 0;
    char path[4096];
    uint32_t query_dim = 0;
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/%s_base.fvecs", directory, set);
    out->base = mn_test_read_fvecs(path, &out->dim, &out->count, rows);
    snprintf(path, sizeof path, "%s/%s_query.fvecs", directory, set);
    out->queries = mn_test_read_fvecs(path, &query_dim, &out->queries_count, queries_max);
    if (!out->base || !out->queries || query_dim != out->dim) {
        CHECK(!required, "%s not found (or unreadable) in %s and CI=true", set, directory);
        printf("%s not found in %s (set MNEMO_DATA): skipped\n", set, directory);
        free(out->base);
        free(out->queries);
        memset(out, 0, sizeof *out);
        return 0;
    }
    return 1;
}

static void mn_test_set_free(mn_test_set *set) {
    free(set->base);
    free(set->queries);
    memset(set, 0, sizeof *set);
}

#endif
