/* test_loss_reward.c - the in-tree loss and reward plugins, loaded from the build's plugin directory
 * through the real loader: cross_entropy value, accuracy and gradient (against central finite
 * differences), label errors; accuracy; efficient_accuracy and its settings. */
#include "check.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "plugin/registry.h"
#include "settings/config.h"

#include <stdlib.h>

static double xent(const struct enas_loss_desc *d, struct enas_tensor *lg, const int32_t *y)
{
    struct enas_loss_result r;
    struct enas_err err;
    CHECK(d->compute(NULL, lg, y, NULL, &r, &err) == ENAS_OK);
    return r.loss;
}

static void test_xent(const struct enas_loss_desc *d)
{
    enum { N = 5, K = 7 };
    float lg[N * K], g[N * K];
    int32_t y[N] = {0, 3, 6, 2, 2};
    unsigned s = 12345;
    for (int i = 0; i < N * K; i++) {
        s = s * 1103515245u + 12345u;
        lg[i] = (float)((s >> 8) % 2000) / 250.0f - 4.0f;
    }
    lg[0 * K + 0] = 9.0f; /* rows 0 and 3 are right */
    lg[3 * K + 2] = 9.0f;
    struct enas_tensor tl = {lg, 2, {N, K, 1, 1}}, tg = {g, 2, {N, K, 1, 1}};
    struct enas_loss_result r;
    struct enas_err err;
    CHECK(d->compute(NULL, &tl, y, &tg, &r, &err) == ENAS_OK);
    CHECK(r.loss > 0);
    /* accuracy from an independent argmax */
    int correct = 0;
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int j = 1; j < K; j++)
            best = lg[i * K + j] > lg[i * K + best] ? j : best;
        correct += best == y[i];
    }
    CHECK_NEAR(r.accuracy, correct / (double)N, 1e-12);
    CHECK(correct >= 2);
    for (int i = 0; i < N * K; i++) {
        float keep = lg[i];
        lg[i] = keep + 1e-2f;
        double up = xent(d, &tl, y);
        lg[i] = keep - 1e-2f;
        double dn = xent(d, &tl, y);
        lg[i] = keep;
        CHECK_NEAR(g[i], (up - dn) / 2e-2, 2e-4);
    }
    /* huge logits stay finite */
    lg[1] = 1e30f;
    CHECK(d->compute(NULL, &tl, y, &tg, &r, &err) == ENAS_OK && isfinite(r.loss));
    int32_t bad[N] = {0, 1, 7, 0, 0};
    CHECK_ERR(d->compute(NULL, &tl, bad, NULL, &r, &err), err, ENAS_ERR_INVALID_ARG, "row 2: label 7");
}

static void test_rewards(struct enas_host *h, struct enas_config *cfg)
{
    struct enas_err err;
    float lg[6] = {1, 0, 0, 1, 1, 0}; /* argmax 0, 1, 0 */
    int32_t y[3] = {0, 1, 1};
    struct enas_tensor t = {lg, 2, {3, 2, 1, 1}};
    struct enas_child_info info = {.child_params = 2000000, .supergraph_params = 5000000, .child_madds = 3e8};
    double r = -1;
    const struct enas_reward_desc *acc = enas__registry_find_reward(h->reg, "accuracy", &err);
    CHECK(acc && acc->compute(NULL, &t, y, &info, &r, &err) == ENAS_OK);
    CHECK_NEAR(r, 2.0 / 3.0, 1e-12);

    const struct enas_reward_desc *eff = enas__registry_find_reward(h->reg, "efficient_accuracy", &err);
    CHECK(eff != NULL);
    if (!eff)
        return;
    CHECK(enas__config_set_option(cfg, "efficient-accuracy.weight", "0.05", &err) == ENAS_OK);
    struct enas_create_args a = {h->api, h, enas__config_section(cfg, "efficient_accuracy")};
    void *st = NULL;
    CHECK(eff->create(&a, &st, &err) == ENAS_OK);
    CHECK(eff->compute(st, &t, y, &info, &r, &err) == ENAS_OK);
    CHECK_NEAR(r, 2.0 / 3.0 - 0.05 * 2.0, 1e-12); /* 2 M parameters, 0.05 per million */
    eff->destroy(st);
    CHECK(enas__config_set_option(cfg, "efficient-accuracy.metric", "madds", &err) == ENAS_OK);
    CHECK(eff->create(&a, &st, &err) == ENAS_OK);
    CHECK(eff->compute(st, &t, y, &info, &r, &err) == ENAS_OK);
    CHECK_NEAR(r, 2.0 / 3.0 - 0.05 * 300.0, 1e-9);
    eff->destroy(st);
    CHECK_ERR(enas__config_set_option(cfg, "efficient-accuracy.metric", "flops", &err), err, ENAS_ERR_CONFIG,
              "params|madds");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_loss_reward PLUGIN_DIR\n");
        return 2;
    }
    struct enas_err err;
    struct enas_host *h = NULL;
    struct enas_config *cfg = NULL;
    struct enas_load_report *rep = NULL;
    CHECK(enas__host_create(&h, &err) == ENAS_OK && enas__config_create(&cfg, &err) == ENAS_OK);
    const char *dirs[] = {argv[1]};
    CHECK(enas__loader_load_all(h, dirs, 1, &rep, &err) == ENAS_OK);
    CHECK(enas__registry_declare_sections(h->reg, cfg, &err) == ENAS_OK);
    const struct enas_loss_desc *x = enas__registry_find_loss(h->reg, "cross_entropy", &err);
    CHECK(x != NULL);
    if (x)
        test_xent(x);
    test_rewards(h, cfg);
    enas__loader_report_destroy(rep);
    enas__config_destroy(cfg);
    enas__host_destroy(h);
    return check_exit("test_loss_reward");
}
