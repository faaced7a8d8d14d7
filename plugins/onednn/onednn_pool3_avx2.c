/* onednn_pool3_avx2.c - onednn_pool3_kern.c built again with -mavx2 -mfma, as odn_pool3_*_avx2. */
#define ODN_POOL3_AVX2 1
#include "onednn_pool3_kern.c"
