/*
 * test_field_support.h: what the field index tests share: a small random document model
 * (fields "flag" BOOL, "kind" STRING or INT, "score" INT, DOUBLE or STRING, "tags" STRINGS or
 * STRING), its encoding in the metadata format of mn_meta.h, and the oracle's notion of which
 * documents match a predicate, computed independently of the index (numbers compared as
 * long double, exact for int64 and double on x86-64).
 */
#ifndef TEST_FIELD_SUPPORT_H
#define TEST_FIELD_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "meta/mn_field_index.h"
#include "util/mn_bytes.h"
#include "mn_test.h"

enum { TF_KINDS = 8, TF_TAGS = 12, TF_TAGS_MAX = 6, TF_DOC_BYTES = 512 };

typedef struct tf_doc {
    int has_flag, flag;
    int has_kind, kind_is_int, kind; /* "k<kind>" or the integer kind */
    int has_score, score_type;       /* MN_FIELD_TYPE_INT, _DOUBLE or _STRING ("n/a") */
    int64_t score_i;
    double score_d;
    int has_tags, tags_is_string, tag_count;
    int tags[TF_TAGS_MAX];
} tf_doc;

/* Extreme numbers: int/double comparisons at the edges of int64. */
static const int64_t tf_big_ints[] = {INT64_MAX, INT64_MIN, INT64_MAX - 1, (int64_t)1 << 53, ((int64_t)1 << 53) + 1};
static const double tf_big_doubles[] = {9223372036854775808.0, -9223372036854775808.0, 9007199254740992.0,
                                        9007199254740994.0, 1e300, -1e300};

static inline int64_t tf_random_int(mn_test_rng *rng) {
    if (mn_test_next(rng) % 16 == 0) return tf_big_ints[mn_test_next(rng) % 5];
    return (int64_t)(mn_test_next(rng) % 41) - 20;
}

static inline double tf_random_double(mn_test_rng *rng) {
    if (mn_test_next(rng) % 16 == 0) return tf_big_doubles[mn_test_next(rng) % 6];
    return ((double)(mn_test_next(rng) % 81) - 40.0) / 2.0; /* -20 ... 20 step 0.5: meets the ints */
}

static inline void tf_random_doc(mn_test_rng *rng, tf_doc *d) {
    memset(d, 0, sizeof(*d));
    d->has_flag = mn_test_next(rng) % 4 != 0;
    d->flag = (int)(mn_test_next(rng) % 2);
    d->has_kind = mn_test_next(rng) % 5 != 0;
    d->kind_is_int = mn_test_next(rng) % 8 == 0;
    d->kind = (int)(mn_test_next(rng) % TF_KINDS);
    d->has_score = mn_test_next(rng) % 5 != 0;
    uint64_t t = mn_test_next(rng) % 10;
    d->score_type = t < 5 ? MN_FIELD_TYPE_INT : t < 9 ? MN_FIELD_TYPE_DOUBLE : MN_FIELD_TYPE_STRING;
    d->score_i = tf_random_int(rng);
    d->score_d = tf_random_double(rng);
    d->has_tags = mn_test_next(rng) % 3 != 0;
    d->tags_is_string = mn_test_next(rng) % 6 == 0;
    d->tag_count = d->tags_is_string ? 1 : (int)(mn_test_next(rng) % (TF_TAGS_MAX + 1));
    for (int i = 0; i < d->tag_count; i++) d->tags[i] = (int)(mn_test_next(rng) % TF_TAGS);
}

static inline void tf_put_name(uint8_t *out, size_t *at, const char *name, uint8_t type) {
    size_t n = strlen(name);
    out[(*at)++] = (uint8_t)n;
    memcpy(out + *at, name, n);
    *at += n;
    out[(*at)++] = type;
}

static inline void tf_put_string(uint8_t *out, size_t *at, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    mn_put_u32(out + *at, n);
    memcpy(out + *at + 4, s, n);
    *at += 4 + n;
}

/* Encodes d (fields in name order: flag, kind, score, tags); returns the size, 0 = empty. */
static inline size_t tf_encode(const tf_doc *d, uint8_t *out) {
    size_t at = 2;
    uint16_t fields = 0;
    char text[32];
    if (d->has_flag) {
        tf_put_name(out, &at, "flag", MN_FIELD_TYPE_BOOL);
        out[at++] = (uint8_t)d->flag;
        fields++;
    }
    if (d->has_kind) {
        tf_put_name(out, &at, "kind", d->kind_is_int ? MN_FIELD_TYPE_INT : MN_FIELD_TYPE_STRING);
        if (d->kind_is_int) {
            mn_put_u64(out + at, (uint64_t)(int64_t)d->kind);
            at += 8;
        } else {
            snprintf(text, sizeof text, "k%d", d->kind);
            tf_put_string(out, &at, text);
        }
        fields++;
    }
    if (d->has_score) {
        tf_put_name(out, &at, "score", (uint8_t)d->score_type);
        if (d->score_type == MN_FIELD_TYPE_INT) {
            mn_put_u64(out + at, (uint64_t)d->score_i);
            at += 8;
        } else if (d->score_type == MN_FIELD_TYPE_DOUBLE) {
            uint64_t bits;
            memcpy(&bits, &d->score_d, 8);
            mn_put_u64(out + at, bits);
            at += 8;
        } else {
            tf_put_string(out, &at, "n/a");
        }
        fields++;
    }
    if (d->has_tags) {
        tf_put_name(out, &at, "tags", d->tags_is_string ? MN_FIELD_TYPE_STRING : MN_FIELD_TYPE_STRINGS);
        if (!d->tags_is_string) {
            out[at++] = (uint8_t)d->tag_count;
            out[at++] = 0;
        }
        for (int i = 0; i < d->tag_count; i++) {
            snprintf(text, sizeof text, "t%d", d->tags[i]);
            tf_put_string(out, &at, text);
        }
        fields++;
    }
    if (fields == 0) return 0;
    out[0] = (uint8_t)fields;
    out[1] = 0;
    return at;
}

/* The numeric value of a score, if it has one. */
static inline int tf_score(const tf_doc *d, long double *value) {
    if (!d->has_score || d->score_type == MN_FIELD_TYPE_STRING) return 0;
    *value = d->score_type == MN_FIELD_TYPE_INT ? (long double)d->score_i : (long double)d->score_d;
    return 1;
}

static inline long double tf_operand(const mn_field_value *v) {
    return v->type == MN_FIELD_TYPE_INT ? (long double)v->integer : (long double)v->number;
}

/* Whether document d matches operand v of an EQ on field `field`. */
static inline int tf_match_value(const tf_doc *d, const char *field, const mn_field_value *v) {
    char text[32];
    if (strcmp(field, "flag") == 0)
        return d->has_flag && v->type == MN_FIELD_TYPE_BOOL && (d->flag != 0) == v->boolean;
    if (strcmp(field, "kind") == 0) {
        if (!d->has_kind || d->kind_is_int || v->type != MN_FIELD_TYPE_STRING) return 0;
        snprintf(text, sizeof text, "k%d", d->kind);
        return strlen(text) == v->length && memcmp(text, v->string, v->length) == 0;
    }
    if (strcmp(field, "tags") == 0) {
        if (!d->has_tags) return 0;
        if ((v->type == MN_FIELD_TYPE_STRING) != (d->tags_is_string != 0)) return 0;
        for (int i = 0; i < d->tag_count; i++) {
            snprintf(text, sizeof text, "t%d", d->tags[i]);
            if (strlen(text) == v->length && memcmp(text, v->string, v->length) == 0) return 1;
        }
        return 0;
    }
    long double x;
    return strcmp(field, "score") == 0 && tf_score(d, &x) && x == tf_operand(v);
}

static inline int tf_has(const tf_doc *d, const char *field) {
    if (strcmp(field, "flag") == 0) return d->has_flag;
    if (strcmp(field, "kind") == 0) return d->has_kind;
    if (strcmp(field, "score") == 0) return d->has_score;
    return d->has_tags;
}

/* Whether a numeric value lies in a predicate's range. */
static inline int tf_in_range(long double x, const mn_field_predicate *p) {
    if (p->low.present) {
        long double lo = tf_operand(&p->low.value);
        if (p->low.inclusive ? x < lo : x <= lo) return 0;
    }
    if (p->high.present) {
        long double hi = tf_operand(&p->high.value);
        if (p->high.inclusive ? x > hi : x >= hi) return 0;
    }
    return 1;
}

/* Whether d matches predicate p on `field` (RANGE only for "score"). */
static inline int tf_match(const tf_doc *d, const char *field, const mn_field_predicate *p) {
    switch (p->op) {
    case MN_FIELD_OP_EXISTS:
        return tf_has(d, field);
    case MN_FIELD_OP_EQ:
        return tf_match_value(d, field, &p->values[0]);
    case MN_FIELD_OP_IN:
        for (uint32_t i = 0; i < p->value_count; i++)
            if (tf_match_value(d, field, &p->values[i])) return 1;
        return 0;
    case MN_FIELD_OP_RANGE: {
        long double x;
        return tf_score(d, &x) && tf_in_range(x, p);
    }
    }
    return 0;
}

/* A random operand for an EQ/IN on `field`; text holds its string (>= 16 bytes). */
static inline void tf_random_value(mn_test_rng *rng, const char *field, mn_field_value *v, char *text) {
    memset(v, 0, sizeof(*v));
    if (strcmp(field, "flag") == 0) {
        v->type = MN_FIELD_TYPE_BOOL;
        v->boolean = mn_test_next(rng) % 2;
    } else if (strcmp(field, "kind") == 0) {
        v->type = MN_FIELD_TYPE_STRING;
        snprintf(text, 16, "k%d", (int)(mn_test_next(rng) % (TF_KINDS + 1))); /* k8: never used */
    } else if (strcmp(field, "tags") == 0) {
        v->type = mn_test_next(rng) % 4 == 0 ? MN_FIELD_TYPE_STRING : MN_FIELD_TYPE_STRINGS;
        snprintf(text, 16, "t%d", (int)(mn_test_next(rng) % (TF_TAGS + 1)));
    } else if (mn_test_next(rng) % 2) {
        v->type = MN_FIELD_TYPE_INT;
        v->integer = tf_random_int(rng);
    } else {
        v->type = MN_FIELD_TYPE_DOUBLE;
        v->number = tf_random_double(rng);
    }
    if (v->type == MN_FIELD_TYPE_STRING || v->type == MN_FIELD_TYPE_STRINGS) {
        v->string = text;
        v->length = (uint32_t)strlen(text);
    }
}

/* A random numeric range (either side may be open). */
static inline void tf_random_range(mn_test_rng *rng, mn_field_predicate *p) {
    memset(p, 0, sizeof(*p));
    p->op = MN_FIELD_OP_RANGE;
    mn_field_bound *sides[2] = {&p->low, &p->high};
    char unused[16];
    for (int s = 0; s < 2; s++) {
        sides[s]->present = mn_test_next(rng) % 5 != 0;
        sides[s]->inclusive = mn_test_next(rng) % 2;
        tf_random_value(rng, "score", &sides[s]->value, unused);
    }
}

#endif /* TEST_FIELD_SUPPORT_H */
