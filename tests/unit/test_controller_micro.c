/* test_controller_micro.c - the controller on the real micro space plugin (spaces/micro):
 * `test_controller_micro PLUGIN_DIR`. The space gives TF's sample order (per node x input, y input, x op,
 * y op; ENAS.md §4.3) through a descriptor large enough to hold it, with the anchor step on each node's
 * last sampled decision, and the controller over it samples exactly as over the fake micro list with that
 * order (which test_controller_sample.c checks against TF's sampler written out). */
#include "check.h"
#include "spacehelp.h"
#include "test_controller_fake.h"

#include <stddef.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_controller_micro PLUGIN_DIR\n");
        return 2;
    }
    struct sh *s = NULL;
    int rc = sh_open(&s, argv[1], "ref", "micro", "micro.num-layers=1 micro.out-filters=4", NULL, 0);
    if (rc == 77) {
        sh_close(s);
        return 77;
    }
    CHECK_MSG(rc == 0, "sh_open(micro) failed");
    if (rc)
        return check_exit("test_controller_micro");
    const struct enas_space_desc *d = sh_desc(s);
    void *st = sh_state(s);
    size_t n = d->n_decisions(st), order[40];
    CHECK(n == 40);
    CHECK(d->struct_size >= offsetof(struct enas_space_desc, sample_order) + sizeof d->sample_order &&
          d->sample_order != NULL);
    if (n != 40 || !d->sample_order)
        goto out;
    d->sample_order(st, order);
    static const char *const slot[4] = {"x_input", "y_input", "x_op", "y_op"};
    static const size_t pos[4] = {0, 2, 1, 3};
    for (size_t k = 0; k < 40; k++) {
        char want[48];
        snprintf(want, sizeof want, "%s_node_%zu_%s", k < 20 ? "normal" : "reduce", k % 20 / 4, slot[k % 4]);
        const struct enas_decision *dk = d->decision(st, order[k]);
        CHECK_MSG(order[k] == k - k % 4 + pos[k % 4] && strcmp(dk->label, want) == 0,
                  "step %zu samples #%zu '%s', want '%s'", k, order[k], dk->label, want);
        /* the node's anchor step follows its last sampled decision; each cell opens with 2 warm-ups */
        CHECK(dk->anchor == (k % 4 == 3 ? ENAS_ANCHOR_STEP : ENAS_ANCHOR_NONE));
        CHECK(dk->new_scope == (k % 20 == 0) && dk->warmup_anchors == (k % 20 == 0 ? 2u : 0u));
    }

    /* the same walk as the fake micro list in that order: same parameters, samples and log-probabilities */
    struct ctrl_fake f;
    ctrl_fake_micro(&f, 2, 5);
    ctrl_fake_micro_tf_order(&f);
    struct enas_ctrl_opts o = ctrl_fake_opts(32, 1, 1.1, 0);
    struct enas_controller *real = NULL, *fake = NULL;
    struct enas_err err;
    CHECK_MSG(enas__controller_create(&o, d, st, &real, &err) == ENAS_OK, "%s", err.msg);
    CHECK_MSG(enas__controller_create(&o, &ctrl_fake_ordered_desc, &f, &fake, &err) == ENAS_OK, "%s",
              err.msg);
    if (real && fake) {
        CHECK(ctrl_same_params(real, fake, 0));
        struct enas_rng ra, rb;
        enas__rng_seed(&ra, 12, 0);
        enas__rng_seed(&rb, 12, 0);
        int xa[40], xb[40];
        for (int k = 0; k < 50; k++) {
            struct enas_ctrl_sample sa, sb;
            CHECK(enas__controller_sample(real, &ra, xa, &sa, &err) == ENAS_OK);
            CHECK(enas__controller_sample(fake, &rb, xb, &sb, &err) == ENAS_OK);
            CHECK(memcmp(xa, xb, sizeof xa) == 0 && sa.log_prob == sb.log_prob && sa.entropy == sb.entropy);
        }
    }
    enas__controller_destroy(real);
    enas__controller_destroy(fake);
out:
    sh_close(s);
    return check_exit("test_controller_micro");
}
