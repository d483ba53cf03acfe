/*
 * mn_filter.c: compiles filter JSON into an mn_filter (mn_filter.h), and the read-only tree
 * API and selectivity estimate of mn_filter_internal.h.
 *
 * Two passes keep each simple: mn_filter_json.c reads the text strictly into a value tree,
 * then this file gives it filter meaning. Every rule that can be decided without a document
 * is decided here, once, so the per-memory match (mn_filter_match.c) has nothing left to
 * check: operators are known, operand types fit their operator and field, createdAt dates
 * are nanoseconds, $in lists are sorted for binary search, substring operands carry their
 * folded form and KMP table. The compiler recurses once per filter level, at most
 * MN_FILTER_DEPTH_MAX deep; the reader before it is bounded the same way.
 */
#include "mnemo/mn_filter.h"

#include <stdlib.h>
#include <string.h>

#include "meta/mn_filter_internal.h"
#include "meta/mn_filter_json.h"
#include "mnemo/mn_limits.h"
#include "mnemo/mn_meta.h"
#include "util/mn_assert.h"

_Static_assert(MN_FILTER_ERROR_FIELD_BYTES > MN_META_NAME_BYTES_MAX,
               "an error names any valid field whole");
_Static_assert(MN_FILTER_BYTES_MAX <= (1u << 30), "offsets and pool indices are 32-bit");
_Static_assert(MN_FILTER_NODES_MAX < 65536, "node indices fit comfortably in 32 bits");

typedef struct mn_filter_builder {
    const mn_json *json;
    mn_filter *filter;
    uint32_t node_capacity;
    uint32_t child_capacity;
    uint32_t operand_capacity;
    uint32_t kmp_capacity;
    uint32_t *stack; /* conditions compiled but not yet given to their parent */
    uint32_t stack_count;
    uint32_t stack_capacity;
    mn_filter_error *error;
} mn_filter_builder;

typedef struct mn_filter_op_name {
    const char *name;
    uint32_t op;
} mn_filter_op_name;

static const mn_filter_op_name mn_filter_ops[] = {
    {"$eq", MN_FILTER_OP_EQ},           {"$ne", MN_FILTER_OP_NE},
    {"$in", MN_FILTER_OP_IN},           {"$nin", MN_FILTER_OP_NIN},
    {"$gt", MN_FILTER_OP_GT},           {"$gte", MN_FILTER_OP_GTE},
    {"$lt", MN_FILTER_OP_LT},           {"$lte", MN_FILTER_OP_LTE},
    {"$contains", MN_FILTER_OP_CONTAINS}, {"$icontains", MN_FILTER_OP_ICONTAINS},
    {"$exists", MN_FILTER_OP_EXISTS},
};

static const char *mn_filter_op_string(uint32_t op) {
    for (size_t i = 0; i < sizeof mn_filter_ops / sizeof mn_filter_ops[0]; i++)
        if (mn_filter_ops[i].op == op) return mn_filter_ops[i].name;
    return "?";
}

static int mn_filter_key_is(const mn_json *json, const mn_json_value *v, const char *word) {
    size_t n = strlen(word);
    return v->key_bytes == n && memcmp(json->pool + v->key_start, word, n) == 0;
}

/* Copies the bytes of op key `v` (cut, NUL-terminated) for an error's op member. */
static const char *mn_filter_key_text(const mn_json *json, const mn_json_value *v, char *buffer) {
    size_t n = v->key_bytes < MN_FILTER_ERROR_OPERATOR_BYTES - 1 ? v->key_bytes
                                                                 : MN_FILTER_ERROR_OPERATOR_BYTES - 1;
    memcpy(buffer, json->pool + v->key_start, n);
    buffer[n] = '\0';
    return buffer;
}

static mn_status mn_filter_oom(mn_filter_builder *b) {
    mn_filter_error_set(b->error, MN_FILTER_ERROR_NO_MEMORY, 0, NULL, 0, NULL, "out of memory");
    return MN_ERR_NO_MEMORY;
}

/* Grows an array of `size`-byte items to hold `need` items (doubling). */
static int mn_filter_grow(void **items, uint32_t *capacity, uint32_t need, size_t size) {
    if (need <= *capacity) return 1;
    uint32_t c = *capacity ? *capacity : 8;
    while (c < need) c *= 2;
    void *grown = realloc(*items, (size_t)c * size);
    if (!grown) return 0;
    *items = grown;
    *capacity = c;
    return 1;
}

static mn_status mn_filter_new_node(mn_filter_builder *b, uint8_t kind, uint32_t offset,
                                    uint32_t *index) {
    mn_filter *f = b->filter;
    if (f->node_count >= MN_FILTER_NODES_MAX) {
        mn_filter_error_set(b->error, MN_FILTER_ERROR_NODES, offset, NULL, 0, NULL,
                            "filter has more than %d conditions", MN_FILTER_NODES_MAX);
        return MN_ERR_TOO_LARGE;
    }
    if (!mn_filter_grow((void **)&f->nodes, &b->node_capacity, f->node_count + 1, sizeof *f->nodes))
        return mn_filter_oom(b);
    mn_filter_node *node = &f->nodes[f->node_count];
    memset(node, 0, sizeof *node);
    node->kind = kind;
    *index = f->node_count++;
    return MN_OK;
}

static mn_status mn_filter_push(mn_filter_builder *b, uint32_t node) {
    if (!mn_filter_grow((void **)&b->stack, &b->stack_capacity, b->stack_count + 1, sizeof *b->stack))
        return mn_filter_oom(b);
    b->stack[b->stack_count++] = node;
    return MN_OK;
}

/* Makes an AND/OR/NOT node whose children are the stack entries above `mark`, pops them. */
static mn_status mn_filter_make_parent(mn_filter_builder *b, uint8_t kind, uint32_t mark,
                                       uint32_t offset, uint32_t *index) {
    mn_filter *f = b->filter;
    uint32_t n = b->stack_count - mark;
    mn_status status = mn_filter_new_node(b, kind, offset, index);
    if (status != MN_OK) return status;
    if (!mn_filter_grow((void **)&f->children, &b->child_capacity, f->child_count + n,
                        sizeof *f->children))
        return mn_filter_oom(b);
    if (n) memcpy(f->children + f->child_count, b->stack + mark, (size_t)n * sizeof *f->children);
    f->nodes[*index].first = f->child_count;
    f->nodes[*index].count = n;
    f->child_count += n;
    b->stack_count = mark;
    return MN_OK;
}

static uint32_t mn_filter_pool_add(mn_filter *f, const char *bytes, uint32_t n) {
    uint32_t start = f->pool_bytes;
    MN_ASSERT((size_t)start + n <= f->pool_capacity);
    if (n) memcpy(f->pool + start, bytes, n);
    f->pool_bytes += n;
    return start;
}

static mn_status mn_filter_new_operand(mn_filter_builder *b, mn_filter_operand **out) {
    mn_filter *f = b->filter;
    if (!mn_filter_grow((void **)&f->operands, &b->operand_capacity, f->operand_count + 1,
                        sizeof *f->operands))
        return mn_filter_oom(b);
    *out = &f->operands[f->operand_count++];
    memset(*out, 0, sizeof **out);
    return MN_OK;
}

typedef struct mn_filter_leaf_context {
    uint32_t field;       /* MN_FILTER_FIELD_* */
    const char *name;     /* for errors */
    uint32_t name_bytes;
    uint32_t op;
} mn_filter_leaf_context;

static mn_status mn_filter_operand_error(mn_filter_builder *b, const mn_filter_leaf_context *leaf,
                                         const mn_json_value *v, const char *what) {
    mn_filter_error_set(b->error, MN_FILTER_ERROR_OPERAND_TYPE, v->offset, leaf->name,
                        leaf->name_bytes, mn_filter_op_string(leaf->op), "%s: %s",
                        mn_filter_op_string(leaf->op), what);
    return MN_ERR_INVALID;
}

/* Appends the compiled operand for the scalar JSON value `v`. */
static mn_status mn_filter_scalar(mn_filter_builder *b, const mn_filter_leaf_context *leaf,
                                  const mn_json_value *v) {
    const mn_json *json = b->json;
    switch (v->type) {
    case MN_JSON_NULL:
        return mn_filter_operand_error(b, leaf, v, "null is no value (test absence with $exists)");
    case MN_JSON_ARRAY:
        return mn_filter_operand_error(b, leaf, v, "a list is no value here (use $in for a set)");
    case MN_JSON_OBJECT: return mn_filter_operand_error(b, leaf, v, "an object is no value");
    default: break;
    }
    /* $exists takes a bool whatever the field ($exists on a built-in is always true). */
    int exists = leaf->op == MN_FILTER_OP_EXISTS;
    if (!exists && leaf->field == MN_FILTER_FIELD_ID && v->type != MN_JSON_STRING)
        return mn_filter_operand_error(b, leaf, v, "id is a string; compare it with strings");
    if (!exists && leaf->field == MN_FILTER_FIELD_CREATED_AT && v->type != MN_JSON_INT &&
        v->type != MN_JSON_STRING)
        return mn_filter_operand_error(
            b, leaf, v, "createdAt takes integer nanoseconds or an RFC 3339 date-time string");
    mn_filter_operand *o;
    mn_status status = mn_filter_new_operand(b, &o);
    if (status != MN_OK) return status;
    mn_filter *f = b->filter;
    switch (v->type) {
    case MN_JSON_FALSE:
    case MN_JSON_TRUE:
        o->type = MN_FILTER_VALUE_BOOL;
        o->u.b = v->type == MN_JSON_TRUE;
        break;
    case MN_JSON_INT:
        o->type = MN_FILTER_VALUE_INT;
        o->u.i = v->u.i;
        break;
    case MN_JSON_DOUBLE:
        o->type = MN_FILTER_VALUE_DOUBLE;
        o->u.d = v->u.d;
        break;
    case MN_JSON_STRING:
        if (leaf->field == MN_FILTER_FIELD_CREATED_AT) {
            int64_t ns;
            if (!mn_filter_parse_rfc3339(json->pool + v->u.s.start, v->u.s.bytes, &ns)) {
                f->operand_count--;
                mn_filter_error_set(b->error, MN_FILTER_ERROR_BAD_DATE, v->offset, leaf->name,
                                    leaf->name_bytes, mn_filter_op_string(leaf->op),
                                    "createdAt: not an RFC 3339 date-time in the int64 "
                                    "nanosecond range (like \"2026-11-01T00:00:00Z\")");
                return MN_ERR_INVALID;
            }
            o->type = MN_FILTER_VALUE_INT;
            o->u.i = ns;
            break;
        }
        o->type = MN_FILTER_VALUE_STRING;
        o->bytes = v->u.s.bytes;
        o->start = mn_filter_pool_add(f, json->pool + v->u.s.start, v->u.s.bytes);
        break;
    default: MN_ASSERT(0);
    }
    return MN_OK;
}

/* Kind order of $in operands: bools, numbers, strings. */
static int mn_filter_class(uint32_t type) {
    return type == MN_FILTER_VALUE_BOOL ? 0 : type == MN_FILTER_VALUE_STRING ? 2 : 1;
}

int mn_filter_compare_int_double(int64_t i, double d) {
    if (d != d) return 2;
    /* 2^63 is exact as a double; every double at or above it exceeds every int64. */
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    /* Now trunc(d) fits int64 exactly; compare integer parts, then the fraction's sign. */
    int64_t whole = (int64_t)d;
    if (i != whole) return i < whole ? -1 : 1;
    double fraction = d - (double)whole;
    return fraction > 0 ? -1 : fraction < 0 ? 1 : 0;
}

/* Orders two numeric operands exactly (no NaN here: the reader rejects it). */
static int mn_filter_compare_numbers(const mn_filter_operand *a, const mn_filter_operand *b) {
    if (a->type == MN_FILTER_VALUE_INT && b->type == MN_FILTER_VALUE_INT)
        return a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
    if (a->type == MN_FILTER_VALUE_DOUBLE && b->type == MN_FILTER_VALUE_DOUBLE)
        return a->u.d < b->u.d ? -1 : a->u.d > b->u.d;
    if (a->type == MN_FILTER_VALUE_INT) return mn_filter_compare_int_double(a->u.i, b->u.d);
    return -mn_filter_compare_int_double(b->u.i, a->u.d);
}

typedef struct mn_filter_operand_order {
    const mn_filter *filter;
} mn_filter_operand_order;

static int mn_filter_operand_less(const void *context, uint32_t x, uint32_t y) {
    const mn_filter *f = ((const mn_filter_operand_order *)context)->filter;
    const mn_filter_operand *a = &f->operands[x], *b = &f->operands[y];
    int ca = mn_filter_class(a->type), cb = mn_filter_class(b->type);
    if (ca != cb) return ca < cb;
    if (ca == 0) return a->u.b < b->u.b;
    if (ca == 1) return mn_filter_compare_numbers(a, b) < 0;
    uint32_t n = a->bytes < b->bytes ? a->bytes : b->bytes;
    int c = memcmp(f->pool + a->start, f->pool + b->start, n);
    return c ? c < 0 : a->bytes < b->bytes;
}

/* Sorts a $in/$nin list's operands in place and records where each kind lies. */
static mn_status mn_filter_sort_list(mn_filter_builder *b, mn_filter_node *node) {
    mn_filter *f = b->filter;
    uint32_t n = node->count;
    if (n == 0) return MN_OK;
    uint32_t *order = malloc((size_t)n * sizeof *order);
    mn_filter_operand *copy = malloc((size_t)n * sizeof *copy);
    if (!order || !copy) {
        free(order);
        free(copy);
        return mn_filter_oom(b);
    }
    for (uint32_t i = 0; i < n; i++) order[i] = node->first + i;
    mn_filter_operand_order context = {f};
    mn_filter_sort(order, n, mn_filter_operand_less, &context);
    for (uint32_t i = 0; i < n; i++) copy[i] = f->operands[order[i]];
    memcpy(f->operands + node->first, copy, (size_t)n * sizeof *copy);
    free(order);
    free(copy);
    node->numbers_first = node->strings_first = node->first + n;
    for (uint32_t i = 0; i < n; i++) {
        const mn_filter_operand *o = &f->operands[node->first + i];
        int c = mn_filter_class(o->type);
        if (c == 0) node->in_bools |= (uint8_t)(o->u.b ? 2 : 1);
        if (c == 1 && node->numbers_count++ == 0) node->numbers_first = node->first + i;
        if (c == 2 && node->strings_count++ == 0) node->strings_first = node->first + i;
    }
    return MN_OK;
}

/* Folds (ICONTAINS) and indexes (both) a substring operand: the KMP failure table gives, for
 * each prefix, the longest proper prefix that is also its suffix. */
static mn_status mn_filter_substring(mn_filter_builder *b, mn_filter_operand *o, int fold) {
    mn_filter *f = b->filter;
    char *s = f->pool + o->start;
    if (fold)
        for (uint32_t i = 0; i < o->bytes; i++)
            if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + ('a' - 'A'));
    if (!mn_filter_grow((void **)&f->kmp, &b->kmp_capacity, f->kmp_count + o->bytes, sizeof *f->kmp))
        return mn_filter_oom(b);
    uint32_t *fail = f->kmp + f->kmp_count;
    o->kmp = f->kmp_count;
    f->kmp_count += o->bytes;
    if (o->bytes) fail[0] = 0;
    uint32_t k = 0;
    for (uint32_t i = 1; i < o->bytes; i++) {
        while (k > 0 && s[i] != s[k]) k = fail[k - 1];
        if (s[i] == s[k]) k++;
        fail[i] = k;
    }
    return MN_OK;
}

static mn_status mn_filter_compile_leaf(mn_filter_builder *b, const mn_filter_leaf_context *leaf,
                                const mn_json_value *v, uint32_t name_start) {
    mn_filter *f = b->filter;
    uint32_t index;
    mn_status status = mn_filter_new_node(b, MN_FILTER_NODE_LEAF, v->offset, &index);
    if (status != MN_OK) return status;
    uint32_t first = f->operand_count;
    switch (leaf->op) {
    case MN_FILTER_OP_EQ:
    case MN_FILTER_OP_NE: status = mn_filter_scalar(b, leaf, v); break;
    case MN_FILTER_OP_IN:
    case MN_FILTER_OP_NIN:
        if (v->type != MN_JSON_ARRAY) return mn_filter_operand_error(b, leaf, v, "needs a list");
        for (uint32_t e = v->first; e && status == MN_OK; e = b->json->values[e].next)
            status = mn_filter_scalar(b, leaf, &b->json->values[e]);
        break;
    case MN_FILTER_OP_GT:
    case MN_FILTER_OP_GTE:
    case MN_FILTER_OP_LT:
    case MN_FILTER_OP_LTE:
        if (v->type != MN_JSON_INT && v->type != MN_JSON_DOUBLE && v->type != MN_JSON_STRING)
            return mn_filter_operand_error(b, leaf, v, "needs a number or a string");
        status = mn_filter_scalar(b, leaf, v);
        break;
    case MN_FILTER_OP_CONTAINS:
    case MN_FILTER_OP_ICONTAINS:
        if (leaf->field == MN_FILTER_FIELD_CREATED_AT)
            return mn_filter_operand_error(b, leaf, v, "createdAt is a time, not a string or list");
        if (v->type != MN_JSON_STRING) return mn_filter_operand_error(b, leaf, v, "needs a string");
        status = mn_filter_scalar(b, leaf, v);
        if (status == MN_OK)
            status = mn_filter_substring(b, &f->operands[first], leaf->op == MN_FILTER_OP_ICONTAINS);
        break;
    case MN_FILTER_OP_EXISTS:
        if (v->type != MN_JSON_TRUE && v->type != MN_JSON_FALSE)
            return mn_filter_operand_error(b, leaf, v, "needs true or false");
        status = mn_filter_scalar(b, leaf, v);
        break;
    default: MN_ASSERT(0);
    }
    if (status != MN_OK) return status;
    mn_filter_node *node = &f->nodes[index];
    node->op = (uint8_t)leaf->op;
    node->field = (uint8_t)leaf->field;
    node->first = first;
    node->count = f->operand_count - first;
    node->name_start = name_start;
    node->name_bytes = leaf->name_bytes;
    if (leaf->op == MN_FILTER_OP_IN || leaf->op == MN_FILTER_OP_NIN) {
        status = mn_filter_sort_list(b, node);
        if (status != MN_OK) return status;
    }
    return mn_filter_push(b, index);
}

/* A field's condition: `v` is a scalar ($eq shorthand) or an object of operators (an AND). */
static mn_status mn_filter_field(mn_filter_builder *b, const mn_json_value *member) {
    const mn_json *json = b->json;
    mn_filter *f = b->filter;
    const char *name = json->pool + member->key_start;
    uint32_t name_bytes = member->key_bytes;
    if (name_bytes == 0) {
        mn_filter_error_set(b->error, MN_FILTER_ERROR_FIELD_NAME, member->key_offset, NULL, 0, NULL,
                            "a field name is empty");
        return MN_ERR_INVALID;
    }
    if (name_bytes > MN_META_NAME_BYTES_MAX) {
        mn_filter_error_set(b->error, MN_FILTER_ERROR_NAME_LENGTH, member->key_offset, name,
                            name_bytes, NULL, "field name of %u bytes is over the %u-byte limit",
                            name_bytes, (unsigned)MN_META_NAME_BYTES_MAX);
        return MN_ERR_TOO_LARGE;
    }
    mn_filter_leaf_context leaf = {MN_FILTER_FIELD_META, name, name_bytes, MN_FILTER_OP_EQ};
    if (mn_filter_key_is(json, member, "id")) leaf.field = MN_FILTER_FIELD_ID;
    if (mn_filter_key_is(json, member, "createdAt")) leaf.field = MN_FILTER_FIELD_CREATED_AT;
    mn_meta_error name_error;
    if (leaf.field == MN_FILTER_FIELD_META &&
        mn_meta_name_validate(name, name_bytes, &name_error) != MN_OK) {
        /* A name no document can hold would silently match nothing (or everything, under
         * $ne): say so instead. */
        mn_filter_error_set(b->error, MN_FILTER_ERROR_FIELD_NAME, member->key_offset, name,
                            name_bytes, NULL, "field name is not a valid metadata name: %s",
                            name_error.reason ? name_error.reason : "invalid");
        return MN_ERR_INVALID;
    }
    uint32_t name_start = mn_filter_pool_add(f, name, name_bytes);
    if (member->type == MN_JSON_ARRAY)
        return mn_filter_operand_error(b, &leaf, member,
                                       "a field takes a value or an operator object (a list "
                                       "needs $in)");
    if (member->type != MN_JSON_OBJECT) return mn_filter_compile_leaf(b, &leaf, member, name_start);
    if (member->count == 0) {
        mn_filter_error_set(b->error, MN_FILTER_ERROR_EMPTY, member->offset, name, name_bytes, NULL,
                            "a field's operator object is empty");
        return MN_ERR_INVALID;
    }
    for (uint32_t m = member->first; m; m = json->values[m].next) {
        const mn_json_value *op = &json->values[m];
        leaf.op = 0;
        for (size_t i = 0; i < sizeof mn_filter_ops / sizeof mn_filter_ops[0]; i++)
            if (mn_filter_key_is(json, op, mn_filter_ops[i].name)) leaf.op = mn_filter_ops[i].op;
        if (!leaf.op) {
            char text[MN_FILTER_ERROR_OPERATOR_BYTES];
            mn_filter_key_text(json, op, text);
            mn_filter_error_set(b->error, MN_FILTER_ERROR_UNKNOWN_OPERATOR, op->key_offset, name,
                                name_bytes, text,
                                "\"%s\" is no field operator ($eq $ne $in $nin $gt $gte $lt $lte "
                                "$contains $icontains $exists)",
                                text);
            return MN_ERR_INVALID;
        }
        mn_status status = mn_filter_compile_leaf(b, &leaf, op, name_start);
        if (status != MN_OK) return status;
    }
    return MN_OK;
}

static mn_status mn_filter_object(mn_filter_builder *b, const mn_json_value *v, uint32_t depth,
                                  const char *context, uint32_t *index);

/* Pushes the conditions of filter object `v` (its implicit AND, flattened) on the stack. */
static mn_status mn_filter_conditions(mn_filter_builder *b, const mn_json_value *v, uint32_t depth,
                                      const char *context) {
    const mn_json *json = b->json;
    if (depth > MN_FILTER_DEPTH_MAX) {
        mn_filter_error_set(b->error, MN_FILTER_ERROR_DEPTH, v->offset, context, strlen(context),
                            NULL, "filter nested deeper than %d levels", MN_FILTER_DEPTH_MAX);
        return MN_ERR_TOO_LARGE;
    }
    if (v->type != MN_JSON_OBJECT) {
        mn_filter_error_set(b->error, MN_FILTER_ERROR_NOT_OBJECT, v->offset, context,
                            strlen(context), NULL, "a filter must be a JSON object");
        return MN_ERR_INVALID;
    }
    for (uint32_t m = v->first; m; m = json->values[m].next) {
        const mn_json_value *member = &json->values[m];
        mn_status status = MN_OK;
        if (member->key_bytes == 0 || json->pool[member->key_start] != '$') {
            status = mn_filter_field(b, member);
        } else if (mn_filter_key_is(json, member, "$and") || mn_filter_key_is(json, member, "$or")) {
            const char *name = json->pool[member->key_start + 1] == 'a' ? "$and" : "$or";
            if (member->type != MN_JSON_ARRAY) {
                mn_filter_error_set(b->error, MN_FILTER_ERROR_OPERAND_TYPE, member->offset, name,
                                    strlen(name), name, "%s needs a list of filters", name);
                return MN_ERR_INVALID;
            }
            if (member->count == 0) {
                mn_filter_error_set(b->error, MN_FILTER_ERROR_EMPTY, member->offset, name,
                                    strlen(name), name, "%s needs at least one filter", name);
                return MN_ERR_INVALID;
            }
            if (name[1] == 'a') {
                /* AND inside AND: its conditions join this object's directly. */
                for (uint32_t e = member->first; e && status == MN_OK; e = json->values[e].next)
                    status = mn_filter_conditions(b, &json->values[e], depth + 1, name);
            } else {
                uint32_t mark = b->stack_count, node;
                for (uint32_t e = member->first; e && status == MN_OK; e = json->values[e].next) {
                    status = mn_filter_object(b, &json->values[e], depth + 1, name, &node);
                    if (status == MN_OK) status = mn_filter_push(b, node);
                }
                if (status == MN_OK)
                    status = mn_filter_make_parent(b, MN_FILTER_NODE_OR, mark, member->offset, &node);
                if (status == MN_OK) status = mn_filter_push(b, node);
            }
        } else if (mn_filter_key_is(json, member, "$not")) {
            uint32_t mark = b->stack_count, node;
            status = mn_filter_object(b, member, depth + 1, "$not", &node);
            if (status == MN_OK) status = mn_filter_push(b, node);
            if (status == MN_OK)
                status = mn_filter_make_parent(b, MN_FILTER_NODE_NOT, mark, member->offset, &node);
            if (status == MN_OK) status = mn_filter_push(b, node);
        } else {
            char text[MN_FILTER_ERROR_OPERATOR_BYTES];
            mn_filter_key_text(json, member, text);
            int field_op = 0;
            for (size_t i = 0; i < sizeof mn_filter_ops / sizeof mn_filter_ops[0]; i++)
                field_op |= mn_filter_key_is(json, member, mn_filter_ops[i].name);
            mn_filter_error_set(b->error, MN_FILTER_ERROR_UNKNOWN_OPERATOR, member->key_offset,
                                context, strlen(context), text,
                                field_op ? "%s applies to a field: {\"field\": {\"%s\": ...}}"
                                         : "\"%s\" is no filter operator ($and $or $not)%s",
                                text, field_op ? text : "");
            return MN_ERR_INVALID;
        }
        if (status != MN_OK) return status;
    }
    return MN_OK;
}

/* Compiles filter object `v` into one node: its single condition, or an AND of them.
 * `context` names the logical operator holding it ("" for the root), for error reports. */
static mn_status mn_filter_object(mn_filter_builder *b, const mn_json_value *v, uint32_t depth,
                                  const char *context, uint32_t *index) {
    uint32_t mark = b->stack_count;
    mn_status status = mn_filter_conditions(b, v, depth, context);
    if (status != MN_OK) return status;
    if (b->stack_count - mark == 1) {
        *index = b->stack[--b->stack_count];
        return MN_OK;
    }
    return mn_filter_make_parent(b, MN_FILTER_NODE_AND, mark, v->offset, index);
}

mn_status mn_filter_parse(const char *json_text, size_t bytes, mn_filter **out,
                          mn_filter_error *error) {
    if (error) memset(error, 0, sizeof *error);
    if (!out || (!json_text && bytes)) {
        if (out) *out = NULL;
        mn_filter_error_set(error, MN_FILTER_ERROR_ARGUMENT, 0, NULL, 0, NULL,
                            "NULL filter text or out-parameter");
        return MN_ERR_INVALID;
    }
    *out = NULL;
    if (bytes > MN_FILTER_BYTES_MAX) {
        mn_filter_error_set(error, MN_FILTER_ERROR_BYTES, 0, NULL, 0, NULL,
                            "filter text of %zu bytes is over the %u-byte limit", bytes,
                            MN_FILTER_BYTES_MAX);
        return MN_ERR_TOO_LARGE;
    }
    mn_json json;
    mn_status status = mn_json_parse(json_text ? json_text : "", bytes, MN_FILTER_JSON_DEPTH_MAX,
                                     &json, error);
    if (status != MN_OK) return status;
    mn_filter *f = calloc(1, sizeof *f);
    mn_filter_builder b = {&json, f, 0, 0, 0, 0, NULL, 0, 0, error};
    if (!f) {
        status = mn_filter_oom(&b);
        goto done;
    }
    /* Names and strings copied from the text, plus nothing else: never more than the text. */
    f->pool = malloc(bytes + 1);
    f->pool_capacity = (uint32_t)bytes + 1;
    if (!f->pool) {
        status = mn_filter_oom(&b);
        goto done;
    }
    status = mn_filter_object(&b, &json.values[0], 1, "", &f->root);
    if (status == MN_OK) MN_ASSERT(b.stack_count == 0);
done:
    free(b.stack);
    mn_json_free(&json);
    if (status != MN_OK) {
        mn_filter_free(f);
        return status;
    }
    *out = f;
    return MN_OK;
}

mn_status mn_filter_free(mn_filter *filter) {
    if (!filter) return MN_OK;
    free(filter->nodes);
    free(filter->children);
    free(filter->operands);
    free(filter->pool);
    free(filter->kmp);
    free(filter);
    return MN_OK;
}

/* ---- Comparing and copying compiled filters ---- */

_Static_assert(sizeof(mn_filter_node) == 4 + 8 * sizeof(uint32_t), "mn_filter_node has no padding: memcmp");

static int mn_filter_operand_same(const mn_filter_operand *a, const mn_filter_operand *b) {
    if (a->type != b->type || a->bytes != b->bytes || a->start != b->start || a->kmp != b->kmp) return 0;
    switch (a->type) {
    case MN_FILTER_VALUE_INT: return a->u.i == b->u.i;
    case MN_FILTER_VALUE_DOUBLE: return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0; /* bits: -0, NaN */
    case MN_FILTER_VALUE_BOOL: return a->u.b == b->u.b;
    default: return 1; /* a string: its bytes are compared with the pool */
    }
}

int mn_filter_same(const mn_filter *a, const mn_filter *b) {
    if (a == b) return 1;
    if (a->node_count != b->node_count || a->root != b->root || a->child_count != b->child_count ||
        a->operand_count != b->operand_count || a->pool_bytes != b->pool_bytes || a->kmp_count != b->kmp_count)
        return 0;
    if (memcmp(a->nodes, b->nodes, a->node_count * sizeof(mn_filter_node)) != 0) return 0;
    if (a->child_count && memcmp(a->children, b->children, a->child_count * sizeof(uint32_t)) != 0) return 0;
    if (a->pool_bytes && memcmp(a->pool, b->pool, a->pool_bytes) != 0) return 0;
    if (a->kmp_count && memcmp(a->kmp, b->kmp, a->kmp_count * sizeof(uint32_t)) != 0) return 0;
    for (uint32_t i = 0; i < a->operand_count; i++)
        if (!mn_filter_operand_same(&a->operands[i], &b->operands[i])) return 0;
    return 1;
}

/* A copy of `count` items of `size` bytes (NULL for none); *failed set when out of memory. */
static void *mn_filter_dup(const void *items, size_t count, size_t size, int *failed) {
    if (count == 0) return NULL;
    void *copy = malloc(count * size);
    if (!copy) {
        *failed = 1;
        return NULL;
    }
    return memcpy(copy, items, count * size);
}

mn_filter *mn_filter_copy(const mn_filter *filter) {
    mn_filter *copy = calloc(1, sizeof *copy);
    if (!copy) return NULL;
    int failed = 0;
    *copy = *filter;
    copy->nodes = mn_filter_dup(filter->nodes, filter->node_count, sizeof(mn_filter_node), &failed);
    copy->children = mn_filter_dup(filter->children, filter->child_count, sizeof(uint32_t), &failed);
    copy->operands = mn_filter_dup(filter->operands, filter->operand_count, sizeof(mn_filter_operand), &failed);
    copy->pool = mn_filter_dup(filter->pool, filter->pool_bytes, 1, &failed);
    copy->pool_capacity = filter->pool_bytes;
    copy->kmp = mn_filter_dup(filter->kmp, filter->kmp_count, sizeof(uint32_t), &failed);
    if (failed) {
        mn_filter_free(copy);
        return NULL;
    }
    return copy;
}

/* ---- The tree API ---- */

uint32_t mn_filter_node_count(const mn_filter *filter) { return filter->node_count; }

uint32_t mn_filter_root(const mn_filter *filter) { return filter->root; }

uint32_t mn_filter_node_kind(const mn_filter *filter, uint32_t node) {
    MN_ASSERT(node < filter->node_count);
    return filter->nodes[node].kind;
}

uint32_t mn_filter_node_child_count(const mn_filter *filter, uint32_t node) {
    MN_ASSERT(node < filter->node_count);
    const mn_filter_node *n = &filter->nodes[node];
    return n->kind == MN_FILTER_NODE_LEAF ? 0 : n->count;
}

uint32_t mn_filter_node_child(const mn_filter *filter, uint32_t node, uint32_t index) {
    MN_ASSERT(node < filter->node_count);
    const mn_filter_node *n = &filter->nodes[node];
    MN_ASSERT(n->kind != MN_FILTER_NODE_LEAF && index < n->count);
    return filter->children[n->first + index];
}

void mn_filter_node_leaf(const mn_filter *filter, uint32_t node, mn_filter_leaf *out) {
    MN_ASSERT(node < filter->node_count);
    const mn_filter_node *n = &filter->nodes[node];
    MN_ASSERT(n->kind == MN_FILTER_NODE_LEAF);
    out->field = n->field;
    out->op = n->op;
    out->name = filter->pool + n->name_start;
    out->name_bytes = n->name_bytes;
    out->value_count = n->count;
}

void mn_filter_leaf_value(const mn_filter *filter, uint32_t node, uint32_t index,
                          mn_filter_value *out) {
    MN_ASSERT(node < filter->node_count);
    const mn_filter_node *n = &filter->nodes[node];
    MN_ASSERT(n->kind == MN_FILTER_NODE_LEAF && index < n->count);
    const mn_filter_operand *o = &filter->operands[n->first + index];
    memset(out, 0, sizeof *out);
    out->type = o->type;
    switch (o->type) {
    case MN_FILTER_VALUE_STRING:
        out->string = filter->pool + o->start;
        out->bytes = o->bytes;
        break;
    case MN_FILTER_VALUE_INT: out->i = o->u.i; break;
    case MN_FILTER_VALUE_DOUBLE: out->d = o->u.d; break;
    case MN_FILTER_VALUE_BOOL: out->b = o->u.b; break;
    default: MN_ASSERT(0);
    }
}

static double mn_filter_clamp(double p) { return p > 1 ? 1 : p >= 0 ? p : 0; }

static mn_status mn_filter_estimate_node(const mn_filter *filter, uint32_t node,
                                         mn_filter_fraction_fn fn, void *context, double *out) {
    const mn_filter_node *n = &filter->nodes[node];
    mn_status status = MN_OK;
    double p;
    switch (n->kind) {
    case MN_FILTER_NODE_LEAF:
        p = 1;
        status = fn(context, filter, node, &p);
        *out = mn_filter_clamp(p);
        return status;
    case MN_FILTER_NODE_NOT:
        status = mn_filter_estimate_node(filter, filter->children[n->first], fn, context, &p);
        *out = 1 - p;
        return status;
    case MN_FILTER_NODE_AND: {
        double product = 1;
        for (uint32_t i = 0; i < n->count && status == MN_OK; i++) {
            status = mn_filter_estimate_node(filter, filter->children[n->first + i], fn, context, &p);
            product *= p;
        }
        *out = product;
        return status;
    }
    case MN_FILTER_NODE_OR: {
        double miss = 1;
        for (uint32_t i = 0; i < n->count && status == MN_OK; i++) {
            status = mn_filter_estimate_node(filter, filter->children[n->first + i], fn, context, &p);
            miss *= 1 - p;
        }
        *out = 1 - miss;
        return status;
    }
    default: MN_ASSERT(0);
    }
    return MN_ERR_INVALID;
}

mn_status mn_filter_estimate(const mn_filter *filter, mn_filter_fraction_fn fn, void *context,
                             double *fraction) {
    if (!filter || !fn || !fraction) return MN_ERR_INVALID;
    double p = 1;
    mn_status status = mn_filter_estimate_node(filter, filter->root, fn, context, &p);
    *fraction = mn_filter_clamp(p);
    return status;
}

/* ---- RFC 3339 ---- */

static int mn_filter_digits(const char *s, size_t n, int *value) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count in 400-year eras
 * (146097 days each) of years starting on March 1, so the leap day falls at a year's end. */
static int64_t mn_filter_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;
    int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

int mn_filter_parse_rfc3339(const char *s, size_t n, int64_t *ns) {
    /* date-time = YYYY-MM-DD "T" hh:mm:ss [. fraction] ( "Z" / +hh:mm / -hh:mm ) */
    int year, month, day, hour, minute, second;
    if (n < 20) return 0;
    if (!mn_filter_digits(s, 4, &year) || s[4] != '-' || !mn_filter_digits(s + 5, 2, &month) ||
        s[7] != '-' || !mn_filter_digits(s + 8, 2, &day) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !mn_filter_digits(s + 11, 2, &hour) ||
        s[13] != ':' || !mn_filter_digits(s + 14, 2, &minute) || s[16] != ':' ||
        !mn_filter_digits(s + 17, 2, &second))
        return 0;
    static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1]) return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month == 2 && day == 29 && !leap) return 0;
    /* Second 60 is a leap second (RFC 3339 allows it); POSIX time has none, so it reads as the
     * first second of the next minute. */
    if (hour > 23 || minute > 59 || second > 60) return 0;
    size_t i = 19;
    int64_t fraction = 0;
    if (s[i] == '.') {
        i++;
        size_t digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            /* Digits past the ninth are finer than a nanosecond: truncated. */
            if (digits < 9) fraction = fraction * 10 + (s[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0) return 0;
        for (size_t k = digits; k < 9; k++) fraction *= 10;
    }
    if (i >= n) return 0;
    int64_t offset_s = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (n - i < 6 || !mn_filter_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !mn_filter_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        offset_s = (int64_t)oh * 3600 + om * 60;
        if (s[i] == '+') offset_s = -offset_s; /* local time ahead of UTC: subtract */
        i += 6;
    } else {
        return 0;
    }
    if (i != n) return 0;
    int64_t seconds = mn_filter_days_from_civil(year, month, day) * 86400 + (int64_t)hour * 3600 +
                      (int64_t)minute * 60 + second + offset_s;
    /* Before 1970 with a fraction, borrow a second first: the earliest instant, INT64_MIN ns,
     * is -9223372037 s + 0.145224192 s, and -9223372037 s alone overflows. */
    if (seconds < 0 && fraction > 0) {
        seconds += 1;
        fraction -= 1000000000;
    }
    int64_t total;
    if (__builtin_mul_overflow(seconds, (int64_t)1000000000, &total) ||
        __builtin_add_overflow(total, fraction, &total))
        return 0;
    *ns = total;
    return 1;
}
