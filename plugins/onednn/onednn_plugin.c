/* onednn_plugin.c - the `onednn` backend: ref's 14 ops with the same attributes, parameters and
 * semantics, on oneDNN 2.6 primitives over NHWC fp32 for the convolutions and inner product, and on
 * hand-written kernels where oneDNN 2.6 is slow on this kind of CPU (pooling, depthwise weight gradients,
 * batch norm on NHWC) or where a loop is all there is (ReLU, joins, dropout). */
#include "onednn.h"

#include <omp.h>
#include <stdlib.h>

static enum enas_status odn_init(const struct enas_backend_args *a, void **ctx, struct enas_err *err)
{
    enum enas_status st = ENAS_OK;
    /* plugin memory (calloc/free): fini gets no API table to free through */
    struct odn_backend *be = calloc(1, sizeof *be);
    *ctx = NULL;
    if (!be)
        return enas_err_set(err, ENAS_ERR_NOMEM, "onednn: out of memory for the backend context");
    be->threads = a->threads < 1 ? 1 : a->threads;
    be->avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    be->avx512 = be->avx2 && __builtin_cpu_supports("avx512f");
    be->avx512bw = be->avx512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    if (getenv("ENAS_ONEDNN_PORTABLE")) /* tests: run the portable C kernels on an AVX2 machine too */
        be->avx2 = be->avx512 = be->avx512bw = 0;
    if (getenv("ENAS_ONEDNN_NO_AVX512")) /* tests: the AVX2 kernels on an AVX-512 machine */
        be->avx512 = be->avx512bw = 0;
    /* before any primitive exists: oneDNN sizes some kernels for the thread count at creation */
    omp_set_num_threads(be->threads);
    st = odn_check(dnnl_engine_create(&be->engine, dnnl_cpu, 0), "backend", "dnnl_engine_create", err);
    if (st == ENAS_OK)
        st = odn_check(dnnl_stream_create(&be->stream, be->engine, dnnl_stream_default_flags), "backend",
                       "dnnl_stream_create", err);
    if (st != ENAS_OK) {
        if (be->engine)
            dnnl_engine_destroy(be->engine);
        free(be);
        return st;
    }
    *ctx = be;
    return ENAS_OK;
}

static void odn_fini(void *ctx)
{
    struct odn_backend *be = ctx;
    if (!be)
        return;
    if (be->stream)
        dnnl_stream_destroy(be->stream);
    if (be->engine)
        dnnl_engine_destroy(be->engine);
    free(be);
}

static const struct enas_backend_desc odn_backend_desc = {
    ENAS_DESC_INIT(struct enas_backend_desc),
    .name = "onednn",
    .description = "oneDNN 2.6 primitives on NHWC fp32, with hand-written kernels where oneDNN is slow",
    .init = odn_init,
    .fini = odn_fini,
};

static const struct enas_op_desc *const odn_ops[] = {
    &odn_conv_desc,      &odn_sep_conv_desc, &odn_batch_norm_desc,        &odn_relu_desc,
    &odn_max_pool_desc,  &odn_avg_pool_desc, &odn_global_avg_pool_desc,   &odn_linear_desc,
    &odn_sum_desc,       &odn_concat_desc,   &odn_factorized_reduce_desc, &odn_dropout_desc,
    &odn_drop_path_desc, &odn_identity_desc,
};
_Static_assert(sizeof odn_ops / sizeof odn_ops[0] == OPU_N_OPS,
               "the onednn provider registers every shared op");

enum enas_status enas_plugin_init(struct enas_host *h, const struct enas_host_api *api, struct enas_err *err)
{
    enum enas_status st = enas_plugin_check_abi(api, err);
    if (st == ENAS_OK)
        st = api->register_backend(h, &odn_backend_desc, err);
    for (size_t i = 0; st == ENAS_OK && i < sizeof odn_ops / sizeof odn_ops[0]; i++)
        st = api->register_op(h, odn_ops[i], err);
    return st;
}
