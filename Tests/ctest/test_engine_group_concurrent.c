/*
 * test_engine_group_concurrent.c: single writes that queue up behind each other in one space
 * are applied as one group (mn_space_apply_writes) with exactly the outcome of applying them
 * one by one.
 *
 * A gate holds the space's worker: the completion of a first insert blocks (on the worker
 * thread) until the test has queued a script of GROUP_OPS inserts and upserts over a small
 * pool of ids, some of which exist before and some not; ids repeat, so the script has inserts
 * of present ids (duplicates), upserts that create and upserts that replace, several writes to
 * one id. Released, the worker drains the script as groups. The test checks against a
 * sequential model: every op's status and detail, then every id's vector, content and
 * creation time (kept by an upsert of an existing memory), the count, that a search finds
 * each memory at its final vector, and that the index holds one node per memory (upserts
 * updated nodes in place). It counts the writes the workers applied in groups, so a change
 * that stopped grouping fails here too. With two workers the other one helps link a group's
 * nodes (a concurrency test: CI runs it under ThreadSanitizer).
 */
#include "engine/mn_engine_internal.h"
#include "hnsw/mn_hnsw_internal.h"
#include "test_engine_support.h"

#define DIM 16
#define POOL 24         /* distinct ids of a script */
#define PRESENT 12      /* of them inserted before the script */
#define GROUP_OPS 600   /* writes of a script (several quanta) */
#define SCRIPTS 6

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int entered;
    int open;
} gate;

static void gate_done(void *context, mn_status status, uint64_t detail) {
    (void)status;
    (void)detail;
    gate *g = context;
    pthread_mutex_lock(&g->lock);
    g->entered = 1;
    pthread_cond_broadcast(&g->cond);
    while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

typedef struct outcome {
    _Atomic int done;
    mn_status status;
    uint64_t detail;
} outcome;

static void outcome_done(void *context, mn_status status, uint64_t detail) {
    outcome *o = context;
    o->status = status;
    o->detail = detail;
    atomic_store_explicit(&o->done, 1, memory_order_release);
}

typedef struct seen {
    char content[32];
    int64_t created_ns;
} seen;

static void seen_visit(void *context, const mn_memory_view *view) {
    seen *s = context;
    size_t bytes = view->content_bytes < sizeof(s->content) - 1 ? view->content_bytes : sizeof(s->content) - 1;
    memcpy(s->content, view->content, bytes);
    s->content[bytes] = '\0';
    s->created_ns = view->created_ns;
}

/* One script on a fresh space of `engine`. */
static void run_script(mn_engine *engine, int script) {
    char name[32], id[32], content[32];
    snprintf(name, sizeof name, "group-%d", script);
    mn_space *space = te_space(engine, name, DIM, MN_METRIC_L2);
    uint64_t state = 0x5eed + (uint64_t)script;
    /* The model: whether each id exists, its vector seed, content and creation time. */
    int exists[POOL] = {0};
    uint64_t vector_seed[POOL];
    char model_content[POOL][32];
    int64_t created[POOL];
    float v[DIM];
    for (int i = 0; i < PRESENT; i++) {
        snprintf(id, sizeof id, "g%d", i);
        vector_seed[i] = 1000u * (uint64_t)script + (uint64_t)i;
        te_vector(vector_seed[i], v, DIM);
        snprintf(model_content[i], sizeof model_content[i], "before %d", i);
        CHECK_STATUS(te_insert(space, id, v, DIM, model_content[i], NULL), MN_OK);
        seen s = {{0}, 0};
        CHECK_STATUS(mn_space_get(space, id, (uint32_t)strlen(id), NULL, 0, seen_visit, &s), MN_OK);
        created[i] = s.created_ns;
        exists[i] = 1;
    }
    uint64_t grouped_before = te_worker_total(engine, 0), coalesced_before = te_worker_total(engine, 1);

    gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    te_vector(999999, v, DIM);
    CHECK_STATUS(mn_space_insert(space, "gate", 4, v, DIM, NULL, 0, MN_SUBMIT_WAIT, gate_done, &g), MN_OK);
    pthread_mutex_lock(&g.lock);
    while (!g.entered) pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);

    static outcome outcomes[GROUP_OPS];
    int kind[GROUP_OPS], target[GROUP_OPS];
    mn_status want_status[GROUP_OPS];
    uint64_t want_detail[GROUP_OPS];
    int creates[GROUP_OPS]; /* the op that creates each id in the script, or -1 */
    for (int i = 0; i < POOL; i++) creates[i] = -1;
    for (int op = 0; op < GROUP_OPS; op++) {
        atomic_init(&outcomes[op].done, 0);
        int t = (int)(te_next(&state) % POOL);
        int upsert = (int)(te_next(&state) % 3) != 0; /* two thirds upserts */
        kind[op] = upsert;
        target[op] = t;
        snprintf(id, sizeof id, "g%d", t);
        uint64_t seed = 1000000u + 1000u * (uint64_t)script + (uint64_t)op;
        snprintf(content, sizeof content, "op %d", op);
        te_vector(seed, v, DIM);
        /* The model applies the op as the engine must. */
        if (!upsert && exists[t]) {
            want_status[op] = MN_ERR_DUPLICATE;
            want_detail[op] = 0;
        } else {
            want_status[op] = MN_OK;
            want_detail[op] = upsert ? (uint64_t)exists[t] : 0;
            if (!exists[t]) creates[t] = op;
            exists[t] = 1;
            vector_seed[t] = seed;
            snprintf(model_content[t], sizeof model_content[t], "%s", content);
        }
        mn_status (*submit)(mn_space *, const char *, uint32_t, const float *, uint32_t, const uint8_t *, uint64_t,
                            uint32_t, mn_completion_fn, void *) = upsert ? mn_space_upsert : mn_space_insert;
        CHECK_STATUS(submit(space, id, (uint32_t)strlen(id), v, DIM, (const uint8_t *)content, strlen(content),
                            MN_SUBMIT_WAIT, outcome_done, &outcomes[op]),
                     MN_OK);
        /* The mailbox holds 1,024 records: the script fits while the worker is held. */
    }
    pthread_mutex_lock(&g.lock);
    g.open = 1;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    te_wait w;
    te_wait_init(&w);
    CHECK_STATUS(mn_space_barrier(space, MN_SUBMIT_WAIT, te_wait_done, &w), MN_OK);
    CHECK_STATUS(te_wait_for(&w), MN_OK);

    int wrong_status = 0;
    for (int op = 0; op < GROUP_OPS; op++) {
        CHECK(atomic_load_explicit(&outcomes[op].done, memory_order_acquire));
        if (outcomes[op].status != want_status[op] || outcomes[op].detail != want_detail[op]) {
            if (wrong_status++ < 5)
                fprintf(stderr, "op %d (%s g%d): %d/%llu, expected %d/%llu\n", op, kind[op] ? "upsert" : "insert",
                        target[op], outcomes[op].status, (unsigned long long)outcomes[op].detail, want_status[op],
                        (unsigned long long)want_detail[op]);
        }
    }
    CHECK(wrong_status == 0);
    /* Nearly the whole script went through groups (the worker drained it from a full mailbox). */
    CHECK(te_worker_total(engine, 0) - grouped_before >= GROUP_OPS / 2);
    /* The worker drained the held script in whole quanta, each one group: a successful write is
     * coalesced when a later successful write to the same id follows it in its quantum. */
    uint64_t want_coalesced = 0;
    for (int op = 0; op < GROUP_OPS; op++) {
        int later = 0;
        for (int j = op + 1; j < GROUP_OPS && j / (int)MN_ENGINE_RUN_QUANTUM == op / (int)MN_ENGINE_RUN_QUANTUM; j++)
            later |= target[j] == target[op] && want_status[j] == MN_OK;
        want_coalesced += want_status[op] == MN_OK && later;
    }
    CHECK(want_coalesced > 0);
    CHECK(te_worker_total(engine, 1) - coalesced_before == want_coalesced);

    int live = 1; /* the gate */
    int wrong = 0, missing = 0;
    float got[DIM];
    for (int t = 0; t < POOL; t++) {
        snprintf(id, sizeof id, "g%d", t);
        seen s = {{0}, 0};
        mn_status status = mn_space_get(space, id, (uint32_t)strlen(id), got, DIM, seen_visit, &s);
        if (!exists[t]) {
            CHECK_STATUS(status, MN_ERR_NOT_FOUND);
            continue;
        }
        live++;
        CHECK_STATUS(status, MN_OK);
        te_vector(vector_seed[t], v, DIM);
        wrong += memcmp(got, v, sizeof v) != 0 || strcmp(s.content, model_content[t]) != 0;
        /* An upsert of an existing memory keeps its creation time. */
        if (t < PRESENT) wrong += s.created_ns != created[t];
        if (t >= PRESENT) wrong += creates[t] < 0 || s.created_ns <= 0;
        seen hit = {{0}, 0};
        uint32_t found = 0;
        mn_space_search(space, v, DIM, 1, 64, seen_visit, &hit, &found);
        missing += found != 1 || strcmp(hit.content, model_content[t]) != 0;
    }
    CHECK(wrong == 0);
    CHECK(missing == 0);
    mn_space_stats stats;
    mn_space_stats_get(space, &stats);
    CHECK(stats.count == (uint64_t)live);
    /* One node per memory: upserts changed nodes in place, nothing was removed. */
    CHECK(atomic_load(&space->index->next_slot) == (uint32_t)live);
    CHECK(atomic_load(&space->index->deleted_count) == 0);
    mn_space_release(space);
}

int main(void) {
    for (uint32_t workers = 1; workers <= 2; workers++) {
        mn_engine *engine = te_engine(workers, 0);
        for (int script = 0; script < SCRIPTS; script++) run_script(engine, script);
        mn_engine_destroy(engine);
    }
    return te_report();
}
