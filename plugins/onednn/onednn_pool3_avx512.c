/* onednn_pool3_avx512.c - onednn_pool3_kern.c built again with -mavx512f (512-bit vectors preferred), as
 * odn_pool3_*_avx512; called only when the CPU has AVX-512F. */
#define ODN_POOL3_AVX512 1
#include "onednn_pool3_kern.c"
