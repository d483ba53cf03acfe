/*
 * test_engine_crash.c: kill -9 crash test of the durable engine.
 *
 * The parent re-executes this program in child mode (/proc/self/exe --child ...). The child
 * opens the data directory in MN_DURABLE_SYNC mode with two workers (so records of one space can
 * land in both logs through stealing) and writes, without waiting, a stream of single inserts
 * and batch inserts (2 to 16 memories) into three spaces. It reports on a pipe, one line each:
 *   P <space> <prefix> <count> <seed>   before submitting a batch
 *   B <prefix>                          when the batch completed with MN_OK (acknowledged)
 *   S <space> <id> <seed>               when a single insert completed with MN_OK
 * The parent SIGKILLs the child at a random moment (most rounds while it writes, some while it
 * is still recovering), reopens the directory itself and checks every acknowledgement of every
 * round so far: the memory is present and byte-identical (content, metadata document and
 * vector, all derived from its seed; three memories in four carry metadata), every
 * acknowledged batch is whole, and no batch (acknowledged or not) is half applied.
 * Checkpoints run throughout: the background thread after every 128 KiB of log, and the child
 * itself every 100 writes (mn_engine_checkpoint), so kills land before, during and after
 * checkpoint files are written and log segments deleted, and every reopen loads checkpoints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mnemo/mn_engine_durable.h"
#include "mnemo/mn_meta.h"
#include "test_engine_support.h"

#define DIM 8u
#define SPACES 3u
#define ROUNDS_WRITING 24
#define ROUNDS_EARLY 4
#define CONTENT_MAX 300u

static const char *space_names[SPACES] = {"crash-a", "crash-b", "crash-c"};

static mn_engine *open_engine(const char *path, mn_status *status) {
    mn_engine_options options;
    mn_engine_options_default(&options);
    options.workers = 2;
    options.pin_workers = 0;
    options.mailbox_depth = 256;
    mn_durable_options durable;
    mn_durable_options_default(path, &durable);
    durable.segment_bytes = 64u * 1024u;
    durable.checkpoint_log_bytes = 128u * 1024u; /* background checkpoints while writing */
    mn_engine *engine = NULL;
    mn_durable_report report;
    *status = mn_engine_open(&options, &durable, &engine, &report);
    if (*status != MN_OK) {
        fprintf(stderr, "open: %s (%s at %llu)\n", mn_status_string(*status), report.damaged_file,
                (unsigned long long)report.damaged_offset);
    }
    return engine;
}

/* Content derived from a seed: 0 ... CONTENT_MAX-1 bytes. */
static uint32_t make_content(uint64_t seed, uint8_t *out) {
    uint64_t state = seed ^ 0xc0ffee;
    uint32_t bytes = (uint32_t)(te_next(&state) % CONTENT_MAX);
    for (uint32_t i = 0; i < bytes; i++) out[i] = (uint8_t)te_next(&state);
    return bytes;
}

/* A metadata document derived from a seed (free with mn_meta_free): none for one seed in
 * four, else an int, a string and sometimes a list. 1 on success. */
static int make_metadata(uint64_t seed, void **doc, size_t *bytes) {
    static const char *const kinds[3] = {"fact", "chat", "note"};
    static const char *const tags[2] = {"travel", "work"};
    static const uint32_t tag_bytes[2] = {6, 4};
    *doc = NULL;
    *bytes = 0;
    if (seed % 4 == 0) return 1;
    mn_meta_builder *b = NULL;
    if (mn_meta_builder_create(&b) != MN_OK) return 0;
    mn_meta_builder_add_int(b, "seed", 4, (int64_t)(seed >> 1));
    mn_meta_builder_add_string(b, "kind", 4, kinds[seed % 3], 4);
    if (seed % 4 == 3) mn_meta_builder_add_strings(b, "tags", 4, tags, tag_bytes, 2);
    mn_status status = mn_meta_builder_finish(b, doc, bytes, NULL);
    mn_meta_builder_destroy(b);
    return status == MN_OK;
}

/* ---- child ---- */

static int report_fd = -1;

static void say(const char *line) {
    size_t n = strlen(line);
    if (write(report_fd, line, n) != (ssize_t)n) _exit(3);
}

typedef struct ack {
    char line[200];
} ack;

static void ack_done(void *context, mn_status status, uint64_t detail) {
    (void)detail;
    ack *a = context;
    if (status == MN_OK) say(a->line);
    free(a);
}

static int child_main(const char *path, unsigned round, uint64_t seed) {
    mn_status status;
    mn_engine *engine = open_engine(path, &status);
    if (!engine) return 4;
    mn_space *spaces[SPACES];
    for (uint32_t s = 0; s < SPACES; s++) {
        const char *name = space_names[s];
        status = mn_engine_space_open(engine, name, (uint32_t)strlen(name), &spaces[s]);
        if (status == MN_ERR_UNKNOWN_SPACE) {
            mn_hnsw_params params;
            mn_hnsw_params_default(DIM, MN_METRIC_L2, &params);
            params.ef_construction = 32;
            status = mn_engine_space_create(engine, name, (uint32_t)strlen(name), &params,
                                            &spaces[s]);
        }
        if (status != MN_OK) return 5;
    }
    say("R\n");
    uint64_t state = seed;
    float vectors[40 * DIM];
    uint8_t contents[40 * CONTENT_MAX];
    char ids[40 * 32];
    uint64_t id_offsets[41], content_offsets[41], metadata_offsets[41];
    uint8_t metadata[40 * 256];
    for (uint64_t n = 0;; n++) {
        uint32_t s = (uint32_t)(te_next(&state) % SPACES);
        uint64_t item_seed = te_next(&state);
        ack *a = malloc(sizeof(ack));
        if (!a) return 6;
        if (te_next(&state) % 6 == 0) {
            uint32_t count = 2 + (uint32_t)(te_next(&state) % 15);
            char prefix[48];
            snprintf(prefix, sizeof(prefix), "r%u-b%llu", round, (unsigned long long)n);
            id_offsets[0] = content_offsets[0] = metadata_offsets[0] = 0;
            for (uint32_t i = 0; i < count; i++) {
                te_vector(item_seed + i, vectors + i * DIM, DIM);
                int w = sprintf(ids + id_offsets[i], "%s-%u", prefix, i);
                id_offsets[i + 1] = id_offsets[i] + (uint64_t)w;
                content_offsets[i + 1] =
                    content_offsets[i] + make_content(item_seed + i, contents + content_offsets[i]);
                void *doc = NULL;
                size_t doc_bytes = 0;
                if (!make_metadata(item_seed + i, &doc, &doc_bytes) || doc_bytes > 256) return 9;
                if (doc_bytes) memcpy(metadata + metadata_offsets[i], doc, doc_bytes);
                metadata_offsets[i + 1] = metadata_offsets[i] + doc_bytes;
                mn_meta_free(doc);
            }
            char line[200];
            snprintf(line, sizeof(line), "P %u %s %u %llu\n", s, prefix, count,
                     (unsigned long long)item_seed);
            say(line);
            snprintf(a->line, sizeof(a->line), "B %s\n", prefix);
            mn_batch_in batch = {.count = count, .dimension = DIM, .vectors = vectors,
                                 .ids = ids, .id_offsets = id_offsets, .contents = contents,
                                 .content_offsets = content_offsets, .created_ns = NULL};
            status = mn_space_insert_batch_meta(spaces[s], &batch, metadata, metadata_offsets,
                                                MN_SUBMIT_WAIT, ack_done, a, NULL, NULL);
        } else {
            char id[48];
            snprintf(id, sizeof(id), "r%u-s%llu", round, (unsigned long long)n);
            float vector[DIM];
            te_vector(item_seed, vector, DIM);
            uint32_t bytes = make_content(item_seed, contents);
            snprintf(a->line, sizeof(a->line), "S %u %s %llu\n", s, id,
                     (unsigned long long)item_seed);
            void *doc = NULL;
            size_t doc_bytes = 0;
            if (!make_metadata(item_seed, &doc, &doc_bytes)) return 9;
            status = mn_space_insert_meta(spaces[s], id, (uint32_t)strlen(id), vector, DIM,
                                          contents, bytes, doc, doc_bytes, MN_SUBMIT_WAIT,
                                          ack_done, a, NULL);
            mn_meta_free(doc);
        }
        if (status != MN_OK) return 7;
        if (n % 100 == 0 && mn_engine_checkpoint(engine, NULL) != MN_OK) return 8;
        /* Pace the stream: the parent replays everything every round, so the database must
         * stay small enough for 28 reopens within the test's time (ASan included). */
        if (n % 4 == 3) usleep(400);
    }
}

/* ---- parent ---- */

typedef struct expected {
    char kind;          /* 'S' single, 'P' batch */
    uint32_t space;
    char id[48];        /* id, or batch prefix */
    uint32_t count;
    uint64_t seed;
    int acked;
} expected;

static expected *items;
static size_t item_count, item_capacity;
static uint64_t acked_singles, acked_batches, batches_seen;

static expected *find_batch(const char *prefix) {
    for (size_t i = item_count; i-- > 0;) {
        if (items[i].kind == 'P' && strcmp(items[i].id, prefix) == 0) return &items[i];
    }
    return NULL;
}

static void parse_line(char *line) {
    if (item_count == item_capacity) {
        item_capacity = item_capacity ? item_capacity * 2 : 4096;
        items = realloc(items, item_capacity * sizeof(expected));
        if (!items) exit(2);
    }
    expected e = {0};
    unsigned space = 0, count = 0;
    unsigned long long seed = 0;
    if (line[0] == 'S' && sscanf(line, "S %u %47s %llu", &space, e.id, &seed) == 3) {
        e.kind = 'S';
        e.space = space;
        e.seed = seed;
        e.acked = 1;
        e.count = 1;
        items[item_count++] = e;
        acked_singles++;
    } else if (line[0] == 'P' &&
               sscanf(line, "P %u %47s %u %llu", &space, e.id, &count, &seed) == 4) {
        e.kind = 'P';
        e.space = space;
        e.count = count;
        e.seed = seed;
        items[item_count++] = e;
        batches_seen++;
    } else if (line[0] == 'B') {
        char prefix[48];
        if (sscanf(line, "B %47s", prefix) == 1) {
            expected *b = find_batch(prefix);
            CHECK(b != NULL);
            if (b) {
                b->acked = 1;
                acked_batches++;
            }
        }
    }
}

typedef struct seen {
    int found;
    int same;
    const uint8_t *content;
    uint32_t bytes;
    const void *metadata;
    size_t metadata_bytes;
} seen;

static void visit_compare(void *context, const mn_memory_view *view) {
    seen *s = context;
    s->found = 1;
    s->same = view->content_bytes == s->bytes &&
              (s->bytes == 0 || memcmp(view->content, s->content, s->bytes) == 0) &&
              view->metadata_bytes == s->metadata_bytes &&
              (s->metadata_bytes == 0 ||
               memcmp(view->metadata, s->metadata, s->metadata_bytes) == 0);
}

/* 1 when `id` is present with exactly the content and vector of `seed`; 0 when absent;
 * -1 when present but different. */
static int check_memory(mn_space *space, const char *id, uint64_t seed) {
    uint8_t content[CONTENT_MAX];
    uint32_t bytes = make_content(seed, content);
    float vector[DIM], expected_vector[DIM];
    te_vector(seed, expected_vector, DIM);
    void *doc = NULL;
    size_t doc_bytes = 0;
    if (!make_metadata(seed, &doc, &doc_bytes)) return -1;
    seen s = {.content = content, .bytes = bytes, .metadata = doc, .metadata_bytes = doc_bytes};
    mn_status status = mn_space_get(space, id, (uint32_t)strlen(id), vector, DIM, visit_compare, &s);
    mn_meta_free(doc);
    if (status == MN_ERR_NOT_FOUND) return 0;
    if (status != MN_OK || !s.found || !s.same) return -1;
    return memcmp(vector, expected_vector, sizeof(vector)) == 0 ? 1 : -1;
}

static void verify(const char *path, unsigned round) {
    mn_status status;
    mn_engine *engine = open_engine(path, &status);
    CHECK_STATUS(status, MN_OK);
    if (!engine) return;
    mn_space *spaces[SPACES] = {0};
    for (uint32_t s = 0; s < SPACES; s++) {
        mn_engine_space_open(engine, space_names[s], (uint32_t)strlen(space_names[s]), &spaces[s]);
    }
    uint64_t bad = 0, half = 0, lost = 0;
    for (size_t i = 0; i < item_count; i++) {
        expected *e = &items[i];
        mn_space *space = spaces[e->space % SPACES];
        if (!space) {
            if (e->acked) lost++;
            continue;
        }
        if (e->kind == 'S') {
            int r = check_memory(space, e->id, e->seed);
            if (r < 0) bad++;
            if (r == 0) lost++;
            continue;
        }
        uint32_t present = 0;
        for (uint32_t k = 0; k < e->count; k++) {
            char id[64];
            snprintf(id, sizeof(id), "%s-%u", e->id, k);
            int r = check_memory(space, id, e->seed + k);
            if (r < 0) bad++;
            present += r == 1;
        }
        if (present != 0 && present != e->count) half++;
        if (e->acked && present != e->count) lost++;
    }
    CHECK(bad == 0);
    CHECK(half == 0);
    CHECK(lost == 0);
    if (bad || half || lost) {
        fprintf(stderr, "round %u: %llu different, %llu half batches, %llu lost\n", round,
                (unsigned long long)bad, (unsigned long long)half, (unsigned long long)lost);
    }
    for (uint32_t s = 0; s < SPACES; s++) mn_space_release(spaces[s]);
    mn_engine_destroy(engine);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--child") == 0) {
        report_fd = 3;
        return child_main(argv[2], (unsigned)strtoul(argv[3], NULL, 10),
                          strtoull(argv[4], NULL, 10));
    }
    char root[] = "/var/tmp/mnemo-crash-XXXXXX";
    if (!mkdtemp(root)) return 2;
    char path[64];
    snprintf(path, sizeof(path), "%s/db", root);
    uint64_t state = (uint64_t)time(NULL);
    if (getenv("MNEMO_CRASH_SEED")) state = strtoull(getenv("MNEMO_CRASH_SEED"), NULL, 10);
    printf("seed %llu\n", (unsigned long long)state);
    int kills_writing = 0;
    for (unsigned round = 0; round < ROUNDS_WRITING + ROUNDS_EARLY; round++) {
        int early = round % 7 == 3; /* some rounds die while the child is still recovering */
        int fds[2];
        if (pipe(fds) != 0) return 2;
        char round_text[16], seed_text[32];
        snprintf(round_text, sizeof(round_text), "%u", round);
        snprintf(seed_text, sizeof(seed_text), "%llu", (unsigned long long)te_next(&state));
        pid_t pid = fork();
        if (pid < 0) return 2;
        if (pid == 0) {
            close(fds[0]);
            if (dup2(fds[1], 3) < 0) _exit(2);
            execl("/proc/self/exe", argv[0], "--child", path, round_text, seed_text, (char *)NULL);
            _exit(2);
        }
        close(fds[1]);
        /* Kill after a random delay: counted from "ready" when writing, from start if early. */
        int64_t delay_ms = early ? (int64_t)(te_next(&state) % 15) : 5 + (int64_t)(te_next(&state) % 60);
        int ready = early;
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        char buffer[1 << 16];
        size_t used = 0;
        int killed = 0, eof = 0;
        while (!eof) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            int64_t elapsed = (t.tv_sec - start.tv_sec) * 1000 + (t.tv_nsec - start.tv_nsec) / 1000000;
            if (ready && !killed && elapsed >= delay_ms) {
                kill(pid, SIGKILL);
                killed = 1;
            }
            if (!killed && elapsed > 20000) { /* the child hung: kill it and fail */
                kill(pid, SIGKILL);
                killed = 1;
                CHECK(!"child made no progress");
            }
            struct pollfd p = {.fd = fds[0], .events = POLLIN};
            poll(&p, 1, killed ? 100 : 1);
            ssize_t got = read(fds[0], buffer + used, sizeof(buffer) - 1 - used);
            if (got == 0) eof = 1;
            if (got <= 0) {
                if (got < 0 && errno != EAGAIN && errno != EINTR) eof = 1;
                continue;
            }
            used += (size_t)got;
            buffer[used] = '\0';
            char *line = buffer;
            char *newline;
            while ((newline = strchr(line, '\n')) != NULL) {
                *newline = '\0';
                if (line[0] == 'R' && !ready) {
                    ready = 1;
                    clock_gettime(CLOCK_MONOTONIC, &start);
                } else {
                    parse_line(line);
                }
                line = newline + 1;
            }
            used = (size_t)(buffer + used - line);
            memmove(buffer, line, used);
        }
        close(fds[0]);
        int wstatus = 0;
        waitpid(pid, &wstatus, 0);
        int died_by_kill = WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL;
        if (!died_by_kill) {
            fprintf(stderr, "round %u: child exited with %d\n", round,
                    WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
        }
        CHECK(died_by_kill);
        if (!early) kills_writing++;
        verify(path, round);
    }
    printf("%d kills while writing, %d early; %llu singles and %llu of %llu batches acknowledged\n",
           kills_writing, ROUNDS_EARLY, (unsigned long long)acked_singles,
           (unsigned long long)acked_batches, (unsigned long long)batches_seen);
    CHECK(kills_writing >= 20);
    CHECK(acked_singles > 0 && acked_batches > 0);
    /* The children checkpointed: there are pack files. */
    char command[128];
    snprintf(command, sizeof(command), "ls '%s/spaces' | grep -q '[.]pack$'", path);
    CHECK(system(command) == 0);
    free(items);
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", root);
    return te_report();
}
