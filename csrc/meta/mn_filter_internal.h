/*
 * mn_filter_internal.h: the compiled filter inside the C core (private): evaluation against
 * one memory (mn_filter_match, the hot path of filtered search), a read-only walk of the
 * filter tree for index planning (field indexes estimate selectivity and collect candidates
 * from leaves), and a generic selectivity estimate.
 *
 * The tree. Nodes are numbered 0 ... mn_filter_node_count() - 1 (a planner may keep one slot
 * per node); the root is mn_filter_root(). Kinds:
 *   AND   all children match (the root of the empty filter {} is an AND with no child: true)
 *   OR    at least one child matches (at least one child)
 *   NOT   its one child does not match
 *   LEAF  one condition: a field (a metadata field by name, or the built-in id / createdAt),
 *         an operator and its operand values
 * Several keys of one JSON object, several operators on one field and $and are all ANDs; the
 * compiler flattens them, so an AND never has an AND child. The tree depth is at most
 * MN_FILTER_TREE_DEPTH_MAX.
 *
 * Leaf semantics (docs/filters.md has the table). F is the field's value in the memory; a
 * STRINGS field (a list of tags) matches an operator when ANY element does (MongoDB):
 *   EQ v       F present and equal to v: int and double compare numerically (exactly: 2 == 2.0,
 *              and 2^53 + 1 != 2^53 as a double), strings byte for byte, bools as bools; values
 *              of different kinds are never equal
 *   IN [v...]  EQ holds for some v (an empty list matches nothing)
 *   NE v       not EQ v      (so an absent field, or one of another type, matches)
 *   NIN [v...] not IN [v...] (likewise)
 *   GT GTE LT LTE v   F and v both numbers (numeric order) or both strings (byte order, which
 *              is code point order for UTF-8); anything else does not match
 *   CONTAINS s     STRING F: s is a substring of F; STRINGS F: some element equals s
 *   ICONTAINS s    the same after ASCII case folding of both sides (A-Z only)
 *   EXISTS b   F present == b
 * A double F that is NaN equals nothing and is in no order. The built-in id is always present,
 * a STRING; createdAt is always present, an INT (nanoseconds since the Unix epoch); the
 * compiler has already turned RFC 3339 operands into nanoseconds.
 *
 * Thread safety: a compiled filter is immutable; every function here is pure and may run from
 * any number of threads at once. mn_filter_match never allocates.
 */
#ifndef MN_FILTER_INTERNAL_H
#define MN_FILTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mnemo/mn_filter.h"
#include "mnemo/mn_limits.h"
#include "mnemo/mn_meta.h"
#include "mnemo/mn_status.h"

/* Node kinds. */
#define MN_FILTER_NODE_AND  1
#define MN_FILTER_NODE_OR   2
#define MN_FILTER_NODE_NOT  3
#define MN_FILTER_NODE_LEAF 4

/* The field a leaf tests. */
#define MN_FILTER_FIELD_META       1 /* a metadata field, by name */
#define MN_FILTER_FIELD_ID         2 /* the memory's id (a string, always present) */
#define MN_FILTER_FIELD_CREATED_AT 3 /* creation time, ns since the epoch (always present) */

/* Leaf operators. */
#define MN_FILTER_OP_EQ        1
#define MN_FILTER_OP_NE        2
#define MN_FILTER_OP_IN        3
#define MN_FILTER_OP_NIN       4
#define MN_FILTER_OP_GT        5
#define MN_FILTER_OP_GTE       6
#define MN_FILTER_OP_LT        7
#define MN_FILTER_OP_LTE       8
#define MN_FILTER_OP_CONTAINS  9
#define MN_FILTER_OP_ICONTAINS 10
#define MN_FILTER_OP_EXISTS    11

/* Operand value types: the metadata scalar type codes (mn_meta.h). */
#define MN_FILTER_VALUE_STRING 1
#define MN_FILTER_VALUE_INT    2
#define MN_FILTER_VALUE_DOUBLE 3
#define MN_FILTER_VALUE_BOOL   4

/** JSON nesting the reader accepts: a filter object at depth d sits at JSON depth 2d - 1 (an
 *  object in the array of a $and), its field's operator object at 2d and a $in array at
 *  2d + 1. Deeper JSON is reported as a DEPTH error. */
#define MN_FILTER_JSON_DEPTH_MAX (2 * MN_FILTER_DEPTH_MAX + 1)
/** Deepest compiled tree: per filter level at most an AND and an OR or NOT, then a leaf. */
#define MN_FILTER_TREE_DEPTH_MAX (2 * MN_FILTER_DEPTH_MAX + 1)

/** One operand, as the tree API shows it. `string` points into the filter (valid while it
 *  lives) and is not NUL-terminated. */
typedef struct mn_filter_value {
    uint32_t type;       /* MN_FILTER_VALUE_* */
    uint32_t bytes;      /* STRING: its length */
    const char *string;  /* STRING */
    int64_t i;           /* INT (createdAt operands are INT nanoseconds) */
    double d;            /* DOUBLE (finite) */
    int b;               /* BOOL: 0 or 1 */
} mn_filter_value;

/** A leaf condition, as the tree API shows it. */
typedef struct mn_filter_leaf {
    uint32_t field;      /* MN_FILTER_FIELD_* */
    uint32_t op;         /* MN_FILTER_OP_* */
    const char *name;    /* the field name ("id" and "createdAt" for the built-ins), not
                            NUL-terminated */
    uint32_t name_bytes;
    uint32_t value_count; /* 1, except IN and NIN: the list's length (0 allowed). EXISTS has
                             one BOOL value. IN/NIN values are sorted (bools, then numbers
                             ascending, then strings in byte order) and may repeat. */
} mn_filter_leaf;

uint32_t mn_filter_node_count(const mn_filter *filter);
uint32_t mn_filter_root(const mn_filter *filter);
/** MN_FILTER_NODE_*. `node` must be below mn_filter_node_count (asserted). */
uint32_t mn_filter_node_kind(const mn_filter *filter, uint32_t node);
/** Children of an AND, OR or NOT (0 for a leaf). */
uint32_t mn_filter_node_child_count(const mn_filter *filter, uint32_t node);
uint32_t mn_filter_node_child(const mn_filter *filter, uint32_t node, uint32_t index);
/** The leaf's condition (`node` must be a LEAF, asserted). */
void mn_filter_node_leaf(const mn_filter *filter, uint32_t node, mn_filter_leaf *out);
/** Operand `index` (< value_count) of a leaf. */
void mn_filter_leaf_value(const mn_filter *filter, uint32_t node, uint32_t index,
                          mn_filter_value *out);

/**
 * Selectivity of one leaf: the fraction in [0, 1] of memories expected to match it, written to
 * *fraction (values outside [0, 1] are clamped). A status other than MN_OK stops the estimate
 * and is returned by mn_filter_estimate.
 */
typedef mn_status (*mn_filter_fraction_fn)(void *context, const mn_filter *filter, uint32_t leaf,
                                           double *fraction);

/**
 * Combines leaf selectivities as if the leaves were independent: AND the product of its
 * children, OR 1 - prod(1 - p), NOT 1 - p; the empty filter is 1. MN_ERR_INVALID for NULL
 * arguments; otherwise the callback's status.
 */
mn_status mn_filter_estimate(const mn_filter *filter, mn_filter_fraction_fn fn, void *context,
                             double *fraction);

/**
 * 1 when the memory matches the filter, else 0. `doc` is the memory's metadata document
 * (mn_meta.h encoding, already validated; NULL or 0 bytes: no metadata), `id` its id and
 * `created_ns` its creation time. Pure, thread safe, allocation free.
 */
int mn_filter_match(const mn_filter *filter, const void *doc, size_t doc_bytes, const char *id,
                    uint32_t id_bytes, int64_t created_ns);

/**
 * 1 when leaf `leaf`'s condition holds for a field whose value is *value, NULL meaning the
 * field is absent (for id give a STRING value, for createdAt an INT). A list value
 * (MN_META_STRINGS) is tested item by item as in mn_filter_match. For index planning: test
 * each distinct key of a field index against a leaf ($icontains, ranges ...) with the exact
 * semantics of a match. Pure, thread safe, allocation free.
 */
int mn_filter_leaf_match_value(const mn_filter *filter, uint32_t leaf, const mn_meta_value *value);

/* ---- Shared by the reader and the compiler (not for other modules) ---- */

typedef int (*mn_filter_less_fn)(const void *context, uint32_t a, uint32_t b);
/** Sorts `count` indices by `less` (heapsort: no recursion, no allocation). */
void mn_filter_sort(uint32_t *items, uint32_t count, mn_filter_less_fn less, const void *context);

/** Compiled operand: strings live in the filter's pool; CONTAINS and ICONTAINS operands carry
 *  their ASCII-folded copy (ICONTAINS) and a KMP failure table so a substring search is linear
 *  in the field's length whatever the operand. */
typedef struct mn_filter_operand {
    uint32_t type;       /* MN_FILTER_VALUE_* */
    uint32_t bytes;
    uint32_t start;      /* STRING: bytes in pool (folded for ICONTAINS) */
    uint32_t kmp;        /* CONTAINS/ICONTAINS: first of `bytes` entries in the kmp table */
    union {
        int64_t i;
        double d;
        int b;
    } u;
} mn_filter_operand;

typedef struct mn_filter_node {
    uint8_t kind;        /* MN_FILTER_NODE_* */
    uint8_t op;          /* LEAF: MN_FILTER_OP_* */
    uint8_t field;       /* LEAF: MN_FILTER_FIELD_* */
    uint8_t in_bools;    /* IN/NIN: bit 0 false listed, bit 1 true listed */
    uint32_t first;      /* AND/OR/NOT: first index in children; LEAF: first operand */
    uint32_t count;      /* children, or operands */
    uint32_t name_start; /* LEAF: the field name in the pool */
    uint32_t name_bytes;
    uint32_t numbers_first; /* IN/NIN: the numeric operands (sorted) */
    uint32_t numbers_count;
    uint32_t strings_first; /* IN/NIN: the string operands (sorted) */
    uint32_t strings_count;
} mn_filter_node;

struct mn_filter {
    mn_filter_node *nodes;
    uint32_t node_count;
    uint32_t root;
    uint32_t *children;
    uint32_t child_count;
    mn_filter_operand *operands;
    uint32_t operand_count;
    char *pool;
    uint32_t pool_bytes;
    uint32_t pool_capacity;
    uint32_t *kmp;
    uint32_t kmp_count;
};

/** 1 when `a` and `b` compiled to the same filter (tree, operands and strings alike): whatever
 *  is computed for one holds for the other. Pure, thread safe. */
int mn_filter_same(const mn_filter *a, const mn_filter *b);

/** A deep copy of a compiled filter (free with mn_filter_free); NULL when out of memory. */
mn_filter *mn_filter_copy(const mn_filter *filter);

/** Three-way comparison of an int64 and a double, exact (no rounding of the int): -1, 0, 1,
 *  or 2 when d is NaN. */
int mn_filter_compare_int_double(int64_t i, double d);

/** Parses an RFC 3339 date-time ("2026-11-01T00:00:00Z", "...T10:30:00.25+02:00") into
 *  nanoseconds since the epoch. 0 when the text is not one or the instant is outside int64. */
int mn_filter_parse_rfc3339(const char *text, size_t bytes, int64_t *ns);

#endif /* MN_FILTER_INTERNAL_H */
