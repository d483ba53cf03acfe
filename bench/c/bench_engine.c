/*
 * bench_engine.c: the engine's microbenchmarks in C, so they can run where Swift is absent
 * (the 16-core device machine) and without Swift's overheads in the figures.
 *
 *   batch    per-memory insert time for batches of 1, 100 and 500 (each awaited)
 *   bulk     one space bulk-loaded with one batch by 1 worker vs 2 (parallel batch linking)
 *   scaling  1, 16 and 1,000 spaces x 1, 2 (, 16) workers, inserts/s, beside a baseline of
 *            one shared HNSW index behind a mutex fed by the same producer threads
 *   skew     1,000 spaces, Zipf(1.1) vs uniform traffic, stealing on and off (timed rows), from
 *            --agents writers that each wait for their write's completion (default 64; 0: the
 *            producers flood the mailboxes without waiting)
 *   rounds   one space rewritten (every memory upserted) 10 times: upserts/s per round
 *   mixed    searches/s on one space alone, and while its worker inserts into it
 *   lookup   one space grown to 10k, 100k and 1M memories (--lookup-max): inserts/s of each
 *            stage, ns per get by id and per label lookup, filtered-traversal searches/s
 *
 * Every figure is measured on the real path (mn_space_* through mailboxes and workers). This
 * program prints figures only; it never fails on speed. --json prints one object per line;
 * --smoke runs tiny sizes (the CTest smoke test).
 *
 * Usage: bench_engine [--json] [--smoke] [--workers 1,2,16] [--inserts N] [--dimension D]
 *                     [--producers P] [--agents A] [--repeat R] [--seconds S]
 *                     [--workload insert|upsert]
 *                     [--only batch|bulk|scaling|skew|rounds|mixed|lookup]
 *                     [--lookup-max N]
 * Skew rows run S seconds each (default 5) and, like the batch rows, R times (default 5):
 * the tables print medians.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_support.h"
#include "engine/mn_engine_internal.h" /* mn_space_find_label: the label lookup of searches */
#include "mnemo/mn_engine.h"
#include "mnemo/mn_filter.h"
#include "mnemo/mn_hnsw.h"
#include "util/mn_rcu.h"

#define BENCH_WORKER_COUNTS_MAX 8
#define BENCH_PRODUCERS_MAX 64
#define BENCH_ID_BYTES 24
#define BENCH_EF_CONSTRUCTION 100
#define BENCH_M 16
#define BENCH_ZIPF_S 1.1

typedef struct bench_config {
    int json;
    int smoke;
    uint32_t workers[BENCH_WORKER_COUNTS_MAX];
    uint32_t worker_counts;
    uint32_t inserts;
    uint32_t dimension;
    uint32_t producers;
    uint32_t agents;     /* skew: writes in flight at once (0: no limit) */
    uint32_t repeat;     /* skew and batch: runs per row (medians) */
    double seconds;      /* skew: seconds per row */
    const char *workload; /* skew: only "insert" or "upsert" rows (for profiling one) */
    uint32_t age;        /* skew: upsert rows rewrite every memory this often before measuring */
    const char *only;
    uint32_t lookup_max;  /* lookup: the largest space measured */
} bench_config;

/* Waits without taking a core from the workers (a 2-core machine has none to spare). */
static void pause_briefly(void) {
    struct timespec pause = {0, 100000};
    nanosleep(&pause, NULL);
}

/* splitmix64 (the vectors and traffic of this bench; bench_support.h has xorshift64*). */
static uint64_t next_splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float *make_vectors(size_t count, uint32_t dimension, uint64_t seed) {
    float *vectors = malloc(count * dimension * sizeof(float));
    if (!vectors) abort();
    uint64_t state = seed;
    for (size_t i = 0; i < count * dimension; i++) {
        vectors[i] = (float)((next_splitmix(&state) >> 11) * (1.0 / 9007199254740992.0)) - 0.5f;
    }
    return vectors;
}

static mn_engine *make_engine(uint32_t workers, uint32_t stealing) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = workers;
    options.stealing = stealing;
    mn_engine *engine = NULL;
    mn_status status = mn_engine_create(&options, &engine);
    if (status != MN_OK) {
        fprintf(stderr, "mn_engine_create: %s\n", mn_status_string(status));
        exit(2);
    }
    return engine;
}

static mn_space **make_spaces(mn_engine *engine, uint32_t count, uint32_t dimension) {
    mn_space **spaces = calloc(count, sizeof(mn_space *));
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, MN_METRIC_L2, &params);
    params.m = BENCH_M;
    params.ef_construction = BENCH_EF_CONSTRUCTION;
    char name[32];
    for (uint32_t s = 0; s < count; s++) {
        snprintf(name, sizeof(name), "space-%u", s);
        if (mn_engine_space_create(engine, name, (uint32_t)strlen(name), &params, &spaces[s]) !=
            MN_OK) {
            abort();
        }
    }
    return spaces;
}

static void free_spaces(mn_space **spaces, uint32_t count) {
    for (uint32_t s = 0; s < count; s++) mn_space_release(spaces[s]);
    free(spaces);
}

/* Sum of the workers' busy time, for utilisation = busy / (wall x workers). */
static double busy_seconds(mn_engine *engine) {
    uint32_t workers = 0;
    mn_engine_worker_count(engine, &workers);
    double busy = 0;
    for (uint32_t k = 0; k < workers; k++) {
        mn_worker_stats stats;
        mn_engine_worker_stats(engine, k, &stats);
        busy += (double)stats.busy_ns * 1e-9;
    }
    return busy;
}

/* Workers' steals and coalesced writes (superseded in their group by a later write to the
 * id) so far, summed. */
typedef struct worker_totals {
    uint64_t steals;
    uint64_t coalesced;
} worker_totals;

static worker_totals totals_of(mn_engine *engine, uint32_t workers) {
    worker_totals totals = {0, 0};
    for (uint32_t k = 0; k < workers; k++) {
        mn_worker_stats stats;
        mn_engine_worker_stats(engine, k, &stats);
        totals.steals += stats.steals;
        totals.coalesced += stats.coalesced;
    }
    return totals;
}

/* ---- asynchronous load: producers submit, completions count ---- */

typedef struct load {
    mn_space **spaces;
    const uint32_t *targets; /* space of each operation */
    const uint32_t *keys;    /* NULL: insert id m<k>; else upsert id m<keys[i]> */
    const float *vectors;
    uint32_t dimension;
    size_t count;            /* targets, keys and vectors hold `count` operations */
    double seconds;          /* 0: run the count once; else cycle through it this long */
    uint32_t producers;
    uint32_t window;         /* each producer's writes in flight at most (0: no limit) */
    atomic_size_t issued;
    atomic_size_t completed;
    atomic_size_t failed;
} load;

typedef struct producer_arg {
    load *load;
    uint32_t index;
    atomic_size_t in_flight; /* its writes not completed yet */
} producer_arg;

static void on_insert(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    producer_arg *arg = context;
    load *l = arg->load;
    if (status != MN_OK) atomic_fetch_add(&l->failed, 1);
    atomic_fetch_sub_explicit(&arg->in_flight, 1, memory_order_release);
    atomic_fetch_add_explicit(&l->completed, 1, memory_order_release);
}

/* Submits operations k = index, index + producers, ...: the k-th is operation k mod count (an
 * insert's id is m<k>, so ids stay fresh when a timed load cycles). With a window, it stands
 * for `window` agents that each wait for their write before the next: it submits only while
 * fewer than `window` of its writes are in flight. */
static void *producer_main(void *argument) {
    producer_arg *arg = argument;
    load *l = arg->load;
    char id[BENCH_ID_BYTES];
    double deadline = now_seconds() + l->seconds;
    size_t issued = 0;
    for (size_t k = arg->index;; k += l->producers) {
        if (l->seconds == 0 && k >= l->count) break;
        if (l->seconds > 0 && issued % 64 == 0 && now_seconds() >= deadline) break;
        while (l->window && atomic_load_explicit(&arg->in_flight, memory_order_acquire) >= l->window)
            pause_briefly();
        size_t i = k % l->count;
        int n = snprintf(id, sizeof(id), "m%zu", l->keys ? (size_t)l->keys[i] : k);
        mn_status (*submit)(mn_space *, const char *, uint32_t, const float *, uint32_t,
                            const uint8_t *, uint64_t, uint32_t, mn_completion_fn, void *) =
            l->keys ? mn_space_upsert : mn_space_insert;
        atomic_fetch_add_explicit(&arg->in_flight, 1, memory_order_relaxed);
        mn_status status = submit(l->spaces[l->targets[i]], id, (uint32_t)n,
                                  l->vectors + i * l->dimension, l->dimension, NULL, 0,
                                  MN_SUBMIT_WAIT, on_insert, arg);
        if (status != MN_OK) abort();
        issued++;
    }
    atomic_fetch_add(&l->issued, issued);
    return NULL;
}

/* Runs the load and returns operations per second (submission start to last completion). */
static double run_load(load *l) {
    pthread_t threads[BENCH_PRODUCERS_MAX];
    producer_arg args[BENCH_PRODUCERS_MAX];
    atomic_init(&l->issued, 0);
    atomic_init(&l->completed, 0);
    atomic_init(&l->failed, 0);
    double start = now_seconds();
    for (uint32_t p = 0; p < l->producers; p++) {
        args[p].load = l;
        args[p].index = p;
        atomic_init(&args[p].in_flight, 0);
        pthread_create(&threads[p], NULL, producer_main, &args[p]);
    }
    for (uint32_t p = 0; p < l->producers; p++) pthread_join(threads[p], NULL);
    size_t issued = atomic_load(&l->issued);
    while (atomic_load_explicit(&l->completed, memory_order_acquire) < issued) pause_briefly();
    double elapsed = now_seconds() - start;
    if (atomic_load(&l->failed) != 0) fprintf(stderr, "warning: %zu operations failed\n",
                                              atomic_load(&l->failed));
    return (double)issued / elapsed;
}

/* The median of n values (sorts them). */
static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, size_t n) {
    qsort(values, n, sizeof(double), compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* ---- the shared-index baseline ---- */

typedef struct shared_index {
    mn_hnsw *index;
    pthread_mutex_t lock;
    const float *vectors;
    uint32_t dimension;
    size_t count;
    uint32_t producers;
} shared_index;

typedef struct shared_arg {
    shared_index *shared;
    uint32_t index;
} shared_arg;

static void *shared_producer(void *argument) {
    shared_arg *arg = argument;
    shared_index *s = arg->shared;
    for (size_t i = arg->index; i < s->count; i += s->producers) {
        pthread_mutex_lock(&s->lock);
        mn_status status = mn_hnsw_insert(s->index, i, s->vectors + i * s->dimension,
                                          s->dimension);
        pthread_mutex_unlock(&s->lock);
        if (status != MN_OK) abort();
    }
    return NULL;
}

static double run_shared(const float *vectors, size_t count, uint32_t dimension,
                         uint32_t producers) {
    shared_index s = {.vectors = vectors, .dimension = dimension, .count = count,
                      .producers = producers};
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, MN_METRIC_L2, &params);
    params.m = BENCH_M;
    params.ef_construction = BENCH_EF_CONSTRUCTION;
    if (mn_hnsw_create(&params, &s.index) != MN_OK) abort();
    pthread_mutex_init(&s.lock, NULL);
    pthread_t threads[BENCH_PRODUCERS_MAX];
    shared_arg args[BENCH_PRODUCERS_MAX];
    double start = now_seconds();
    for (uint32_t p = 0; p < producers; p++) {
        args[p] = (shared_arg){&s, p};
        pthread_create(&threads[p], NULL, shared_producer, &args[p]);
    }
    for (uint32_t p = 0; p < producers; p++) pthread_join(threads[p], NULL);
    double elapsed = now_seconds() - start;
    mn_hnsw_destroy(s.index);
    pthread_mutex_destroy(&s.lock);
    return (double)count / elapsed;
}

/* ---- benches ---- */

static void bench_scaling(const bench_config *config) {
    const uint32_t space_counts[] = {1, 16, 1000};
    size_t n = config->inserts;
    float *vectors = make_vectors(n, config->dimension, 1);
    uint32_t *targets = malloc(n * sizeof(uint32_t));
    double shared = run_shared(vectors, n, config->dimension, config->producers);
    if (config->json) {
        printf("{\"bench\":\"scaling\",\"design\":\"shared_index_lock\",\"producers\":%u,"
               "\"inserts\":%zu,\"inserts_per_second\":%.0f}\n",
               config->producers, n, shared);
    } else {
        printf("\nscaling: %zu inserts, dimension %u, M %d, ef_construction %d, %u producers\n",
               n, config->dimension, BENCH_M, BENCH_EF_CONSTRUCTION, config->producers);
        printf("  baseline, one shared index behind a mutex: %.0f inserts/s\n", shared);
        printf("  %8s %8s %14s %9s %11s %10s %9s\n", "spaces", "workers", "inserts/s", "speedup",
               "efficiency", "x shared", "busy");
    }
    for (size_t c = 0; c < sizeof(space_counts) / sizeof(space_counts[0]); c++) {
        uint32_t spaces_n = space_counts[c];
        if (config->smoke && spaces_n > 16) spaces_n = 16;
        for (size_t i = 0; i < n; i++) targets[i] = (uint32_t)(i % spaces_n);
        double base = 0;
        for (uint32_t w = 0; w < config->worker_counts; w++) {
            uint32_t workers = config->workers[w];
            mn_engine *engine = make_engine(workers, 1);
            mn_space **spaces = make_spaces(engine, spaces_n, config->dimension);
            load l = {.spaces = spaces, .targets = targets, .vectors = vectors,
                      .dimension = config->dimension, .count = n,
                      .producers = config->producers};
            double rate = run_load(&l);
            double utilisation = busy_seconds(engine) / ((double)n / rate * (double)workers);
            if (w == 0) base = rate;
            double speedup = rate / base; /* over the first worker count (normally 1) */
            double efficiency = speedup * (double)config->workers[0] / (double)workers;
            uint32_t steals = (uint32_t)totals_of(engine, workers).steals;
            if (config->json) {
                printf("{\"bench\":\"scaling\",\"design\":\"space_per_index\",\"workers\":%u,"
                       "\"spaces\":%u,\"producers\":%u,\"inserts\":%zu,"
                       "\"inserts_per_second\":%.0f,\"speedup\":%.3f,\"efficiency\":%.3f,"
                       "\"over_shared\":%.3f,\"steals\":%u,\"utilisation\":%.3f}\n",
                       workers, spaces_n, config->producers, n, rate, speedup, efficiency,
                       rate / shared, steals, utilisation);
            } else {
                printf("  %8u %8u %14.0f %8.2fx %11.2f %9.2fx %8.0f%%\n", spaces_n, workers, rate,
                       speedup, efficiency, rate / shared, utilisation * 100);
            }
            free_spaces(spaces, spaces_n);
            mn_engine_destroy(engine);
        }
    }
    free(targets);
    free(vectors);
}

/* Ranks spaces by a random permutation and draws each insert's space from Zipf(s). */
static void zipf_targets(uint32_t *targets, size_t n, uint32_t spaces, double s, uint64_t seed) {
    double *cdf = malloc(spaces * sizeof(double));
    uint32_t *permutation = malloc(spaces * sizeof(uint32_t));
    double total = 0;
    for (uint32_t k = 0; k < spaces; k++) {
        total += 1.0 / pow((double)(k + 1), s);
        cdf[k] = total;
        permutation[k] = k;
    }
    uint64_t state = seed;
    for (uint32_t k = spaces - 1; k > 0; k--) {
        uint32_t j = (uint32_t)(next_splitmix(&state) % (k + 1));
        uint32_t t = permutation[k];
        permutation[k] = permutation[j];
        permutation[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        double u = (double)(next_splitmix(&state) >> 11) * (1.0 / 9007199254740992.0) * total;
        uint32_t lo = 0, hi = spaces - 1;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (cdf[mid] < u) lo = mid + 1; else hi = mid;
        }
        targets[i] = permutation[lo];
    }
    free(cdf);
    free(permutation);
}

static void prefill(mn_space **spaces, uint32_t count, uint32_t per_space, uint32_t dimension);

/* Rewrites every memory of every space `rounds` times (upserts to new random vectors), so the
 * measured rows compare graphs of the same age: an index whose nodes were updated in place
 * many times has fuller neighbour lists than a fresh one, and each update costs more there. */
static void age_spaces(mn_space **spaces, uint32_t count, uint32_t per_space, uint32_t rounds,
                       uint32_t dimension, uint32_t producers) {
    size_t n = (size_t)count * per_space * rounds;
    uint32_t *targets = malloc(n * sizeof(uint32_t));
    uint32_t *keys = malloc(n * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) {
        targets[i] = (uint32_t)(i % count);
        keys[i] = (uint32_t)(i / count % per_space);
    }
    float *vectors = make_vectors(n, dimension, 9);
    load l = {.spaces = spaces, .targets = targets, .keys = keys, .vectors = vectors,
              .dimension = dimension, .count = n, .producers = producers};
    (void)run_load(&l);
    free(targets);
    free(keys);
    free(vectors);
}

/* Operations generated for the skew rows; a timed row cycles through them (inserts take
 * fresh ids each cycle). */
#define BENCH_SKEW_OPERATIONS 200000u

/*
 * Two workloads. "insert": fresh ids; hot spaces grow large, so their inserts cost more (HNSW
 * insert cost grows with the graph) and skewed traffic is slower for that reason alone.
 * "upsert": every space is pre-filled with the same number of memories and traffic replaces
 * random ones, so an operation costs the same in every space and the ratio isolates scheduling.
 * Groups coalesce the writes to one id that queue up together (only the last reaches the
 * graph), and how much they coalesce depends on the traffic, so each row also gives the rate
 * of writes that reached the graph ("graph/s": ops/s less the coalesced ones), whose
 * skewed/uniform ratio compares the same work per write.
 * Each row runs --seconds on a fresh engine; the rows are repeated --repeat times, interleaved
 * (so a slow minute of a shared machine hits every row alike), and the table gives medians:
 * of ops/s and utilisation per row, and of the ratios taken within each repetition.
 */
static void bench_skew(const bench_config *config) {
    uint32_t spaces_n = config->smoke ? 50 : 1000;
    uint32_t per_space = config->smoke ? 16 : 64;
    uint32_t workers = 2; /* the largest worker count asked for, at least 2 */
    for (uint32_t w = 0; w < config->worker_counts; w++) {
        if (config->workers[w] > workers) workers = config->workers[w];
    }
    size_t n = config->smoke ? config->inserts : BENCH_SKEW_OPERATIONS;
    uint32_t repeat = config->repeat;
    float *vectors = make_vectors(n, config->dimension, 2);
    uint32_t *uniform = malloc(n * sizeof(uint32_t));
    uint32_t *skewed = malloc(n * sizeof(uint32_t));
    uint32_t *keys = malloc(n * sizeof(uint32_t));
    uint64_t state = 7;
    for (size_t i = 0; i < n; i++) {
        uniform[i] = (uint32_t)(next_splitmix(&state) % spaces_n);
        keys[i] = (uint32_t)(next_splitmix(&state) % per_space);
    }
    zipf_targets(skewed, n, spaces_n, BENCH_ZIPF_S, 11);
    /* [workload][stealing][traffic][repetition] */
    double *rate = calloc(8 * (size_t)repeat, sizeof(double));
    double *busy = calloc(8 * (size_t)repeat, sizeof(double));
    uint64_t *steals = calloc(8 * (size_t)repeat, sizeof(uint64_t));
    double *graph = calloc(8 * (size_t)repeat, sizeof(double)); /* writes reaching the graph/s */
#define SKEW_AT(w, st, t, r) ((((size_t)(w) * 2 + (st)) * 2 + (t)) * repeat + (r))
    int first = config->workload && strcmp(config->workload, "upsert") == 0;
    int last = config->workload && strcmp(config->workload, "insert") == 0 ? 0 : 1;
    for (uint32_t r = 0; r < repeat; r++) {
        for (int upsert = first; upsert <= last; upsert++) {
            for (uint32_t stealing = 0; stealing <= 1; stealing++) {
                for (int t = 0; t < 2; t++) {
                    mn_engine *engine = make_engine(workers, stealing);
                    mn_space **spaces = make_spaces(engine, spaces_n, config->dimension);
                    if (upsert) prefill(spaces, spaces_n, per_space, config->dimension);
                    if (upsert && config->age > 0)
                        age_spaces(spaces, spaces_n, per_space, config->age, config->dimension,
                                   config->producers);
                    load l = {.spaces = spaces, .targets = t == 0 ? uniform : skewed,
                              .keys = upsert ? keys : NULL, .vectors = vectors,
                              .dimension = config->dimension, .count = n,
                              .seconds = config->seconds, .producers = config->producers,
                              .window = (config->agents + config->producers - 1) /
                                        config->producers};
                    worker_totals before = totals_of(engine, workers);
                    double busy_before = busy_seconds(engine);
                    double ops = run_load(&l);
                    size_t at = SKEW_AT(upsert, stealing, t, r);
                    rate[at] = ops;
                    busy[at] = (busy_seconds(engine) - busy_before) /
                               ((double)atomic_load(&l.issued) / ops * (double)workers);
                    worker_totals after = totals_of(engine, workers);
                    steals[at] = after.steals - before.steals;
                    size_t issued = atomic_load(&l.issued);
                    graph[at] = ops * (double)(issued - (after.coalesced - before.coalesced)) /
                                (double)issued;
                    free_spaces(spaces, spaces_n);
                    mn_engine_destroy(engine);
                }
            }
        }
    }
    if (!config->json) {
        printf("\nskew: %u spaces, %u workers, Zipf(%.1f) vs uniform, %.1f s per row, median of "
               "%u; upsert rows: spaces pre-filled with %u memories each; ",
               spaces_n, workers, BENCH_ZIPF_S, config->seconds, repeat, per_space);
        if (config->agents) printf("%u agents, one write in flight each\n", config->agents);
        else printf("%u producers flooding the mailboxes\n", config->producers);
        printf("  %9s %9s %10s %12s %12s %9s %7s %10s %10s %9s %11s\n", "workload", "stealing",
               "traffic", "ops/s", "graph/s", "steals", "busy", "skew/unif", "graph s/u",
               "busy s/u", "on/off zipf");
    }
    double *values = malloc(repeat * sizeof(double));
    for (int upsert = first; upsert <= last; upsert++) {
        for (uint32_t stealing = 0; stealing <= 1; stealing++) {
            for (int t = 0; t < 2; t++) {
                size_t at = SKEW_AT(upsert, stealing, t, 0);
                for (uint32_t r = 0; r < repeat; r++) values[r] = rate[at + r];
                double ops = median(values, repeat);
                for (uint32_t r = 0; r < repeat; r++) values[r] = busy[at + r];
                double utilisation = median(values, repeat);
                for (uint32_t r = 0; r < repeat; r++) values[r] = (double)steals[at + r];
                double steal_count = median(values, repeat);
                for (uint32_t r = 0; r < repeat; r++) values[r] = graph[at + r];
                double graph_rate = median(values, repeat);
                double ratio = 0, graph_ratio = 0, busy_ratio = 0, gain = 0;
                if (t == 1) {
                    size_t base = SKEW_AT(upsert, stealing, 0, 0);
                    for (uint32_t r = 0; r < repeat; r++) values[r] = rate[at + r] / rate[base + r];
                    ratio = median(values, repeat);
                    for (uint32_t r = 0; r < repeat; r++) values[r] = graph[at + r] / graph[base + r];
                    graph_ratio = median(values, repeat);
                    for (uint32_t r = 0; r < repeat; r++) values[r] = busy[at + r] / busy[base + r];
                    busy_ratio = median(values, repeat);
                    if (stealing) {
                        size_t off = SKEW_AT(upsert, 0, 1, 0);
                        for (uint32_t r = 0; r < repeat; r++) values[r] = rate[at + r] / rate[off + r];
                        gain = median(values, repeat);
                    }
                }
                const char *traffic = t == 0 ? "uniform" : "zipf";
                const char *workload = upsert ? "upsert" : "insert";
                if (config->json) {
                    printf("{\"bench\":\"skew\",\"workload\":\"%s\",\"stealing\":%s,"
                           "\"traffic\":\"%s\",\"workers\":%u,\"spaces\":%u,\"agents\":%u,"
                           "\"seconds\":%.1f,\"repeat\":%u,\"ops_per_second\":%.0f,"
                           "\"graph_writes_per_second\":%.0f,\"steals\":%.0f,"
                           "\"utilisation\":%.3f",
                           workload, stealing ? "true" : "false", traffic, workers, spaces_n,
                           config->agents, config->seconds, repeat, ops, graph_rate, steal_count,
                           utilisation);
                    if (t == 1) {
                        printf(",\"skewed_over_uniform\":%.3f,"
                               "\"graph_skewed_over_uniform\":%.3f,"
                               "\"utilisation_skewed_over_uniform\":%.3f",
                               ratio, graph_ratio, busy_ratio);
                    }
                    if (t == 1 && stealing) printf(",\"stealing_over_no_stealing\":%.3f", gain);
                    printf(",\"runs\":[");
                    for (uint32_t r = 0; r < repeat; r++)
                        printf("%s%.0f", r ? "," : "", rate[at + r]);
                    printf("]}\n");
                } else {
                    printf("  %9s %9s %10s %12.0f %12.0f %9.0f %6.0f%%", workload,
                           stealing ? "on" : "off", traffic, ops, graph_rate, steal_count,
                           utilisation * 100);
                    if (t == 1) printf(" %9.2fx %9.2fx %8.2fx", ratio, graph_ratio, busy_ratio);
                    if (t == 1 && stealing) printf(" %10.2fx", gain);
                    printf("\n");
                }
            }
        }
    }
#undef SKEW_AT
    free(values);
    free(rate);
    free(busy);
    free(steals);
    free(graph);
    free(uniform);
    free(skewed);
    free(keys);
    free(vectors);
}

/* ---- batches ---- */

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    mn_status status;
} waiter;

static void on_wait(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    waiter *w = context;
    pthread_mutex_lock(&w->lock);
    w->status = status;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static mn_status wait_for(waiter *w) {
    pthread_mutex_lock(&w->lock);
    while (!w->done) pthread_cond_wait(&w->cond, &w->lock);
    w->done = 0;
    pthread_mutex_unlock(&w->lock);
    return w->status;
}

typedef struct packed_batch {
    char *ids;
    uint64_t *id_offsets;
    uint64_t *content_offsets;
} packed_batch;

static void pack_ids(packed_batch *b, size_t first, size_t count) {
    b->ids = malloc(count * BENCH_ID_BYTES);
    b->id_offsets = malloc((count + 1) * sizeof(uint64_t));
    b->content_offsets = calloc(count + 1, sizeof(uint64_t));
    b->id_offsets[0] = 0;
    for (size_t i = 0; i < count; i++) {
        int n = sprintf(b->ids + b->id_offsets[i], "m%zu", first + i);
        b->id_offsets[i + 1] = b->id_offsets[i] + (uint64_t)n;
    }
}

static void unpack_ids(packed_batch *b) {
    free(b->ids);
    free(b->id_offsets);
    free(b->content_offsets);
}

/* Gives every space the memories m0 ... m<per_space - 1>, one awaited batch each. */
static void prefill(mn_space **spaces, uint32_t count, uint32_t per_space, uint32_t dimension) {
    float *vectors = make_vectors(per_space, dimension, 8);
    waiter w = {.done = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    packed_batch b;
    pack_ids(&b, 0, per_space);
    for (uint32_t s = 0; s < count; s++) {
        mn_batch_in in = {.count = per_space, .dimension = dimension, .vectors = vectors,
                          .ids = b.ids, .id_offsets = b.id_offsets, .contents = NULL,
                          .content_offsets = b.content_offsets, .created_ns = NULL};
        if (mn_space_insert_batch(spaces[s], &in, MN_SUBMIT_WAIT, on_wait, &w, NULL) != MN_OK ||
            wait_for(&w) != MN_OK) {
            abort();
        }
    }
    unpack_ids(&b);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    free(vectors);
}

/* Inserts `total` memories into a fresh space in awaited batches of `size`; returns seconds. */
static double timed_batches(uint32_t workers, uint32_t parallel_min, size_t total, size_t size,
                            const float *vectors, uint32_t dimension) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = workers;
    options.parallel_batch_min = parallel_min;
    mn_engine *engine = NULL;
    if (mn_engine_create(&options, &engine) != MN_OK) abort();
    mn_space **spaces = make_spaces(engine, 1, dimension);
    waiter w = {.done = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    double start = now_seconds();
    for (size_t first = 0; first < total; first += size) {
        size_t count = total - first < size ? total - first : size;
        mn_status status;
        if (size == 1) {
            char id[BENCH_ID_BYTES];
            int n = snprintf(id, sizeof(id), "m%zu", first);
            status = mn_space_insert(spaces[0], id, (uint32_t)n, vectors + first * dimension,
                                     dimension, NULL, 0, MN_SUBMIT_WAIT, on_wait, &w);
        } else {
            packed_batch b;
            pack_ids(&b, first, count);
            mn_batch_in in = {.count = count, .dimension = dimension,
                              .vectors = vectors + first * dimension, .ids = b.ids,
                              .id_offsets = b.id_offsets, .contents = NULL,
                              .content_offsets = b.content_offsets, .created_ns = NULL};
            status = mn_space_insert_batch(spaces[0], &in, MN_SUBMIT_WAIT, on_wait, &w, NULL);
            unpack_ids(&b);
        }
        if (status != MN_OK || wait_for(&w) != MN_OK) abort();
    }
    double elapsed = now_seconds() - start;
    free_spaces(spaces, 1);
    mn_engine_destroy(engine);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return elapsed;
}

/*
 * Batch vs single, with 1 worker (what a batch saves in round trips alone) and with every
 * configured worker (batches of at least MN_ENGINE_PARALLEL_BATCH_DEFAULT memories are also
 * linked by idle workers; single inserts into one space never are).
 */
/* Per-memory time of single inserts and batches of 100 and 500, --repeat times (the rows
 * interleaved): medians, and the lowest speedup of any run. */
static void bench_batch(const bench_config *config) {
    enum { SIZES = 3 };
    const size_t sizes[SIZES] = {1, 100, 500};
    size_t total = config->smoke ? 500 : 5000;
    uint32_t repeat = config->repeat;
    float *vectors = make_vectors(total, config->dimension, 3);
    uint32_t worker_rows[2] = {1, config->workers[config->worker_counts - 1]};
    uint32_t rows = worker_rows[1] > 1 ? 2 : 1;
    double *us = calloc((size_t)rows * SIZES * repeat, sizeof(double));
    double *values = malloc(repeat * sizeof(double));
    for (uint32_t run = 0; run < repeat; run++) {
        for (uint32_t r = 0; r < rows; r++) {
            for (size_t i = 0; i < SIZES; i++) {
                double seconds = timed_batches(worker_rows[r], MN_ENGINE_PARALLEL_BATCH_DEFAULT,
                                               total, sizes[i], vectors, config->dimension);
                us[((size_t)r * SIZES + i) * repeat + run] = seconds * 1e6 / (double)total;
            }
        }
    }
    if (!config->json) {
        printf("\nbatch: %zu memories into one space, each batch awaited; batches of >= %u linked "
               "with idle workers; median of %u runs\n",
               total, MN_ENGINE_PARALLEL_BATCH_DEFAULT, repeat);
        printf("  %8s %10s %14s %9s %13s\n", "workers", "batch", "us/memory", "speedup",
               "lowest run");
    }
    for (uint32_t r = 0; r < rows; r++) {
        const double *single = us + (size_t)r * SIZES * repeat;
        for (size_t i = 0; i < SIZES; i++) {
            const double *row = us + ((size_t)r * SIZES + i) * repeat;
            for (uint32_t run = 0; run < repeat; run++) values[run] = row[run];
            double per_item_us = median(values, repeat);
            for (uint32_t run = 0; run < repeat; run++) values[run] = single[run] / row[run];
            double speedup = median(values, repeat); /* sorted: values[0] is the lowest */
            if (config->json) {
                printf("{\"bench\":\"batch\",\"api\":\"c\",\"workers\":%u,\"batch_size\":%zu,"
                       "\"memories\":%zu,\"repeat\":%u,\"per_item_us\":%.2f,\"speedup\":%.3f,"
                       "\"lowest_speedup\":%.3f}\n",
                       worker_rows[r], sizes[i], total, repeat, per_item_us, speedup, values[0]);
            } else {
                printf("  %8u %10zu %14.2f %8.2fx %12.2fx\n", worker_rows[r], sizes[i],
                       per_item_us, speedup, values[0]);
            }
        }
    }
    free(values);
    free(us);
    free(vectors);
}

static void bench_bulk(const bench_config *config) {
    size_t total = config->smoke ? 2000 : config->inserts;
    float *vectors = make_vectors(total, config->dimension, 4);
    if (!config->json) {
        printf("\nbulk: one batch of %zu memories into one space\n", total);
        printf("  %8s %12s %14s %9s\n", "workers", "seconds", "inserts/s", "speedup");
    }
    double base = 0;
    for (uint32_t w = 0; w < config->worker_counts; w++) {
        uint32_t workers = config->workers[w];
        double seconds = timed_batches(workers, MN_ENGINE_PARALLEL_BATCH_DEFAULT, total, total,
                                       vectors, config->dimension);
        if (w == 0) base = seconds;
        if (config->json) {
            printf("{\"bench\":\"bulk\",\"workers\":%u,\"memories\":%zu,\"seconds\":%.3f,"
                   "\"inserts_per_second\":%.0f,\"speedup\":%.3f}\n",
                   workers, total, seconds, (double)total / seconds, base / seconds);
        } else {
            printf("  %8u %12.3f %14.0f %8.2fx\n", workers, seconds, (double)total / seconds,
                   base / seconds);
        }
    }
    free(vectors);
}

/* ---- record lookups ---- */

#define BENCH_LOOKUP_DIMENSION 4      /* lookups do not depend on the vectors */
#define BENCH_LOOKUP_M 8              /* a cheap graph: the stages are about the tables */
#define BENCH_LOOKUP_EF_CONSTRUCTION 16
#define BENCH_LOOKUP_BATCH 1000u
#define BENCH_LOOKUP_PROBES 200000u
#define BENCH_LOOKUP_SECTION 1000u    /* label lookups per read-side section */
#define BENCH_LOOKUP_QUERIES 2000u
#define BENCH_LOOKUP_K 10u
#define BENCH_LOOKUP_EF 64u

static void count_visit(void *context, const mn_memory_view *view) {
    (void)view;
    (*(uint64_t *)context)++;
}

/*
 * One space grown in awaited batches of BENCH_LOOKUP_BATCH to 10^4, 10^5 and 10^6 memories
 * (at most --lookup-max); at each size: the stage's inserts/s, ns per mn_space_get of a random
 * id (ids formatted beforehand), ns per label lookup (mn_space_find_label, what a search does
 * per result and a filtered traversal per visited node), and searches/s of a filtered
 * traversal (memory i is created at i + 1 ns; the filter createdAt < n/2 + 1 keeps half, so the
 * planner traverses the graph and checks each visited node's record).
 */
static void bench_lookup(const bench_config *config) {
    const uint32_t dimension = BENCH_LOOKUP_DIMENSION;
    uint64_t stops[3] = {10000, 100000, 1000000};
    if (config->smoke) {
        stops[0] = 1000;
        stops[1] = 3000;
        stops[2] = 5000;
    }
    uint64_t max = config->smoke ? stops[2] : config->lookup_max;
    mn_engine *engine = make_engine(config->workers[config->worker_counts - 1], 1);
    mn_hnsw_params params;
    mn_hnsw_params_default(dimension, MN_METRIC_L2, &params);
    params.m = BENCH_LOOKUP_M;
    params.ef_construction = BENCH_LOOKUP_EF_CONSTRUCTION;
    mn_space *space = NULL;
    if (mn_engine_space_create(engine, "lookup", 6, &params, &space) != MN_OK) abort();
    float *vectors = malloc((size_t)BENCH_LOOKUP_BATCH * dimension * sizeof(float));
    if (!vectors) abort();
    uint64_t vector_state = 11; /* every memory its own random vector (no duplicates) */
    float *queries = make_vectors(BENCH_LOOKUP_QUERIES, dimension, 12);
    int64_t created[BENCH_LOOKUP_BATCH];
    char *probe_ids = malloc((size_t)BENCH_LOOKUP_PROBES * BENCH_ID_BYTES);
    uint32_t *probe_bytes = malloc(BENCH_LOOKUP_PROBES * sizeof(uint32_t));
    if (!probe_ids || !probe_bytes) abort();
    waiter w = {.done = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    if (!config->json) {
        printf("\nlookup: one space grown in awaited batches of %u (dimension %u, %u workers)\n",
               BENCH_LOOKUP_BATCH, dimension, config->workers[config->worker_counts - 1]);
        printf("  %10s %12s %10s %10s %14s %10s %10s\n", "memories", "inserts/s", "get ns",
               "label ns", "filtered q/s", "calls/q", "fallbacks");
    }
    uint64_t total = 0, state = 99;
    volatile uint64_t sink = 0;
    for (int stop = 0; stop < 3 && stops[stop] <= max; stop++) {
        double start = now_seconds();
        uint64_t stage_first = total;
        while (total < stops[stop]) {
            packed_batch b;
            pack_ids(&b, total, BENCH_LOOKUP_BATCH);
            for (uint32_t i = 0; i < BENCH_LOOKUP_BATCH; i++) created[i] = (int64_t)(total + i + 1);
            for (size_t i = 0; i < (size_t)BENCH_LOOKUP_BATCH * dimension; i++) {
                vectors[i] = (float)((next_splitmix(&vector_state) >> 11) *
                                     (1.0 / 9007199254740992.0)) - 0.5f;
            }
            mn_batch_in in = {.count = BENCH_LOOKUP_BATCH, .dimension = dimension,
                              .vectors = vectors, .ids = b.ids, .id_offsets = b.id_offsets,
                              .contents = NULL, .content_offsets = b.content_offsets,
                              .created_ns = created};
            if (mn_space_insert_batch(space, &in, MN_SUBMIT_WAIT, on_wait, &w, NULL) != MN_OK ||
                wait_for(&w) != MN_OK) {
                abort();
            }
            unpack_ids(&b);
            total += BENCH_LOOKUP_BATCH;
        }
        double insert_rate = (double)(total - stage_first) / (now_seconds() - start);
        for (uint32_t i = 0; i < BENCH_LOOKUP_PROBES; i++) {
            probe_bytes[i] = (uint32_t)snprintf(probe_ids + (size_t)i * BENCH_ID_BYTES,
                                                BENCH_ID_BYTES, "m%llu",
                                                (unsigned long long)(next_random(&state) % total));
        }
        start = now_seconds();
        for (uint32_t i = 0; i < BENCH_LOOKUP_PROBES; i++) {
            if (mn_space_get(space, probe_ids + (size_t)i * BENCH_ID_BYTES, probe_bytes[i], NULL,
                             0, NULL, NULL) != MN_OK) {
                abort(); /* every id is there */
            }
        }
        double get_ns = (now_seconds() - start) * 1e9 / BENCH_LOOKUP_PROBES;
        start = now_seconds();
        for (uint32_t i = 0; i < BENCH_LOOKUP_PROBES; i += BENCH_LOOKUP_SECTION) {
            mn_rcu_read_lock();
            for (uint32_t j = 0; j < BENCH_LOOKUP_SECTION; j++) {
                mn_record *record = mn_space_find_label(space, 1 + next_random(&state) % total);
                if (!record) abort(); /* labels 1 ... total are all live */
                sink += record->label;
            }
            mn_rcu_read_unlock();
        }
        double label_ns = (now_seconds() - start) * 1e9 / BENCH_LOOKUP_PROBES;
        char text[96];
        int text_bytes = snprintf(text, sizeof(text), "{\"createdAt\": {\"$lt\": %llu}}",
                                  (unsigned long long)(total / 2 + 1));
        mn_filter *filter = NULL;
        if (mn_filter_parse(text, (size_t)text_bytes, &filter, NULL) != MN_OK) abort();
        uint64_t visited = 0, filter_calls = 0, fallbacks = 0;
        uint32_t strategy = 0;
        start = now_seconds();
        for (uint32_t q = 0; q < BENCH_LOOKUP_QUERIES; q++) {
            uint32_t found = 0;
            mn_search_stats stats;
            if (mn_space_search_filtered(space, queries + (size_t)q * dimension, dimension,
                                         BENCH_LOOKUP_K, BENCH_LOOKUP_EF, filter, count_visit,
                                         &visited, &found, &stats) != MN_OK) {
                abort();
            }
            strategy = stats.strategy;
            filter_calls += stats.index.filter_calls;
            fallbacks += stats.index.exact_fallback;
        }
        double qps = BENCH_LOOKUP_QUERIES / (now_seconds() - start);
        mn_filter_free(filter);
        if (config->json) {
            printf("{\"bench\":\"lookup\",\"memories\":%llu,\"inserts_per_second\":%.0f,"
                   "\"get_ns\":%.1f,\"label_ns\":%.1f,\"filtered_qps\":%.0f,"
                   "\"filtered_strategy\":%u,\"filter_calls_per_query\":%.0f,"
                   "\"exact_fallbacks\":%llu}\n",
                   (unsigned long long)total, insert_rate, get_ns, label_ns, qps, strategy,
                   (double)filter_calls / BENCH_LOOKUP_QUERIES, (unsigned long long)fallbacks);
        } else {
            printf("  %10llu %12.0f %10.1f %10.1f %14.0f %10.0f %10llu\n",
                   (unsigned long long)total, insert_rate, get_ns, label_ns, qps,
                   (double)filter_calls / BENCH_LOOKUP_QUERIES, (unsigned long long)fallbacks);
        }
        fflush(stdout);
    }
    (void)sink;
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    free(probe_ids);
    free(probe_bytes);
    free(queries);
    free(vectors);
    mn_space_release(space);
    mn_engine_destroy(engine);
}

/* ---- rounds of rewriting one space ---- */

#define BENCH_ROUNDS 10

/*
 * One space of --inserts memories (one batch), then BENCH_ROUNDS rounds that upsert every
 * memory once to a new random vector, submitted asynchronously by the producers (so the
 * space's mailbox backs up and its writes are applied in groups). Prints each round's
 * upserts/s and, over --repeat runs, the median of last round / first round: in-place updates
 * keep a rewritten space from growing or slowing down.
 */
static void bench_rounds(const bench_config *config) {
    size_t n = config->smoke ? 500 : config->inserts;
    uint32_t workers = config->workers[config->worker_counts - 1];
    uint32_t repeat = config->repeat;
    uint32_t *targets = calloc(n, sizeof(uint32_t)); /* all to space 0 */
    uint32_t *keys = malloc(n * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++) keys[i] = (uint32_t)i;
    double *rates = calloc((size_t)repeat * BENCH_ROUNDS, sizeof(double));
    for (uint32_t run = 0; run < repeat; run++) {
        mn_engine *engine = make_engine(workers, 1);
        mn_space **spaces = make_spaces(engine, 1, config->dimension);
        prefill(spaces, 1, (uint32_t)n, config->dimension);
        for (uint32_t round = 0; round < BENCH_ROUNDS; round++) {
            float *vectors = make_vectors(n, config->dimension, 100 + round);
            load l = {.spaces = spaces, .targets = targets, .keys = keys, .vectors = vectors,
                      .dimension = config->dimension, .count = n,
                      .producers = config->producers};
            rates[(size_t)run * BENCH_ROUNDS + round] = run_load(&l);
            free(vectors);
        }
        free_spaces(spaces, 1);
        mn_engine_destroy(engine);
    }
    double values[BENCH_ROUNDS];
    double *ratios = malloc(repeat * sizeof(double));
    for (uint32_t run = 0; run < repeat; run++)
        ratios[run] = rates[(size_t)run * BENCH_ROUNDS + BENCH_ROUNDS - 1] / rates[(size_t)run * BENCH_ROUNDS];
    double ratio = median(ratios, repeat);
    if (!config->json) {
        printf("\nrounds: one space of %zu memories, every memory upserted once per round, %u "
               "workers, median of %u runs\n  upserts/s by round:", n, workers, repeat);
    }
    for (uint32_t round = 0; round < BENCH_ROUNDS; round++) {
        double *per_run = malloc(repeat * sizeof(double));
        for (uint32_t run = 0; run < repeat; run++) per_run[run] = rates[(size_t)run * BENCH_ROUNDS + round];
        values[round] = median(per_run, repeat);
        free(per_run);
        if (!config->json) printf(" %.0f", values[round]);
    }
    if (config->json) {
        printf("{\"bench\":\"rounds\",\"memories\":%zu,\"workers\":%u,\"repeat\":%u,"
               "\"upserts_per_second\":[", n, workers, repeat);
        for (uint32_t round = 0; round < BENCH_ROUNDS; round++)
            printf("%s%.0f", round ? "," : "", values[round]);
        printf("],\"last_over_first\":%.3f}\n", ratio);
    } else {
        printf("\n  round %d / round 1: %.2fx\n", BENCH_ROUNDS, ratio);
    }
    free(ratios);
    free(rates);
    free(targets);
    free(keys);
}

/* ---- mixed reads and writes ---- */

typedef struct mixed {
    mn_space *space;
    const float *queries;
    size_t query_count;
    uint32_t dimension;
    double seconds;
    atomic_int stop;
    uint64_t searches;
} mixed;

static void *searcher(void *argument) {
    mixed *m = argument;
    double end = now_seconds() + m->seconds;
    uint64_t done = 0;
    while (now_seconds() < end) {
        uint32_t found = 0;
        mn_space_search(m->space, m->queries + (done % m->query_count) * m->dimension,
                        m->dimension, 10, 64, NULL, NULL, &found);
        done++;
    }
    m->searches = done;
    atomic_store(&m->stop, 1);
    return NULL;
}

static void bench_mixed(const bench_config *config) {
    size_t base_count = config->smoke ? 1000 : 10000;
    size_t extra = config->smoke ? 2000 : 200000;
    double seconds = config->smoke ? 0.2 : 2.0;
    uint32_t dimension = config->dimension;
    float *vectors = make_vectors(base_count + extra, dimension, 5);
    float *queries = make_vectors(256, dimension, 6);
    mn_engine *engine = make_engine(1, 1);
    mn_space **spaces = make_spaces(engine, 1, dimension);
    waiter w = {.done = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    packed_batch b;
    pack_ids(&b, 0, base_count);
    mn_batch_in in = {.count = base_count, .dimension = dimension, .vectors = vectors,
                      .ids = b.ids, .id_offsets = b.id_offsets, .contents = NULL,
                      .content_offsets = b.content_offsets, .created_ns = NULL};
    if (mn_space_insert_batch(spaces[0], &in, MN_SUBMIT_WAIT, on_wait, &w, NULL) != MN_OK ||
        wait_for(&w) != MN_OK) {
        abort();
    }
    unpack_ids(&b);
    double rates[2];
    double insert_rate = 0;
    for (int phase = 0; phase < 2; phase++) {
        mixed m = {.space = spaces[0], .queries = queries, .query_count = 256,
                   .dimension = dimension, .seconds = seconds};
        atomic_init(&m.stop, 0);
        pthread_t reader;
        pthread_create(&reader, NULL, searcher, &m);
        size_t inserted = 0;
        double start = now_seconds();
        if (phase == 1) {
            load l = {.spaces = spaces, .vectors = vectors, .dimension = dimension};
            atomic_init(&l.completed, 0);
            atomic_init(&l.failed, 0);
            producer_arg producer = {.load = &l};
            atomic_init(&producer.in_flight, 0);
            char id[BENCH_ID_BYTES];
            while (!atomic_load(&m.stop) && inserted < extra) {
                size_t i = base_count + inserted;
                int n = snprintf(id, sizeof(id), "m%zu", i);
                mn_space_insert(spaces[0], id, (uint32_t)n, vectors + i * dimension, dimension,
                                NULL, 0, MN_SUBMIT_WAIT, on_insert, &producer);
                inserted++;
            }
            while (atomic_load(&l.completed) < inserted) pause_briefly();
            insert_rate = (double)inserted / (now_seconds() - start);
        }
        pthread_join(reader, NULL);
        rates[phase] = (double)m.searches / seconds;
    }
    if (config->json) {
        printf("{\"bench\":\"mixed\",\"searches_per_second_alone\":%.0f,"
               "\"searches_per_second_with_inserts\":%.0f,\"ratio\":%.3f,"
               "\"inserts_per_second\":%.0f,\"base_memories\":%zu,\"k\":10,\"ef\":64}\n",
               rates[0], rates[1], rates[1] / rates[0], insert_rate, base_count);
    } else {
        printf("\nmixed: one space of %zu memories, k 10, ef 64, 1 worker + 1 reader thread\n",
               base_count);
        printf("  searches/s alone:            %10.0f\n", rates[0]);
        printf("  searches/s while inserting:  %10.0f (%.2fx), inserts/s meanwhile %.0f\n",
               rates[1], rates[1] / rates[0], insert_rate);
    }
    free_spaces(spaces, 1);
    mn_engine_destroy(engine);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    free(vectors);
    free(queries);
}

static void parse_workers(bench_config *config, const char *list) {
    config->worker_counts = 0;
    char *copy = strdup(list);
    for (char *token = strtok(copy, ","); token && config->worker_counts < BENCH_WORKER_COUNTS_MAX;
         token = strtok(NULL, ",")) {
        long value = strtol(token, NULL, 10);
        if (value >= 1 && value <= MN_ENGINE_WORKERS_MAX) {
            config->workers[config->worker_counts++] = (uint32_t)value;
        }
    }
    free(copy);
    if (config->worker_counts == 0) {
        config->workers[0] = 1;
        config->worker_counts = 1;
    }
}

int main(int argc, char **argv) {
    bench_config config = {.inserts = 20000, .dimension = 128, .producers = 2, .agents = 64,
                           .repeat = 5,
                           .seconds = 5.0, .lookup_max = 1000000};
    parse_workers(&config, "1,2");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            config.json = 1;
        } else if (strcmp(argv[i], "--smoke") == 0) {
            config.smoke = 1;
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            parse_workers(&config, argv[++i]);
        } else if (strcmp(argv[i], "--inserts") == 0 && i + 1 < argc) {
            config.inserts = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--dimension") == 0 && i + 1 < argc) {
            config.dimension = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--producers") == 0 && i + 1 < argc) {
            config.producers = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--agents") == 0 && i + 1 < argc) {
            config.agents = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            config.repeat = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            config.seconds = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--age") == 0 && i + 1 < argc) {
            config.age = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
            config.workload = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            config.only = argv[++i];
        } else if (strcmp(argv[i], "--lookup-max") == 0 && i + 1 < argc) {
            config.lookup_max = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr,
                    "usage: %s [--json] [--smoke] [--workers 1,2,16] [--inserts N] "
                    "[--dimension D] [--producers P] [--agents A] [--repeat R] [--seconds S] "
                    "[--workload insert|upsert] "
                    "[--only batch|bulk|scaling|skew|rounds|mixed|lookup] [--lookup-max N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (config.smoke) {
        config.inserts = 2000;
        config.dimension = 16;
        config.repeat = 1;
        config.seconds = 0.2;
    }
    if (config.repeat == 0) config.repeat = 1;
    if (!(config.seconds > 0)) config.seconds = 5.0;
    if (config.producers == 0 || config.producers > BENCH_PRODUCERS_MAX) config.producers = 2;
    if (config.dimension == 0 || config.dimension > MN_DIMENSION_MAX) config.dimension = 128;
    if (config.inserts == 0) config.inserts = 20000;
    const char *only = config.only;
    if (!only || strcmp(only, "batch") == 0) bench_batch(&config);
    if (!only || strcmp(only, "bulk") == 0) bench_bulk(&config);
    if (!only || strcmp(only, "scaling") == 0) bench_scaling(&config);
    if (!only || strcmp(only, "skew") == 0) bench_skew(&config);
    if (!only || strcmp(only, "rounds") == 0) bench_rounds(&config);
    if (!only || strcmp(only, "mixed") == 0) bench_mixed(&config);
    if (!only || strcmp(only, "lookup") == 0) bench_lookup(&config);
    return 0;
}
