/*
 * bench_meta.c: what reading and writing a metadata document (mn_meta.h) costs, so the filter
 * and index code can weigh a per-memory field lookup against other work.
 *
 *   bench_meta [--fields F] [--iterations N]
 *   bench_meta --smoke        (a few thousand iterations; CTest runs this)
 *
 * The document is a typical agent memory's: F fields (default 8, at least 4) named k00, k01, ...
 * of every type (strings of 12 bytes, ints, doubles, bools, lists of 5 tags), and prints
 * nanoseconds per call for: validate, get of the first, middle and last field and of an absent
 * name sorting last, iterating every field, a list's items, building the document with the
 * builder, and patching one field. Figures only: it never fails on speed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "mnemo/mn_meta.h"

static volatile uint64_t sink;

static void usage(void) { fprintf(stderr, "usage: bench_meta [--smoke] [--fields F] [--iterations N]\n"); }

static mn_status build(uint32_t fields, void **doc, size_t *bytes) {
    static const char *tags[] = {"travel", "project-x", "user", "fact", "2026"};
    static const uint32_t lens[] = {6, 9, 4, 4, 4};
    mn_meta_builder *b;
    mn_status status = mn_meta_builder_create(&b);
    if (status != MN_OK) return status;
    for (uint32_t f = fields; f-- > 0;) { /* descending: the builder sorts */
        char name[16];
        snprintf(name, sizeof name, "k%02u", f % 100u);
        switch (f % 5) {
        case 0: mn_meta_builder_add_string(b, name, 3, "session-1234", 12); break;
        case 1: mn_meta_builder_add_int(b, name, 3, (int64_t)f * 1000); break;
        case 2: mn_meta_builder_add_double(b, name, 3, f * 0.25); break;
        case 3: mn_meta_builder_add_bool(b, name, 3, (int)(f & 1)); break;
        default: mn_meta_builder_add_strings(b, name, 3, tags, lens, 5); break;
        }
    }
    status = mn_meta_builder_finish(b, doc, bytes, NULL);
    mn_meta_builder_destroy(b);
    return status;
}

int main(int argc, char **argv) {
    uint32_t fields = 8, iterations = 2000000;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--smoke") == 0) iterations = 5000;
        else if (value && strcmp(argv[i], "--fields") == 0) fields = (uint32_t)atoi(value), i++;
        else if (value && strcmp(argv[i], "--iterations") == 0) iterations = (uint32_t)atoi(value), i++;
        else {
            usage();
            return 2;
        }
    }
    if (fields < 4 || fields > MN_META_FIELDS_MAX || iterations == 0) {
        usage();
        return 2;
    }
    void *doc;
    size_t bytes;
    if (build(fields, &doc, &bytes) != MN_OK || mn_meta_validate(doc, bytes, NULL) != MN_OK) {
        fprintf(stderr, "bench_meta: could not build the document\n");
        return 1;
    }
    printf("document: %u fields, %zu bytes; %u iterations\n", fields, bytes, iterations);

    double t = now_seconds();
    for (uint32_t i = 0; i < iterations; i++) sink += (uint64_t)mn_meta_validate(doc, bytes, NULL);
    printf("validate            %8.1f ns\n", (now_seconds() - t) * 1e9 / iterations);

    char probes[4][16];
    snprintf(probes[0], 16, "k00");
    snprintf(probes[1], 16, "k%02u", fields / 2);
    snprintf(probes[2], 16, "k%02u", fields - 1);
    snprintf(probes[3], 16, "zz");
    const char *labels[] = {"get first", "get middle", "get last", "get absent (last)"};
    for (int p = 0; p < 4; p++) {
        mn_meta_value v;
        t = now_seconds();
        for (uint32_t i = 0; i < iterations; i++) {
            sink += (uint64_t)mn_meta_get(doc, bytes, probes[p], (uint32_t)strlen(probes[p]), &v);
            sink += v.type;
        }
        printf("%-19s %8.1f ns\n", labels[p], (now_seconds() - t) * 1e9 / iterations);
    }

    t = now_seconds();
    for (uint32_t i = 0; i < iterations; i++) {
        mn_meta_cursor c;
        mn_meta_iter(doc, bytes, &c);
        uint32_t name_bytes;
        mn_meta_value v;
        while (mn_meta_next(&c, NULL, &name_bytes, &v) == MN_OK) sink += name_bytes;
    }
    printf("iterate all         %8.1f ns\n", (now_seconds() - t) * 1e9 / iterations);

    mn_meta_value list;
    if (mn_meta_get(doc, bytes, "k04", 3, &list) == MN_OK) {
        t = now_seconds();
        for (uint32_t i = 0; i < iterations; i++) {
            uint32_t at = 0, n;
            const char *s;
            while (mn_meta_list_next(&list, &at, &s, &n) == MN_OK) sink += n;
        }
        printf("list of 5 items     %8.1f ns\n", (now_seconds() - t) * 1e9 / iterations);
    }

    uint32_t slow = iterations / 10 ? iterations / 10 : 1;
    t = now_seconds();
    for (uint32_t i = 0; i < slow; i++) {
        void *again;
        size_t again_bytes;
        if (build(fields, &again, &again_bytes) == MN_OK) sink += again_bytes;
        mn_meta_free(again);
    }
    printf("build (builder)     %8.1f ns\n", (now_seconds() - t) * 1e9 / slow);

    mn_meta_builder *b;
    void *set;
    size_t set_bytes;
    mn_meta_builder_create(&b);
    mn_meta_builder_add_int(b, "k01", 3, 7);
    mn_meta_builder_finish(b, &set, &set_bytes, NULL);
    mn_meta_builder_destroy(b);
    t = now_seconds();
    for (uint32_t i = 0; i < slow; i++) {
        void *out;
        size_t out_bytes;
        if (mn_meta_patch(doc, bytes, set, set_bytes, NULL, NULL, 0, &out, &out_bytes, NULL) == MN_OK)
            sink += out_bytes;
        mn_meta_free(out);
    }
    printf("patch one field     %8.1f ns\n", (now_seconds() - t) * 1e9 / slow);
    mn_meta_free(set);
    mn_meta_free(doc);
    return 0;
}
