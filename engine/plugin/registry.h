/* registry.h - every descriptor that plugins registered, by kind, tagged with the plugin that
 * registered it so that a failed plugin's registrations can be rolled back.
 * Descriptors are borrowed (static const data in their .so) and never copied or freed. */
#ifndef ENAS_ENGINE_REGISTRY_H
#define ENAS_ENGINE_REGISTRY_H

#include <stddef.h>

#include "enas/plugin.h"

struct enas_config;

enum enas_kind { ENAS_KIND_OP, ENAS_KIND_SPACE, ENAS_KIND_LOSS, ENAS_KIND_REWARD, ENAS_KIND_BACKEND };
#define ENAS_N_KINDS 5

/* One registration. Valid until the registry changes (add, rollback) or is destroyed. */
struct enas_reg_entry {
    enum enas_kind kind;
    const char *name;        /* the descriptor's name */
    const char *provider;    /* ops: the descriptor's provider; other kinds: NULL */
    const char *description; /* spaces, losses, rewards, backends: may be NULL; ops: NULL */
    const void *desc;        /* const struct enas_<kind>_desc * */
    int plugin_id;           /* 0: registered by the engine itself (tests, built-ins) */
    const char *owner;       /* the registering plugin's path (registry-owned copy), or "engine" */
};

struct enas_registry;

enum enas_status enas__registry_create(struct enas_registry **out, struct enas_err *err);
void enas__registry_destroy(struct enas_registry *reg); /* accepts NULL */

/* "op", "space", "loss", "reward", "backend" (singular) and the plural for lists. */
const char *enas__registry_kind_name(enum enas_kind kind);
const char *enas__registry_kind_plural(enum enas_kind kind);

/* Validate d (abi_version, struct_size, required members, names, description, settings table) and add
 * it, tagged with plugin_id and owner (copied). Errors (nothing added):
 *   ENAS_ERR_ABI          "loss descriptor: ABI mismatch (plugin 99, engine 1)"
 *   ENAS_ERR_INVALID_ARG  "space 'micro': missing required member 'forward'", bad name, small struct,
 *                         a description longer than ENAS__TEXT_MAX or not one line, bad settings table
 *                         (names the key), and duplicates:
 *                         "op 'conv' (provider 'ref') already registered by 'PATH'". */
enum enas_status enas__registry_add_op(struct enas_registry *reg, const struct enas_op_desc *d, int plugin_id,
                                       const char *owner, struct enas_err *err);
enum enas_status enas__registry_add_space(struct enas_registry *reg, const struct enas_space_desc *d,
                                          int plugin_id, const char *owner, struct enas_err *err);
enum enas_status enas__registry_add_loss(struct enas_registry *reg, const struct enas_loss_desc *d,
                                         int plugin_id, const char *owner, struct enas_err *err);
enum enas_status enas__registry_add_reward(struct enas_registry *reg, const struct enas_reward_desc *d,
                                           int plugin_id, const char *owner, struct enas_err *err);
enum enas_status enas__registry_add_backend(struct enas_registry *reg, const struct enas_backend_desc *d,
                                            int plugin_id, const char *owner, struct enas_err *err);

/* Removes every entry of plugin_id (keeps the others in order). */
void enas__registry_rollback(struct enas_registry *reg, int plugin_id);

/* Lookups by name. Not found: NULL and ENAS_ERR_NOT_FOUND
 *   "no space named 'x'; registered spaces: macro, micro"  (or "...; none are registered; check
 * --plugin-dir") */
const struct enas_space_desc *enas__registry_find_space(const struct enas_registry *reg, const char *name,
                                                        struct enas_err *err);
const struct enas_loss_desc *enas__registry_find_loss(const struct enas_registry *reg, const char *name,
                                                      struct enas_err *err);
const struct enas_reward_desc *enas__registry_find_reward(const struct enas_registry *reg, const char *name,
                                                          struct enas_err *err);
const struct enas_backend_desc *enas__registry_find_backend(const struct enas_registry *reg, const char *name,
                                                            struct enas_err *err);

/* The op that serves name under backend (may be NULL: no backend selected):
 *   1. (name, backend) is registered: that one;
 *   2. else name comes only from providers that are not registered backends (op plugins): that one,
 *      or, with several such providers, ENAS_ERR_NOT_FOUND naming them;
 *   3. else ENAS_ERR_NOT_FOUND "op 'N' is not provided by backend 'B'; providers that have it: ref, onednn"
 *      (or "no op named 'N'; registered ops: ..." when nobody has it).
 * With backend NULL, rule 1 is skipped and a name with exactly one provider is served by it. */
const struct enas_reg_entry *enas__registry_find_op(const struct enas_registry *reg, const char *name,
                                                    const char *backend, struct enas_err *err);

/* The entry of (kind, name) (for ops: the first of that name), or NULL; sets no error. */
const struct enas_reg_entry *enas__registry_find(const struct enas_registry *reg, enum enas_kind kind,
                                                 const char *name);

/* Iteration in registration order: entries 0 .. count-1. */
size_t enas__registry_count(const struct enas_registry *reg);
const struct enas_reg_entry *enas__registry_entry(const struct enas_registry *reg, size_t i);

/* For every registered space, loss, reward and backend that declares settings:
 * enas__config_add_section(c, name, owner, settings, n_settings). Call once, after loading. */
enum enas_status enas__registry_declare_sections(const struct enas_registry *reg, struct enas_config *c,
                                                 struct enas_err *err);

#endif
