/* ref_plugin.c - the `ref` backend: plain C11 reference ops with readable loops and double accumulators,
 * the ground truth that every other provider is tested against. Single-threaded (x->threads is unused).
 * Multiply-adds: counted for the ops with weights only (conv, sep_conv, factorized_reduce, linear), as
 * the usual FLOP tables do; pooling, BN, activations, dropout and joins report 0. */
#include "ref.h"

static const struct enas_backend_desc ref_backend = {
    ENAS_DESC_INIT(struct enas_backend_desc),
    .name = "ref",
    .description = "plain C11 reference ops: readable loops, the ground truth for tests",
};

static const struct enas_op_desc *const ref_ops[] = {
    &ref_conv_desc,      &ref_sep_conv_desc, &ref_batch_norm_desc,        &ref_relu_desc,
    &ref_max_pool_desc,  &ref_avg_pool_desc, &ref_global_avg_pool_desc,   &ref_linear_desc,
    &ref_sum_desc,       &ref_concat_desc,   &ref_factorized_reduce_desc, &ref_dropout_desc,
    &ref_drop_path_desc, &ref_identity_desc,
};
_Static_assert(sizeof ref_ops / sizeof ref_ops[0] == OPU_N_OPS, "the ref provider registers every shared op");

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    if (st == ENAS_OK)
        st = api->register_backend(h, &ref_backend, err);
    for (size_t i = 0; st == ENAS_OK && i < sizeof ref_ops / sizeof ref_ops[0]; i++)
        st = api->register_op(h, ref_ops[i], err);
    return st; /* on failure the engine removes whatever this file registered */
}
