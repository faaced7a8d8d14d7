/* op_attrs.h - the attribute tables of the ops that both providers (plugins/ref, plugins/onednn) register:
 * one definition, so that a name, default or range cannot drift apart between backends (test_onednn_parity
 * checks that the registered tables agree). Each plugin compiles its own copy. */
#ifndef ENAS_PLUGINS_OP_ATTRS_H
#define ENAS_PLUGINS_OP_ATTRS_H

#include "enas/settings.h"

/* Marked unused: each source file reads only its own tables. */
/* conv: all of them; sep_conv: the first SEP_CONV_N_ATTRS (conv adds groups and bias). */
static const struct enas_setting conv_attrs[] __attribute__((unused)) = {
    {.key = "in_channels",
     .type = ENAS_SET_INT,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "input channels (required)"},
    {.key = "out_channels",
     .type = ENAS_SET_INT,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "output channels (required)"},
    {.key = "kernel", .type = ENAS_SET_INT, .min = 0, .max = 63, .help = "square kernel size k (required)"},
    {.key = "stride", .type = ENAS_SET_INT, .def = 1, .min = 1, .max = 16, .help = "stride in H and W"},
    {.key = "padding",
     .type = ENAS_SET_INT,
     .def = -1,
     .min = -1,
     .max = 63,
     .help = "zero padding on each side; -1: (k-1)/2, i.e. SAME for odd k"},
    {.key = "relu_input",
     .type = ENAS_SET_BOOL,
     .help = "convolve ReLU(input): a fused ReLU whose output is not kept for backward"},
    {.key = "groups",
     .type = ENAS_SET_INT,
     .def = 1,
     .min = 1,
     .max = ENAS_UNBOUNDED,
     .help = "channel groups; must divide in_channels and out_channels (in_channels: depthwise)"},
    {.key = "bias", .type = ENAS_SET_BOOL, .help = "add a bias \"b\" [out_channels], initialised to 0"},
};

static const struct enas_setting bn_attrs[] __attribute__((unused)) = {
    {.key = "channels",
     .type = ENAS_SET_INT,
     .def = 0,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "channels C, the last axis (required)"},
    {.key = "eps",
     .type = ENAS_SET_FLOAT,
     .def = 1e-5,
     .min = 1e-12,
     .max = 1.0,
     .help = "added to the variance before the square root"},
    {.key = "momentum",
     .type = ENAS_SET_FLOAT,
     .def = 0.1,
     .min = 0.0,
     .max = 1.0,
     .help = "weight of the batch statistics in the running averages (PyTorch convention)"},
    {.key = "affine", .type = ENAS_SET_BOOL, .def = 1, .help = "learn a scale \"gamma\" and shift \"beta\""},
    {.key = "relu", .type = ENAS_SET_BOOL, .help = "apply ReLU to the output (a fused BN-ReLU)"},
};

static const struct enas_setting pool_attrs[] __attribute__((unused)) = {
    {.key = "kernel", .type = ENAS_SET_INT, .def = 3, .min = 1, .max = 63, .help = "square window size k"},
    {.key = "stride", .type = ENAS_SET_INT, .def = 1, .min = 1, .max = 16, .help = "stride in H and W"},
    {.key = "padding",
     .type = ENAS_SET_INT,
     .def = -1,
     .min = -1,
     .max = 62,
     .help = "padding on each side, at most kernel-1; -1: (k-1)/2, i.e. SAME for odd k"},
};

static const struct enas_setting linear_attrs[] __attribute__((unused)) = {
    {.key = "in_features",
     .type = ENAS_SET_INT,
     .def = 0,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "input features, the K of N x K input (required)"},
    {.key = "out_features",
     .type = ENAS_SET_INT,
     .def = 0,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "output features (required)"},
    {.key = "bias",
     .type = ENAS_SET_BOOL,
     .def = 0,
     .help = "add a bias \"b\" [out_features], initialised to 0"},
};

static const struct enas_setting fr_attrs[] __attribute__((unused)) = {
    {.key = "in_channels",
     .type = ENAS_SET_INT,
     .def = 0,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "input channels (required)"},
    {.key = "out_channels",
     .type = ENAS_SET_INT,
     .def = 0,
     .min = 0,
     .max = ENAS_UNBOUNDED,
     .help = "output channels, even: half from each path (required)"},
};

static const struct enas_setting dropout_attrs[] __attribute__((unused)) = {
    {.key = "keep_prob",
     .type = ENAS_SET_FLOAT,
     .def = 1.0,
     .min = 0.0,
     .max = 1.0,
     .help = "probability of keeping an element in training, in (0, 1]; 1 disables dropout"},
};
#define SEP_CONV_N_ATTRS 6

#endif
