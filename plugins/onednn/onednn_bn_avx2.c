/* onednn_bn_avx2.c - onednn_bn_kern.c built again with -mavx2 -mfma, as odn_bn_*_avx2. */
#define ODN_BN_AVX2 1
#include "onednn_bn_kern.c"
