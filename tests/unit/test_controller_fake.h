/* test_controller_fake.h - fake spaces whose decision lists mimic the ENAS macro space (TF order: op,
 * then the skip bits of each layer) and micro space (per node x input, x op, y input, y op), with the
 * controller hints the real spaces give, and optionally a sample order (the micro space's: per node x
 * input, y input, x op, y op), for the controller tests. */
#ifndef ENAS_TEST_CONTROLLER_FAKE_H
#define ENAS_TEST_CONTROLLER_FAKE_H

#include "controller/controller.h"

enum { CTRL_FAKE_MAX = 256 };

struct ctrl_fake {
    struct enas_decision d[CTRL_FAKE_MAX];
    char labels[CTRL_FAKE_MAX][40];
    size_t n;
    size_t order[CTRL_FAKE_MAX]; /* what ctrl_fake_ordered_desc's sample_order returns; the list makers
                                    set decision order */
};

/* No sample_order, and struct_size 0 (the engine reads no optional member). */
extern const struct enas_space_desc ctrl_fake_desc;
/* Full struct_size; sample_order copies f->order. */
extern const struct enas_space_desc ctrl_fake_ordered_desc;

/* layers op decisions (6 candidates, group 0) and layers - 1 skip decisions; with any_op, one extra
 * ENAS_CHOICE_ANY op decision (4 candidates, group 1) after layer 0, to cover that path. */
void ctrl_fake_macro(struct ctrl_fake *f, int layers, int any_op);
/* cells x nodes x [x input, x op, y input, y op]; the first cell is the normal one (bias_init and
 * logit_bias on its ops). */
void ctrl_fake_micro(struct ctrl_fake *f, int cells, int nodes);
/* f->order = the micro space's sample order: per node of 4 decisions, positions 0, 2, 1, 3. */
void ctrl_fake_micro_tf_order(struct ctrl_fake *f);
/* dst = the decisions of src in src->order (labels copied), in decision order: a space whose decision
 * order is src's sample order. */
void ctrl_fake_permuted(const struct ctrl_fake *src, struct ctrl_fake *dst);
/* Whether a and b have the same parameters (names, sizes) holding the same values (grads: the same
 * gradients), bit for bit. */
int ctrl_same_params(struct enas_controller *a, struct enas_controller *b, int grads);
/* Options with the TF defaults of ENAS.md §4 and the given size. */
struct enas_ctrl_opts ctrl_fake_opts(int lstm_size, int layers, double tanh_c, double temperature);

#endif
