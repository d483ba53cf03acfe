/*
 * test_meta_fuzz.c: random and damaged metadata documents and patches (CI runs it under
 * AddressSanitizer and UBSan). Every input sits in its own allocation of exactly its size, so
 * a read one byte past it is caught.
 *
 * Each round builds a random valid document (random names from a small alphabet so that prefixes
 * and collisions are common, every type, edge values), damages a copy (bit flips, random bytes,
 * insertions, deletions, truncation, growth, a span copied from elsewhere, a length field set to
 * an extreme) and checks:
 *   - mn_meta_validate returns only OK, INVALID, TOO_LARGE or NON_FINITE, and never reads out of
 *     bounds;
 *   - mn_meta_get and iteration on ANY bytes (valid or not) stay in bounds and return only OK,
 *     NOT_FOUND or CORRUPT;
 *   - a document that validates is canonical: its fields come out in strictly ascending name
 *     order, each is found by mn_meta_get with the same value, every list item is reachable, and
 *     rebuilding it through the builder from what iteration returned gives the same bytes;
 *   - random patches (valid and damaged encodings) validate or fail with a typed status, and an
 *     applied patch gives a valid document equal to mn_meta_patch on the decoded parts.
 */
#include "mn_test.h"
#include "mnemo/mn_limits.h"
#include "mnemo/mn_meta.h"

#define ROUNDS 200000

static const char *const NAME_PARTS[] = {"a", "b", "ab", "id", "createdAt", "$", "k", "\xC3\xA9", "\xED\xA0\x80", "z"};

static uint32_t rnd(mn_test_rng *rng, uint32_t n) { return (uint32_t)(mn_test_next(rng) % n); }

static uint32_t random_name(mn_test_rng *rng, char *out) {
    uint32_t n = 0, parts = 1 + rnd(rng, 3);
    for (uint32_t p = 0; p < parts; p++) {
        const char *part = NAME_PARTS[rnd(rng, sizeof NAME_PARTS / sizeof *NAME_PARTS)];
        size_t len = strlen(part);
        if (n + len > MN_META_NAME_BYTES_MAX) break;
        memcpy(out + n, part, len);
        n += (uint32_t)len;
    }
    if (rnd(rng, 50) == 0) { /* a long name, sometimes over the limit */
        n = MN_META_NAME_BYTES_MAX - 1 + rnd(rng, 3);
        memset(out, 'L', n);
    }
    return n;
}

static uint32_t random_text(mn_test_rng *rng, char *out, uint32_t max) {
    uint32_t n = rnd(rng, 8) == 0 ? rnd(rng, max + 1) : rnd(rng, 12);
    for (uint32_t i = 0; i < n; i++) out[i] = (char)(' ' + rnd(rng, 95));
    if (n >= 2 && rnd(rng, 4) == 0) memcpy(out + n - 2, "\xC3\xA9", 2);
    return n;
}

/* A random document through the builder (adds may fail: names repeat, get reserved, ...). The
 * builder's verdict is returned; *doc is its output when MN_OK. */
static mn_status random_doc(mn_test_rng *rng, void **doc, size_t *bytes) {
    static char text[MN_META_STRING_BYTES_MAX + 1];
    static char items_text[8][64];
    mn_meta_builder *b;
    if (mn_meta_builder_create(&b) != MN_OK) return MN_ERR_NO_MEMORY;
    uint32_t fields = rnd(rng, 10) == 0 ? rnd(rng, MN_META_FIELDS_MAX + 2) : rnd(rng, 8);
    for (uint32_t f = 0; f < fields; f++) {
        char name[MN_META_NAME_BYTES_MAX + 2];
        uint32_t name_bytes = random_name(rng, name);
        switch (rnd(rng, 5)) {
        case 0: {
            uint32_t n = random_text(rng, text, MN_META_STRING_BYTES_MAX);
            mn_meta_builder_add_string(b, name, name_bytes, text, n);
            break;
        }
        case 1: {
            int64_t edge[] = {0, 1, -1, INT64_MIN, INT64_MAX};
            mn_meta_builder_add_int(b, name, name_bytes,
                                    rnd(rng, 2) ? edge[rnd(rng, 5)] : (int64_t)mn_test_next(rng));
            break;
        }
        case 2: {
            double edge[] = {0.0, -0.0, 1.5, -1e308, 4.9e-324, NAN, INFINITY};
            mn_meta_builder_add_double(b, name, name_bytes,
                                       rnd(rng, 2) ? edge[rnd(rng, 7)] : (double)mn_test_uniform(rng) * 1e6);
            break;
        }
        case 3:
            mn_meta_builder_add_bool(b, name, name_bytes, (int)rnd(rng, 3));
            break;
        default: {
            const char *items[8];
            uint32_t lens[8];
            uint32_t n = rnd(rng, 9);
            for (uint32_t i = 0; i < n; i++) {
                lens[i] = random_text(rng, items_text[i], 63);
                items[i] = items_text[i];
            }
            mn_meta_builder_add_strings(b, name, name_bytes, items, lens, n);
            break;
        }
        }
    }
    mn_meta_error error;
    mn_status status = mn_meta_builder_finish(b, doc, bytes, &error);
    mn_meta_builder_destroy(b);
    return status;
}

/* An exact-size heap copy, so ASan sees any overrun. */
static uint8_t *exact(const void *data, size_t bytes) {
    uint8_t *copy = malloc(bytes ? bytes : 1);
    if (bytes) memcpy(copy, data, bytes);
    return copy;
}

static void damage(mn_test_rng *rng, uint8_t **data, size_t *bytes, const uint8_t *other, size_t other_bytes) {
    size_t n = *bytes;
    uint8_t *buf = malloc(n + 64);
    if (n) memcpy(buf, *data, n);
    uint32_t edits = 1 + rnd(rng, 3);
    for (uint32_t e = 0; e < edits; e++) {
        switch (rnd(rng, 8)) {
        case 0: /* bit flip */
            if (n) buf[rnd(rng, (uint32_t)n)] ^= (uint8_t)(1u << rnd(rng, 8));
            break;
        case 1: /* random byte */
            if (n) buf[rnd(rng, (uint32_t)n)] = (uint8_t)mn_test_next(rng);
            break;
        case 2: /* truncate */
            if (n) n = rnd(rng, (uint32_t)n);
            break;
        case 3: /* insert a byte */
            if (n < *bytes + 60) {
                size_t at = rnd(rng, (uint32_t)n + 1);
                memmove(buf + at + 1, buf + at, n - at);
                buf[at] = (uint8_t)mn_test_next(rng);
                n++;
            }
            break;
        case 4: /* delete a byte */
            if (n) {
                size_t at = rnd(rng, (uint32_t)n);
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
            }
            break;
        case 5: /* a 4-byte length set to an extreme */
            if (n >= 4) {
                size_t at = rnd(rng, (uint32_t)n - 3);
                uint32_t v = rnd(rng, 2) ? 0xFFFFFFFFu : MN_META_STRING_BYTES_MAX + rnd(rng, 3) - 1;
                for (int i = 0; i < 4; i++) buf[at + i] = (uint8_t)(v >> (8 * i));
            }
            break;
        case 6: /* a span copied from another document */
            if (n && other_bytes) {
                size_t len = 1 + rnd(rng, 16), from = rnd(rng, (uint32_t)other_bytes), to = rnd(rng, (uint32_t)n);
                if (len > other_bytes - from) len = other_bytes - from;
                if (len > n - to) len = n - to;
                memcpy(buf + to, other + from, len);
            }
            break;
        default: /* field count changed */
            if (n >= 2) buf[rnd(rng, 2)] = (uint8_t)rnd(rng, 70);
            break;
        }
    }
    free(*data);
    *data = exact(buf, n);
    *bytes = n;
    free(buf);
}

/* Walks any bytes through get and iteration: only typed statuses, never out of bounds. */
static int walk_any(const uint8_t *doc, size_t bytes) {
    int ok = 1;
    mn_meta_cursor c;
    mn_status st = mn_meta_iter(doc, bytes, &c);
    if (st != MN_OK && st != MN_ERR_CORRUPT) ok = 0;
    if (st == MN_OK) {
        const char *name;
        uint32_t name_bytes;
        mn_meta_value v;
        for (uint32_t guard = 0; guard <= MN_META_FIELDS_MAX + 1; guard++) {
            st = mn_meta_next(&c, &name, &name_bytes, &v);
            if (st != MN_OK) break;
            if (v.type == MN_META_STRINGS) {
                uint32_t at = 0, n;
                const char *s;
                while (mn_meta_list_next(&v, &at, &s, &n) == MN_OK) {
                    volatile char sink = n ? s[n - 1] : 0; /* touch the item's last byte */
                    (void)sink;
                }
                /* A cursor at any position, item boundary or not: typed statuses, in bounds. */
                for (uint32_t probe = 0; probe <= v.list_bytes + 1 && probe < 64; probe++) {
                    at = probe;
                    mn_status ls = mn_meta_list_next(&v, &at, &s, &n);
                    if (ls == MN_OK) {
                        volatile char sink = n ? s[n - 1] : 0;
                        (void)sink;
                    } else if (ls != MN_ERR_NOT_FOUND && ls != MN_ERR_INVALID && ls != MN_ERR_CORRUPT) {
                        ok = 0;
                    }
                }
            }
        }
        if (st != MN_ERR_NOT_FOUND && st != MN_ERR_CORRUPT) ok = 0;
    }
    static const char *probes[] = {"a", "ab", "k", "z", "zz"};
    for (size_t i = 0; i < 5; i++) {
        mn_meta_value v;
        st = mn_meta_get(doc, bytes, probes[i], (uint32_t)strlen(probes[i]), &v);
        if (st != MN_OK && st != MN_ERR_NOT_FOUND && st != MN_ERR_CORRUPT) ok = 0;
    }
    return ok;
}

/* Member by member: a struct's padding is not part of its value. */
static int same_value(const mn_meta_value *a, const mn_meta_value *b) {
    return a->type == b->type && a->i == b->i && !memcmp(&a->d, &b->d, sizeof a->d) && a->b == b->b &&
           a->str == b->str && a->str_bytes == b->str_bytes && a->list == b->list && a->list_count == b->list_count &&
           a->list_bytes == b->list_bytes;
}

/* A validated document: ascending names, get agrees, and the builder gives back the same bytes. */
static int check_canonical(const uint8_t *doc, size_t bytes) {
    mn_meta_builder *b;
    if (mn_meta_builder_create(&b) != MN_OK) return 0;
    mn_meta_cursor c;
    if (mn_meta_iter(doc, bytes, &c) != MN_OK) return 0;
    const char *name, *previous = NULL;
    uint32_t name_bytes, previous_bytes = 0;
    mn_meta_value v;
    int ok = 1;
    mn_status st;
    while ((st = mn_meta_next(&c, &name, &name_bytes, &v)) == MN_OK) {
        int order;
        if (previous && (mn_meta_name_compare(previous, previous_bytes, name, name_bytes, &order) != MN_OK ||
                         order >= 0))
            ok = 0;
        previous = name;
        previous_bytes = name_bytes;
        mn_meta_value got;
        if (mn_meta_get(doc, bytes, name, name_bytes, &got) != MN_OK || !same_value(&got, &v)) ok = 0;
        switch (v.type) {
        case MN_META_STRING: mn_meta_builder_add_string(b, name, name_bytes, v.str, v.str_bytes); break;
        case MN_META_INT: mn_meta_builder_add_int(b, name, name_bytes, v.i); break;
        case MN_META_DOUBLE: mn_meta_builder_add_double(b, name, name_bytes, v.d); break;
        case MN_META_BOOL: mn_meta_builder_add_bool(b, name, name_bytes, v.b); break;
        case MN_META_STRINGS: {
            const char *items[MN_META_LIST_MAX];
            uint32_t lens[MN_META_LIST_MAX], at = 0, n = 0;
            while (n < MN_META_LIST_MAX && mn_meta_list_next(&v, &at, &items[n], &lens[n]) == MN_OK) n++;
            if (n != v.list_count || at != v.list_bytes) ok = 0;
            mn_meta_builder_add_strings(b, name, name_bytes, items, lens, n);
            break;
        }
        default: ok = 0;
        }
    }
    if (st != MN_ERR_NOT_FOUND) ok = 0;
    void *again;
    size_t again_bytes;
    if (mn_meta_builder_finish(b, &again, &again_bytes, NULL) != MN_OK || again_bytes != bytes ||
        (bytes && memcmp(again, doc, bytes)))
        ok = 0;
    mn_meta_free(again);
    mn_meta_builder_destroy(b);
    return ok;
}

static int typed_validate(mn_status st) {
    return st == MN_OK || st == MN_ERR_INVALID || st == MN_ERR_TOO_LARGE || st == MN_ERR_NON_FINITE;
}

int main(void) {
    mn_test_rng rng = {0x9E3779B97F4A7C15ull};
    uint8_t *previous = NULL;
    size_t previous_bytes = 0;
    int bad_status = 0, out_of_contract = 0, not_canonical = 0, patch_bad = 0;
    uint32_t built = 0, damaged_valid = 0, patches_applied = 0;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        void *doc;
        size_t bytes;
        mn_status st = random_doc(&rng, &doc, &bytes);
        if (!typed_validate(st)) bad_status++;
        if (st != MN_OK) continue;
        built++;
        uint8_t *clean = exact(doc, bytes);
        mn_meta_free(doc);
        if (mn_meta_validate(clean, bytes, NULL) != MN_OK || !check_canonical(clean, bytes)) not_canonical++;

        /* Damage a copy. */
        uint8_t *bent = exact(clean, bytes);
        size_t bent_bytes = bytes;
        damage(&rng, &bent, &bent_bytes, previous, previous_bytes);
        mn_meta_error error;
        st = mn_meta_validate(bent, bent_bytes, &error);
        if (!typed_validate(st)) bad_status++;
        if (st != MN_OK && (!error.reason || !error.reason[0])) bad_status++;
        if (!walk_any(bent, bent_bytes)) out_of_contract++;
        if (st == MN_OK) {
            damaged_valid++;
            if (!check_canonical(bent, bent_bytes)) not_canonical++;
        }

        /* Pure noise, sometimes behind a plausible count. */
        size_t noise_bytes = rnd(&rng, 64);
        uint8_t *noise = malloc(noise_bytes ? noise_bytes : 1);
        for (size_t i = 0; i < noise_bytes; i++) noise[i] = (uint8_t)mn_test_next(&rng);
        if (noise_bytes >= 2 && rnd(&rng, 2)) {
            noise[0] = (uint8_t)(1 + rnd(&rng, 3));
            noise[1] = 0;
        }
        st = mn_meta_validate(noise, noise_bytes, NULL);
        if (!typed_validate(st)) bad_status++;
        if (!walk_any(noise, noise_bytes)) out_of_contract++;
        if (st == MN_OK && !check_canonical(noise, noise_bytes)) not_canonical++;
        free(noise);

        /* A patch: the previous document as `set`, some of this one's names removed. */
        if (previous && mn_meta_validate(previous, previous_bytes, NULL) == MN_OK) {
            const char *remove[4];
            uint32_t remove_bytes[4], remove_count = 0;
            mn_meta_cursor c;
            mn_meta_iter(clean, bytes, &c);
            mn_meta_value v;
            while (remove_count < 4 && mn_meta_next(&c, &remove[remove_count], &remove_bytes[remove_count], &v) ==
                                           MN_OK)
                if (rnd(&rng, 2)) remove_count++;
            void *patch;
            size_t patch_bytes;
            st = mn_meta_patch_encode(previous, previous_bytes, remove, remove_bytes, remove_count, &patch,
                                      &patch_bytes, &error);
            if (st != MN_OK && st != MN_ERR_INVALID) patch_bad++; /* a name both set and removed */
            if (st == MN_OK) {
                uint8_t *p = exact(patch, patch_bytes);
                mn_meta_free(patch);
                void *out, *direct;
                size_t out_bytes, direct_bytes;
                mn_status applied = mn_meta_patch_apply(clean, bytes, p, patch_bytes, &out, &out_bytes, &error);
                mn_status merged = mn_meta_patch(clean, bytes, previous, previous_bytes, remove, remove_bytes,
                                                 remove_count, &direct, &direct_bytes, NULL);
                if (applied != merged) patch_bad++;
                if (applied == MN_OK) {
                    patches_applied++;
                    if (out_bytes != direct_bytes || (out_bytes && memcmp(out, direct, out_bytes)) ||
                        mn_meta_validate(out, out_bytes, NULL) != MN_OK)
                        patch_bad++;
                    mn_meta_free(out);
                    mn_meta_free(direct);
                } else if (applied != MN_ERR_TOO_LARGE) {
                    patch_bad++;
                }
                /* Damaged encodings: typed statuses, and applying one never reads out of bounds. */
                size_t bent_patch_bytes = patch_bytes;
                damage(&rng, &p, &bent_patch_bytes, clean, bytes);
                st = mn_meta_patch_validate(p, bent_patch_bytes, NULL);
                if (!typed_validate(st)) patch_bad++;
                st = mn_meta_patch_apply(clean, bytes, p, bent_patch_bytes, &out, &out_bytes, NULL);
                if (st == MN_OK) {
                    if (mn_meta_validate(out, out_bytes, NULL) != MN_OK) patch_bad++;
                    mn_meta_free(out);
                } else if (!typed_validate(st)) {
                    patch_bad++;
                }
                free(p);
            }
        }
        free(bent);
        free(previous);
        previous = clean;
        previous_bytes = bytes;
    }
    free(previous);
    CHECK(bad_status == 0, "%d untyped statuses", bad_status);
    CHECK(out_of_contract == 0, "%d walks returned an untyped status", out_of_contract);
    CHECK(not_canonical == 0, "%d valid documents not canonical", not_canonical);
    CHECK(patch_bad == 0, "%d patch mismatches", patch_bad);
    CHECK(built > ROUNDS / 4, "only %u random documents built", built);
    CHECK(patches_applied > ROUNDS / 20, "only %u patches applied", patches_applied);
    printf("built %u, damaged yet valid %u, patches applied %u\n", built, damaged_valid, patches_applied);
    return mn_test_finish("test_meta_fuzz");
}
