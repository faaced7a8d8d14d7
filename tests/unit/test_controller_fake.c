/* test_controller_fake.c - the fake macro and micro decision lists of test_controller_fake.h. */
#include "test_controller_fake.h"

#include <stdio.h>
#include <string.h>

static const float micro_bias_init[5] = {10, 10, 0, 0, 0};
static const float micro_logit_bias[5] = {0.25f, 0.25f, -0.25f, -0.25f, -0.25f};

static size_t fake_n(void *st)
{
    return ((struct ctrl_fake *)st)->n;
}

static const struct enas_decision *fake_dec(void *st, size_t i)
{
    struct ctrl_fake *f = st;
    return i < f->n ? &f->d[i] : NULL;
}

static void fake_order(void *st, size_t *order)
{
    struct ctrl_fake *f = st;
    memcpy(order, f->order, f->n * sizeof *order);
}

const struct enas_space_desc ctrl_fake_desc = {.name = "fake", .n_decisions = fake_n, .decision = fake_dec};
const struct enas_space_desc ctrl_fake_ordered_desc = {.abi_version = ENAS_ABI_VERSION,
                                                       .struct_size = sizeof(struct enas_space_desc),
                                                       .name = "fake",
                                                       .n_decisions = fake_n,
                                                       .decision = fake_dec,
                                                       .sample_order = fake_order};

static void identity_order(struct ctrl_fake *f)
{
    for (size_t i = 0; i < CTRL_FAKE_MAX; i++)
        f->order[i] = i;
}

static struct enas_decision *add(struct ctrl_fake *f, enum enas_choice_kind k, enum enas_choice_role r,
                                 unsigned n, const char *label)
{
    struct enas_decision *d = &f->d[f->n];
    snprintf(f->labels[f->n], sizeof f->labels[0], "%s", label);
    *d = (struct enas_decision){.label = f->labels[f->n], .kind = k, .role = r, .n_candidates = n};
    f->n++;
    return d;
}

void ctrl_fake_macro(struct ctrl_fake *f, int layers, int any_op)
{
    char l[40];
    f->n = 0;
    identity_order(f);
    for (int i = 0; i < layers; i++) {
        snprintf(l, sizeof l, "LayerChoice%d", i == 0 ? 1 : 2 * i);
        struct enas_decision *d = add(f, ENAS_CHOICE_ONE, ENAS_ROLE_OP, 6, l);
        /* TF: layer 0 has no skips; one more LSTM step makes its anchor and the next input is g_emb */
        d->new_scope = i == 0;
        d->anchor = i == 0 ? ENAS_ANCHOR_STEP : ENAS_ANCHOR_NONE;
        if (i == 0 && any_op) {
            d = add(f, ENAS_CHOICE_ANY, ENAS_ROLE_OP, 4, "AnyOp");
            d->group = 1;
        }
        if (i > 0) {
            snprintf(l, sizeof l, "InputChoice%d", 2 * i + 1);
            add(f, ENAS_CHOICE_ANY, ENAS_ROLE_INPUT, (unsigned)i, l)->anchor = ENAS_ANCHOR_QUERY;
        }
    }
}

void ctrl_fake_micro(struct ctrl_fake *f, int cells, int nodes)
{
    static const char *const cell_names[] = {"normal", "reduce"}, *const slots[] = {"x", "y"};
    char l[40];
    f->n = 0;
    identity_order(f);
    for (int c = 0; c < cells; c++)
        for (int n = 0; n < nodes; n++)
            for (int s = 0; s < 2; s++) {
                snprintf(l, sizeof l, "%s_node_%d_%s_input", cell_names[c % 2], n, slots[s]);
                struct enas_decision *d = add(f, ENAS_CHOICE_ONE, ENAS_ROLE_INPUT, (unsigned)n + 2, l);
                if (n == 0 && s == 0) {
                    d->new_scope = 1;
                    d->warmup_anchors = 2;
                }
                snprintf(l, sizeof l, "%s_node_%d_%s_op", cell_names[c % 2], n, slots[s]);
                d = add(f, ENAS_CHOICE_ONE, ENAS_ROLE_OP, 5, l);
                d->tanh_reduce = 1;
                if (c == 0) {
                    d->bias_init = micro_bias_init;
                    d->logit_bias = micro_logit_bias;
                }
                if (s == 1)
                    d->anchor = ENAS_ANCHOR_STEP;
            }
}

void ctrl_fake_micro_tf_order(struct ctrl_fake *f)
{
    static const size_t node[4] = {0, 2, 1, 3};
    for (size_t i = 0; i < f->n; i++)
        f->order[i] = i - i % 4 + node[i % 4];
}

void ctrl_fake_permuted(const struct ctrl_fake *src, struct ctrl_fake *dst)
{
    dst->n = src->n;
    identity_order(dst);
    for (size_t s = 0; s < src->n; s++) {
        size_t i = src->order[s];
        memcpy(dst->labels[s], src->labels[i], sizeof dst->labels[s]);
        dst->d[s] = src->d[i];
        dst->d[s].label = dst->labels[s];
    }
}

struct enas_ctrl_opts ctrl_fake_opts(int lstm_size, int layers, double tanh_c, double temperature)
{
    return (struct enas_ctrl_opts){.lstm_size = lstm_size,
                                   .lstm_layers = layers,
                                   .tanh_constant = tanh_c,
                                   .temperature = temperature,
                                   .op_tanh_reduce = 2.5,
                                   .skip_target = 0.4,
                                   .seed = 7};
}

int ctrl_same_params(struct enas_controller *a, struct enas_controller *b, int grads)
{
    size_t na, nb;
    struct enas_param *const *pa = enas__controller_params(a, &na), *const *pb =
                                                                        enas__controller_params(b, &nb);
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        size_t bytes = (size_t)enas_tensor_numel(&pa[i]->value) * sizeof(float);
        const float *x = grads ? pa[i]->grad : pa[i]->value.data,
                    *y = grads ? pb[i]->grad : pb[i]->value.data;
        if (strcmp(pa[i]->name, pb[i]->name) != 0 ||
            enas_tensor_numel(&pb[i]->value) * sizeof(float) != bytes || !x || !y || memcmp(x, y, bytes) != 0)
            return 0;
    }
    return 1;
}
