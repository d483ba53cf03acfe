/*
 * bench_filter.c: what parsing a filter and matching it against one memory cost, so filtered
 * search can weigh a per-node mn_filter_match against a distance computation.
 *
 *   bench_filter [--iterations N]
 *   bench_filter --smoke        (a few thousand iterations; CTest runs this)
 *
 * The memory is a typical agent memory: 8 metadata fields (kind, source, session, title of 40
 * bytes, priority, score, pinned, 5 tags), an id and a creation time. For each filter of a
 * representative set it prints nanoseconds per mn_filter_parse (+ free) and per
 * mn_filter_match, and whether it matched. Figures only: it never fails on speed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "meta/mn_filter_internal.h"
#include "mnemo/mn_filter.h"
#include "mnemo/mn_meta.h"

static volatile uint64_t sink;

static mn_status build(void **doc, size_t *bytes) {
    static const char *tags[] = {"travel", "project-x", "user", "fact", "2026"};
    static const uint32_t lens[] = {6, 9, 4, 4, 4};
    mn_meta_builder *b;
    mn_status status = mn_meta_builder_create(&b);
    if (status != MN_OK) return status;
    mn_meta_builder_add_string(b, "kind", 4, "fact", 4);
    mn_meta_builder_add_string(b, "source", 6, "conversation", 12);
    mn_meta_builder_add_string(b, "session", 7, "session-1234", 12);
    mn_meta_builder_add_string(b, "title", 5, "Planning the trip to Rome in late spring", 40);
    mn_meta_builder_add_int(b, "priority", 8, 3);
    mn_meta_builder_add_double(b, "score", 5, 0.75);
    mn_meta_builder_add_bool(b, "pinned", 6, 0);
    mn_meta_builder_add_strings(b, "tags", 4, tags, lens, 5);
    status = mn_meta_builder_finish(b, doc, bytes, NULL);
    mn_meta_builder_destroy(b);
    return status;
}

int main(int argc, char **argv) {
    uint32_t iterations = 1000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) iterations = 2000;
        else if (i + 1 < argc && strcmp(argv[i], "--iterations") == 0) iterations = (uint32_t)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_filter [--smoke] [--iterations N]\n");
            return 2;
        }
    }
    if (iterations == 0) return 2;
    void *doc;
    size_t bytes;
    if (build(&doc, &bytes) != MN_OK) {
        fprintf(stderr, "bench_filter: could not build the document\n");
        return 1;
    }
    /* A 64-id $in list, as a "these memories only" filter. */
    char ids[2048];
    size_t n = (size_t)snprintf(ids, sizeof ids, "{\"id\": {\"$in\": [");
    for (int i = 0; i < 64; i++) n += (size_t)snprintf(ids + n, sizeof ids - n, "%s\"mem-%d\"", i ? ", " : "", i * 7);
    snprintf(ids + n, sizeof ids - n, "]}}");
    const char *filters[] = {
        "{\"kind\": \"fact\"}",
        "{\"kind\": \"fact\", \"priority\": {\"$gte\": 2}}",
        "{\"tags\": {\"$contains\": \"project-x\"}}",
        "{\"title\": {\"$icontains\": \"ROME IN\"}}",
        "{\"createdAt\": {\"$gte\": \"2026-11-01T00:00:00Z\"}}",
        "{\"$or\": [{\"kind\": \"chat\"}, {\"$and\": [{\"score\": {\"$gt\": 0.5}}, {\"$not\": {\"pinned\": true}}]}]}",
        "{\"missing\": {\"$exists\": false}, \"source\": {\"$nin\": [\"web\", \"email\"]}}",
        ids,
    };
    const char *id = "mem-35";
    int64_t created = 1793491200000000001LL;
    printf("document: 8 fields, %zu bytes; %u iterations\n", bytes, iterations);
    printf("%-8s %-8s %-5s filter\n", "parse ns", "match ns", "match");
    for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++) {
        size_t length = strlen(filters[f]);
        uint32_t slow = iterations / 10 ? iterations / 10 : 1;
        double t = now_seconds();
        for (uint32_t i = 0; i < slow; i++) {
            mn_filter *filter;
            if (mn_filter_parse(filters[f], length, &filter, NULL) != MN_OK) return 1;
            sink += mn_filter_node_count(filter);
            mn_filter_free(filter);
        }
        double parse_ns = (now_seconds() - t) * 1e9 / slow;
        mn_filter *filter;
        mn_filter_error error;
        if (mn_filter_parse(filters[f], length, &filter, &error) != MN_OK) {
            fprintf(stderr, "bench_filter: %s: %s\n", filters[f], error.message);
            return 1;
        }
        int matched = 0;
        t = now_seconds();
        for (uint32_t i = 0; i < iterations; i++) {
            matched = mn_filter_match(filter, doc, bytes, id, 6, created);
            sink += (uint64_t)matched;
        }
        double match_ns = (now_seconds() - t) * 1e9 / iterations;
        printf("%8.1f %8.1f %-5s %.70s%s\n", parse_ns, match_ns, matched ? "yes" : "no", filters[f],
               length > 70 ? "..." : "");
        mn_filter_free(filter);
    }
    mn_meta_free(doc);
    return 0;
}
