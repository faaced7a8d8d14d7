/* registry.c - validated descriptors by kind, each tagged with the plugin that registered it.
 * Entries stay in registration order, which the sorted load order makes reproducible; lookups are
 * linear because a run registers a few dozen descriptors. */
#include "plugin/registry.h"

#include "settings/config.h"
#include "settings/schema.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct reg_item {
    struct enas_reg_entry pub;
    char *owner; /* pub.owner points here */
};

struct enas_registry {
    struct reg_item *items;
    size_t n, cap;
};

/* Bytes of a descriptor up to and including its last member that this engine reads. */
#define NEED(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

enum enas_status enas__registry_create(struct enas_registry **out, struct enas_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return enas_err_set(err, ENAS_ERR_NOMEM, "registry: out of memory");
    return ENAS_OK;
}

void enas__registry_destroy(struct enas_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        free(reg->items[i].owner);
    free(reg->items);
    free(reg);
}

const char *enas__registry_kind_name(enum enas_kind kind)
{
    static const char *const names[ENAS_N_KINDS] = {"op", "space", "loss", "reward", "backend"};
    return (unsigned)kind < ENAS_N_KINDS ? names[kind] : "?";
}

const char *enas__registry_kind_plural(enum enas_kind kind)
{
    static const char *const names[ENAS_N_KINDS] = {"ops", "spaces", "losses", "rewards", "backends"};
    return (unsigned)kind < ENAS_N_KINDS ? names[kind] : "?";
}

/* abi_version, struct_size, name. The name is read only once the first two are known good. */
static enum enas_status check_head(enum enas_kind kind, unsigned abi, size_t size, size_t need,
                                   struct enas_err *err)
{
    if (abi != ENAS_ABI_VERSION)
        return enas_err_set(err, ENAS_ERR_ABI, "%s descriptor: ABI mismatch (plugin %u, engine %d)",
                            enas__registry_kind_name(kind), abi, ENAS_ABI_VERSION);
    if (size < need)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG,
                            "%s descriptor: struct_size %zu is smaller than the %zu bytes this engine reads",
                            enas__registry_kind_name(kind), size, need);
    return ENAS_OK;
}

static enum enas_status check_name(enum enas_kind kind, const char *what, const char *name,
                                   struct enas_err *err)
{
    char head[64];
    snprintf(head, sizeof head, "%s %s", enas__registry_kind_name(kind), what);
    return enas__schema_is_name(name) ? ENAS_OK : enas__schema_bad_name(head, name, err);
}

/* A description (spaces, losses, rewards, backends): optional, one line for `enas plugins`. */
static enum enas_status check_description(enum enas_kind kind, const char *name, const char *d,
                                          struct enas_err *err)
{
    char owner[100];
    snprintf(owner, sizeof owner, "%s '%s'", enas__registry_kind_name(kind), name);
    return enas__schema_check_text(owner, "description", d, 1, err);
}

static enum enas_status missing(enum enas_kind kind, const char *name, const char *member,
                                struct enas_err *err)
{
    return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s '%s': missing required member '%s'",
                        enas__registry_kind_name(kind), name, member);
}

#define REQUIRE(kind, d, member)                                                                             \
    do {                                                                                                     \
        if (!(d)->member)                                                                                    \
            return missing(kind, (d)->name, #member, err);                                                   \
    } while (0)

static enum enas_status null_desc(enum enas_kind kind, struct enas_err *err)
{
    return enas_err_set(err, ENAS_ERR_INVALID_ARG, "register_%s: descriptor is NULL",
                        enas__registry_kind_name(kind));
}

static const struct reg_item *find_item(const struct enas_registry *reg, enum enas_kind kind,
                                        const char *name, const char *provider)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct enas_reg_entry *e = &reg->items[i].pub;
        if (e->kind == kind && strcmp(e->name, name) == 0 &&
            (!provider || (e->provider && strcmp(e->provider, provider) == 0)))
            return &reg->items[i];
    }
    return NULL;
}

/* Checks uniqueness and appends. */
static enum enas_status add_entry(struct enas_registry *reg, const struct enas_reg_entry *e,
                                  struct enas_err *err)
{
    const struct reg_item *dup = find_item(reg, e->kind, e->name, e->provider);
    if (dup && e->provider)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s '%s' (provider '%s') already registered by '%s'",
                            enas__registry_kind_name(e->kind), e->name, e->provider, dup->pub.owner);
    if (dup)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "%s '%s' already registered by '%s'",
                            enas__registry_kind_name(e->kind), e->name, dup->pub.owner);
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? 2 * reg->cap : 32;
        struct reg_item *items = realloc(reg->items, cap * sizeof *items);
        if (!items)
            return enas_err_set(err, ENAS_ERR_NOMEM, "registry: out of memory");
        reg->items = items;
        reg->cap = cap;
    }
    struct reg_item *it = &reg->items[reg->n];
    it->owner = strdup(e->owner ? e->owner : "engine");
    if (!it->owner)
        return enas_err_set(err, ENAS_ERR_NOMEM, "registry: out of memory");
    it->pub = *e;
    it->pub.owner = it->owner;
    reg->n++;
    return ENAS_OK;
}

static enum enas_status check_settings(enum enas_kind kind, const char *name, const struct enas_setting *t,
                                       size_t n, struct enas_err *err)
{
    char what[160];
    snprintf(what, sizeof what, "%s '%s'", enas__registry_kind_name(kind), name);
    return enas__schema_validate(t, n, what, err);
}

/* What every descriptor is checked for first: not NULL, its ABI version and size (up to member `last`), a
 * valid name. Returns from the caller on failure. */
#define CHECK_HEAD(kind, d, type, last)                                                                      \
    do {                                                                                                     \
        if (!(d))                                                                                            \
            return null_desc(kind, err);                                                                     \
        enum enas_status h_ = check_head(kind, (d)->abi_version, (d)->struct_size, NEED(type, last), err);   \
        if (h_ == ENAS_OK)                                                                                   \
            h_ = check_name(kind, "name", (d)->name, err);                                                   \
        if (h_ != ENAS_OK)                                                                                   \
            return h_;                                                                                       \
    } while (0)

/* ...and last: its description, its settings table, then the entry itself. */
static enum enas_status settings_then_add(struct enas_registry *reg, const struct enas_reg_entry *e,
                                          const struct enas_setting *t, size_t n, struct enas_err *err)
{
    enum enas_status st = check_description(e->kind, e->name, e->description, err);
    if (st == ENAS_OK)
        st = check_settings(e->kind, e->name, t, n, err);
    return st == ENAS_OK ? add_entry(reg, e, err) : st;
}

/* The entry of a space, loss, reward or backend (the kinds with a description and settings). */
static enum enas_status add_described(struct enas_registry *reg, enum enas_kind k, const char *name,
                                      const char *description, const void *d, const struct enas_setting *t,
                                      size_t n, int plugin_id, const char *owner, struct enas_err *err)
{
    const struct enas_reg_entry e = {.kind = k,
                                     .name = name,
                                     .description = description,
                                     .desc = d,
                                     .plugin_id = plugin_id,
                                     .owner = owner};
    return settings_then_add(reg, &e, t, n, err);
}

enum enas_status enas__registry_add_op(struct enas_registry *reg, const struct enas_op_desc *d, int plugin_id,
                                       const char *owner, struct enas_err *err)
{
    const enum enas_kind k = ENAS_KIND_OP;
    CHECK_HEAD(k, d, struct enas_op_desc, destroy);
    if (!enas__schema_is_name(d->provider)) {
        char head[100];
        snprintf(head, sizeof head, "op '%s': provider", d->name);
        return enas__schema_bad_name(head, d->provider, err);
    }
    REQUIRE(k, d, create);
    REQUIRE(k, d, shape);
    REQUIRE(k, d, forward);
    REQUIRE(k, d, destroy);
    if (d->min_inputs > d->max_inputs)
        return enas_err_set(err, ENAS_ERR_INVALID_ARG, "op '%s': min_inputs %u is larger than max_inputs %u",
                            d->name, d->min_inputs, d->max_inputs);
    const struct enas_reg_entry e = {.kind = k,
                                     .name = d->name,
                                     .provider = d->provider,
                                     .desc = d,
                                     .plugin_id = plugin_id,
                                     .owner = owner};
    return settings_then_add(reg, &e, d->attrs, d->n_attrs, err);
}

enum enas_status enas__registry_add_space(struct enas_registry *reg, const struct enas_space_desc *d,
                                          int plugin_id, const char *owner, struct enas_err *err)
{
    const enum enas_kind k = ENAS_KIND_SPACE;
    CHECK_HEAD(k, d, struct enas_space_desc, destroy);
    REQUIRE(k, d, create);
    REQUIRE(k, d, n_decisions);
    REQUIRE(k, d, decision);
    REQUIRE(k, d, forward);
    REQUIRE(k, d, info);
    REQUIRE(k, d, destroy);
    return add_described(reg, k, d->name, d->description, d, d->settings, d->n_settings, plugin_id, owner,
                         err);
}

enum enas_status enas__registry_add_loss(struct enas_registry *reg, const struct enas_loss_desc *d,
                                         int plugin_id, const char *owner, struct enas_err *err)
{
    const enum enas_kind k = ENAS_KIND_LOSS;
    CHECK_HEAD(k, d, struct enas_loss_desc, destroy);
    REQUIRE(k, d, compute);
    return add_described(reg, k, d->name, d->description, d, d->settings, d->n_settings, plugin_id, owner,
                         err);
}

enum enas_status enas__registry_add_reward(struct enas_registry *reg, const struct enas_reward_desc *d,
                                           int plugin_id, const char *owner, struct enas_err *err)
{
    const enum enas_kind k = ENAS_KIND_REWARD;
    CHECK_HEAD(k, d, struct enas_reward_desc, destroy);
    REQUIRE(k, d, compute);
    return add_described(reg, k, d->name, d->description, d, d->settings, d->n_settings, plugin_id, owner,
                         err);
}

enum enas_status enas__registry_add_backend(struct enas_registry *reg, const struct enas_backend_desc *d,
                                            int plugin_id, const char *owner, struct enas_err *err)
{
    const enum enas_kind k = ENAS_KIND_BACKEND;
    CHECK_HEAD(k, d, struct enas_backend_desc, fini);
    return add_described(reg, k, d->name, d->description, d, d->settings, d->n_settings, plugin_id, owner,
                         err);
}

void enas__registry_rollback(struct enas_registry *reg, int plugin_id)
{
    size_t w = 0;
    for (size_t i = 0; i < reg->n; i++) {
        if (reg->items[i].pub.plugin_id == plugin_id) {
            free(reg->items[i].owner);
            continue;
        }
        reg->items[w++] = reg->items[i];
    }
    reg->n = w;
}

/* Appends s to buf (", "-separated), truncating quietly. */
static void list_add(char *buf, size_t cap, const char *s)
{
    size_t len = strlen(buf);
    if (len + 1 < cap)
        snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", s);
}

/* Names of every entry of kind, each once, registration order. */
static void list_names(const struct enas_registry *reg, enum enas_kind kind, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < reg->n; i++) {
        const struct enas_reg_entry *e = &reg->items[i].pub;
        if (e->kind != kind || find_item(reg, kind, e->name, NULL) != &reg->items[i])
            continue;
        list_add(buf, cap, e->name);
    }
}

static const void *find_desc(const struct enas_registry *reg, enum enas_kind kind, const char *name,
                             struct enas_err *err)
{
    const struct reg_item *it = name ? find_item(reg, kind, name, NULL) : NULL;
    if (it)
        return it->pub.desc;
    char names[400];
    list_names(reg, kind, names, sizeof names);
    if (!names[0])
        enas_err_set(err, ENAS_ERR_NOT_FOUND, "no %s named '%s'; none are registered; check --plugin-dir",
                     enas__registry_kind_name(kind), name ? name : "");
    else
        enas_err_set(err, ENAS_ERR_NOT_FOUND, "no %s named '%s'; registered %s: %s",
                     enas__registry_kind_name(kind), name ? name : "", enas__registry_kind_plural(kind),
                     names);
    return NULL;
}

const struct enas_space_desc *enas__registry_find_space(const struct enas_registry *reg, const char *name,
                                                        struct enas_err *err)
{
    return find_desc(reg, ENAS_KIND_SPACE, name, err);
}

const struct enas_loss_desc *enas__registry_find_loss(const struct enas_registry *reg, const char *name,
                                                      struct enas_err *err)
{
    return find_desc(reg, ENAS_KIND_LOSS, name, err);
}

const struct enas_reward_desc *enas__registry_find_reward(const struct enas_registry *reg, const char *name,
                                                          struct enas_err *err)
{
    return find_desc(reg, ENAS_KIND_REWARD, name, err);
}

const struct enas_backend_desc *enas__registry_find_backend(const struct enas_registry *reg, const char *name,
                                                            struct enas_err *err)
{
    return find_desc(reg, ENAS_KIND_BACKEND, name, err);
}

const struct enas_reg_entry *enas__registry_find_op(const struct enas_registry *reg, const char *name,
                                                    const char *backend, struct enas_err *err)
{
    const struct enas_reg_entry *third = NULL, *any = NULL;
    size_t n_all = 0, n_third = 0;
    char all[400] = "", thirds[400] = "";
    for (size_t i = 0; name && i < reg->n; i++) {
        const struct enas_reg_entry *e = &reg->items[i].pub;
        if (e->kind != ENAS_KIND_OP || strcmp(e->name, name) != 0)
            continue;
        if (backend && strcmp(e->provider, backend) == 0)
            return e;
        any = e;
        n_all++;
        list_add(all, sizeof all, e->provider);
        if (!find_item(reg, ENAS_KIND_BACKEND, e->provider, NULL)) {
            third = e;
            n_third++;
            list_add(thirds, sizeof thirds, e->provider);
        }
    }
    if (n_all == 0) {
        char names[400];
        list_names(reg, ENAS_KIND_OP, names, sizeof names);
        enas_err_set(err, ENAS_ERR_NOT_FOUND, "no op named '%s'; %s%s", name ? name : "",
                     names[0] ? "registered ops: " : "none are registered; check --plugin-dir", names);
        return NULL;
    }
    if (n_third == n_all && n_third == 1)
        return third;
    if (!backend && n_all == 1)
        return any;
    if (n_third == n_all)
        enas_err_set(err, ENAS_ERR_NOT_FOUND,
                     "op '%s' is provided by several op plugins (%s); remove all but one", name, thirds);
    else if (!backend)
        enas_err_set(err, ENAS_ERR_NOT_FOUND, "op '%s' has several providers (%s) and no backend is selected",
                     name, all);
    else
        enas_err_set(err, ENAS_ERR_NOT_FOUND,
                     "op '%s' is not provided by backend '%s'; providers that have it: %s", name, backend,
                     all);
    return NULL;
}

const struct enas_reg_entry *enas__registry_find(const struct enas_registry *reg, enum enas_kind kind,
                                                 const char *name)
{
    const struct reg_item *it = name ? find_item(reg, kind, name, NULL) : NULL;
    return it ? &it->pub : NULL;
}

size_t enas__registry_count(const struct enas_registry *reg)
{
    return reg ? reg->n : 0;
}

const struct enas_reg_entry *enas__registry_entry(const struct enas_registry *reg, size_t i)
{
    return reg && i < reg->n ? &reg->items[i].pub : NULL;
}

static void settings_of(const struct enas_reg_entry *e, const struct enas_setting **t, size_t *n)
{
    switch (e->kind) {
    case ENAS_KIND_SPACE: {
        const struct enas_space_desc *d = e->desc;
        *t = d->settings, *n = d->n_settings;
        return;
    }
    case ENAS_KIND_LOSS: {
        const struct enas_loss_desc *d = e->desc;
        *t = d->settings, *n = d->n_settings;
        return;
    }
    case ENAS_KIND_REWARD: {
        const struct enas_reward_desc *d = e->desc;
        *t = d->settings, *n = d->n_settings;
        return;
    }
    case ENAS_KIND_BACKEND: {
        const struct enas_backend_desc *d = e->desc;
        *t = d->settings, *n = d->n_settings;
        return;
    }
    case ENAS_KIND_OP:
        break;
    }
    *t = NULL, *n = 0;
}

enum enas_status enas__registry_declare_sections(const struct enas_registry *reg, struct enas_config *c,
                                                 struct enas_err *err)
{
    for (size_t i = 0; i < reg->n; i++) {
        const struct enas_reg_entry *e = &reg->items[i].pub;
        const struct enas_setting *t;
        size_t n;
        settings_of(e, &t, &n);
        if (n == 0)
            continue;
        enum enas_status st = enas__config_add_section(c, e->name, e->owner, t, n, err);
        if (st != ENAS_OK)
            return st;
    }
    return ENAS_OK;
}
