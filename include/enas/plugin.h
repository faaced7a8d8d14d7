/* plugin.h - the entry point every plugin exports, and the host API table it is called with.
 * A plugin links nothing from the engine: everything it needs comes through this table. */
#ifndef ENAS_PLUGIN_H
#define ENAS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "enas/abi.h"
#include "enas/backend.h"
#include "enas/exec.h"
#include "enas/loss.h"
#include "enas/op.h"
#include "enas/param.h"
#include "enas/reward.h"
#include "enas/settings.h"
#include "enas/space.h"
#include "enas/status.h"
#include "enas/tensor.h"

/* The engine instance a plugin talks to. Opaque. */
struct enas_host;

enum enas_log_level { ENAS_LOG_ERROR, ENAS_LOG_WARN, ENAS_LOG_INFO, ENAS_LOG_DEBUG };

/* The host API. Members are only ever added at the end; check struct_size before using a member that
 * a later ABI added. Unless a member says otherwise it may be called from the thread that called the
 * plugin, at any time after enas_plugin_init returned. */
struct enas_host_api {
    unsigned abi_version; /* ENAS_ABI_VERSION of the engine */
    size_t struct_size;   /* sizeof(struct enas_host_api) of the engine */

    /* Registration, only while enas_plugin_init runs. Each checks the descriptor's abi_version,
     * struct_size, required members and name, and that the name is free; a failure names the
     * descriptor and leaves nothing registered. The descriptor must outlive the plugin (static const). */
    enum enas_status (*register_op)(struct enas_host *h, const struct enas_op_desc *d, struct enas_err *err);
    enum enas_status (*register_space)(struct enas_host *h, const struct enas_space_desc *d,
                                       struct enas_err *err);
    enum enas_status (*register_loss)(struct enas_host *h, const struct enas_loss_desc *d,
                                      struct enas_err *err);
    enum enas_status (*register_reward)(struct enas_host *h, const struct enas_reward_desc *d,
                                        struct enas_err *err);
    enum enas_status (*register_backend)(struct enas_host *h, const struct enas_backend_desc *d,
                                         struct enas_err *err);

    /* Logging through the engine (respects --quiet/--verbose; prefixes the plugin's file name). */
    void (*log)(struct enas_host *h, enum enas_log_level level, const char *fmt, ...) ENAS_PRINTF(3, 4);

    /* Memory the engine may free or account for: 64-byte aligned; NULL when out of memory. */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);

    /* Settings of the plugin's section (or an op's attributes). The key must be one the descriptor
     * declared with the matching type; anything else is a bug, logged, and reads as 0 / "". */
    int64_t (*cfg_int)(const struct enas_cfg *c, const char *key);
    double (*cfg_float)(const struct enas_cfg *c, const char *key);
    int (*cfg_bool)(const struct enas_cfg *c, const char *key);
    const char *(*cfg_string)(const struct enas_cfg *c, const char *key);

    /* Creates a parameter "<scope>.<name>" with the given shape (shape->data ignored) and initial
     * value, owned by the engine until the run ends. */
    enum enas_status (*param_create)(struct enas_host *h, const char *scope, const char *name,
                                     const struct enas_tensor *shape, const struct enas_init *init,
                                     unsigned flags, struct enas_param **out, struct enas_err *err);

    /* Ops for spaces. attrs is "key=value key=value" (validated against the op's attrs table); the
     * provider is chosen by the backend setting. op_call runs forward (and, in training, records the
     * call for backward); *out is engine-owned storage valid until the step ends. */
    enum enas_status (*op_create)(struct enas_host *h, const char *name, const char *attrs, const char *scope,
                                  struct enas_op **out, struct enas_err *err);
    void (*op_destroy)(struct enas_op *op);
    enum enas_status (*op_call)(struct enas_exec *x, struct enas_op *op, const struct enas_tensor *const *in,
                                size_t n_in, double arg, struct enas_tensor **out, struct enas_err *err);
    double (*op_madds)(struct enas_op *op, const struct enas_tensor *const *in, size_t n_in);
    /* Number of trainable weights of an op instance (buffers excluded). */
    int64_t (*op_param_count)(struct enas_op *op);

    /* Random numbers for initialisation, from the run's seeded stream. */
    uint64_t (*rng_u64)(struct enas_host *h);

    /* ABI 1.1: check ENAS_API_HAS(api, release) before calling.
     * A promise from a space: t (an op_call output of this pass) goes to no further op_call in this pass.
     * Its memory is reused at once when no recorded backward reads its data (see enas_op_desc.bwd_flags),
     * else at the end of the pass; its data pointer becomes NULL when freed. Releasing is optional,
     * only saves memory, and does nothing for a tensor the step did not make. */
    void (*release)(struct enas_exec *x, const struct enas_tensor *t);

    /* ABI 1.3: check ENAS_API_HAS(api, grad_accumulates) before calling.
     * Inside the backward of an op whose descriptor sets ENAS_OP_BWD_ACCUMULATE: 1 when din[i] already
     * holds gradient from other readers of in[i], so that backward must ADD (+=) its gradient into it;
     * 0 when din[i] is to be overwritten as usual. Always 0 for other ops and outside backward. */
    int (*grad_accumulates)(const struct enas_exec *x, size_t i);

    /* ABI 1.4: check ENAS_API_HAS(api, train_step) before calling.
     * Training steps the run has taken before this pass: its position in the schedule, so that a
     * schedule kept by a space (a fixed network's drop-path ramp) continues where a resumed run left off.
     * 0 outside a training run (scoring, evaluation, tests). */
    int64_t (*train_step)(const struct enas_exec *x);
};

/* Whether the engine's API table has `member` (members are only ever added at the end). */
#define ENAS_API_HAS(api, member)                                                                            \
    ((api)->struct_size >= offsetof(struct enas_host_api, member) + sizeof((api)->member) && (api)->member)

/* The one symbol a plugin exports. Its signature never changes; everything else sits behind api. */
typedef enum enas_status (*enas_plugin_init_fn)(struct enas_host *h, const struct enas_host_api *api,
                                                struct enas_err *err);
#define ENAS_PLUGIN_ENTRY "enas_plugin_init"
ENAS_EXPORT enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api,
                                              struct enas_err *err);

/* First line of every enas_plugin_init: refuses an engine of another ABI with both versions named. */
static inline enum enas_status enas_plugin_check_abi(const struct enas_host_api *api, struct enas_err *err)
{
    if (!api || api->abi_version != ENAS_ABI_VERSION)
        return enas_err_set(err, ENAS_ERR_ABI, "ABI mismatch (plugin %d, engine %u)", ENAS_ABI_VERSION,
                            api ? api->abi_version : 0u);
    return ENAS_OK;
}

/* Fills the two header members of a descriptor: { ENAS_DESC_INIT(struct enas_op_desc), .name = ... } */
#define ENAS_DESC_INIT(type) .abi_version = ENAS_ABI_VERSION, .struct_size = sizeof(type)

#endif
