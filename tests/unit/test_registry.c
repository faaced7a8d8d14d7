/* test_registry.c - descriptor validation, settings tables, op provider rules, lookups, rollback. */
#include "check.h"
#include "plugin/registry.h"
#include "settings/schema.h"

#include <string.h>

static enum enas_status op_create(const struct enas_op_args *a, void **state, struct enas_err *err)
{
    (void)a, (void)err;
    *state = NULL;
    return ENAS_OK;
}

static enum enas_status op_shape(void *state, const struct enas_tensor *const *in, size_t n_in,
                                 struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)n_in, (void)err;
    *out = *in[0];
    return ENAS_OK;
}

static enum enas_status op_forward(void *state, struct enas_exec *x, const struct enas_tensor *const *in,
                                   size_t n_in, struct enas_tensor *out, struct enas_err *err)
{
    (void)state, (void)x, (void)in, (void)n_in, (void)out, (void)err;
    return ENAS_OK;
}

static void op_destroy(void *state)
{
    (void)state;
}

static enum enas_status loss_compute(void *state, const struct enas_tensor *logits, const int32_t *labels,
                                     struct enas_tensor *dlogits, struct enas_loss_result *out,
                                     struct enas_err *err)
{
    (void)state, (void)logits, (void)labels, (void)dlogits, (void)out, (void)err;
    return ENAS_OK;
}

/* An op descriptor with every required member. */
/* clang-format off */
#define OP(nm, prov)                                                                                   \
    {                                                                                                  \
        ENAS_DESC_INIT(struct enas_op_desc), .name = (nm), .provider = (prov), .min_inputs = 1,        \
        .max_inputs = 1, .create = op_create, .shape = op_shape, .forward = op_forward,                \
        .destroy = op_destroy                                                                          \
    }
/* clang-format on */

static const struct enas_op_desc ops[] = {
    OP("conv", "ref"),   OP("conv", "onednn"), OP("pool", "ref"),  OP("tp_op", "thirdp"),
    OP("two_op", "tpa"), OP("two_op", "tpb"),  OP("mixed", "ref"), OP("mixed", "tpc"),
};
static const struct enas_backend_desc be_ref = {ENAS_DESC_INIT(struct enas_backend_desc), .name = "ref"};
static const struct enas_backend_desc be_onednn = {ENAS_DESC_INIT(struct enas_backend_desc),
                                                   .name = "onednn"};

static void test_op_rules(void)
{
    struct enas_registry *reg;
    struct enas_err err;
    CHECK_ERR(enas__registry_create(&reg, &err), err, ENAS_OK, NULL);
    CHECK(enas__registry_find_op(reg, "conv", "ref", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND,
              "no op named 'conv'; none are registered; check --plugin-dir");
    CHECK_ERR(enas__registry_add_backend(reg, &be_ref, 1, "ref.so", &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__registry_add_backend(reg, &be_onednn, 2, "onednn.so", &err), err, ENAS_OK, NULL);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        CHECK_ERR(enas__registry_add_op(reg, &ops[i], 3, "ops.so", &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__registry_add_op(reg, &ops[0], 4, "other.so", &err), err, ENAS_ERR_INVALID_ARG,
              "op 'conv' (provider 'ref') already registered by 'ops.so'");

    const struct enas_reg_entry *e = enas__registry_find_op(reg, "conv", "onednn", &err);
    CHECK(e && e->desc == &ops[1]);
    e = enas__registry_find_op(reg, "conv", "ref", &err);
    CHECK(e && e->desc == &ops[0]);
    e = enas__registry_find_op(reg, "tp_op", "onednn", &err); /* third-party op: any backend */
    CHECK(e && e->desc == &ops[3]);
    CHECK(enas__registry_find_op(reg, "pool", "onednn", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND,
              "op 'pool' is not provided by backend 'onednn'; providers that have it: ref");
    CHECK(enas__registry_find_op(reg, "two_op", "ref", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND, "op 'two_op' is provided by several op plugins (tpa, tpb)");
    CHECK(enas__registry_find_op(reg, "mixed", "onednn", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND, "providers that have it: ref, tpc");
    e = enas__registry_find_op(reg, "mixed", "ref", &err);
    CHECK(e && e->desc == &ops[6]);
    CHECK(enas__registry_find_op(reg, "nope", "ref", &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND,
              "no op named 'nope'; registered ops: conv, pool, tp_op, two_op, mixed");
    /* no backend selected: a single provider serves, several are an error */
    e = enas__registry_find_op(reg, "pool", NULL, &err);
    CHECK(e && e->desc == &ops[2]);
    CHECK(enas__registry_find_op(reg, "conv", NULL, &err) == NULL);
    CHECK_ERR(err.code, err, ENAS_ERR_NOT_FOUND,
              "op 'conv' has several providers (ref, onednn) and no backend is selected");

    /* rollback removes one plugin's entries and keeps the rest in order */
    size_t before = enas__registry_count(reg);
    enas__registry_rollback(reg, 3);
    CHECK(enas__registry_count(reg) == before - 8);
    CHECK(enas__registry_count(reg) == 2);
    CHECK(strcmp(enas__registry_entry(reg, 0)->name, "ref") == 0);
    CHECK(strcmp(enas__registry_entry(reg, 1)->name, "onednn") == 0);
    CHECK(strcmp(enas__registry_entry(reg, 1)->owner, "onednn.so") == 0);
    CHECK(enas__registry_entry(reg, 2) == NULL);
    enas__registry_destroy(reg);
}

static void test_descriptor_checks(void)
{
    struct enas_registry *reg;
    struct enas_err err;
    CHECK_ERR(enas__registry_create(&reg, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__registry_add_loss(reg, NULL, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "register_loss: descriptor is NULL");

    struct enas_loss_desc l = {ENAS_DESC_INIT(struct enas_loss_desc), .name = "xent",
                               .compute = loss_compute};
    l.abi_version = 2;
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_ABI,
              "loss descriptor: ABI mismatch (plugin 2, engine 1)");
    l.abi_version = ENAS_ABI_VERSION;
    l.struct_size = 16;
    char want[128];
    snprintf(want, sizeof want, "struct_size 16 is smaller than the %zu bytes",
             sizeof(struct enas_loss_desc));
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG, want);
    l.struct_size = sizeof l + 32; /* a newer, longer descriptor is fine */
    l.compute = NULL;
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "loss 'xent': missing required member 'compute'");
    l.compute = loss_compute;
    l.name = "x-ent";
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG, "'x-ent'");
    l.name = "";
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG, "not a valid name");
    l.name = "xent";
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_OK, NULL);
    CHECK_ERR(enas__registry_add_loss(reg, &l, 1, "b.so", &err), err, ENAS_ERR_INVALID_ARG,
              "loss 'xent' already registered by 'engine'");

    struct enas_op_desc o = OP("conv", "Ref");
    CHECK_ERR(enas__registry_add_op(reg, &o, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG, "provider 'Ref'");
    o.provider = "ref";
    o.shape = NULL;
    CHECK_ERR(enas__registry_add_op(reg, &o, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "op 'conv': missing required member 'shape'");
    o.shape = op_shape;
    o.min_inputs = 3;
    CHECK_ERR(enas__registry_add_op(reg, &o, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG, "min_inputs 3");
    CHECK(enas__registry_count(reg) == 1);
    enas__registry_destroy(reg);
}

static void test_settings_tables(void)
{
    struct enas_err err;
    const struct enas_setting ok[] = {
        {.key = "n", .type = ENAS_SET_INT, .def = 2, .min = 1, .max = 10},
        {.key = "lr", .type = ENAS_SET_FLOAT, .def = 0.1, .min = 0, .max = ENAS_UNBOUNDED},
        {.key = "flag", .type = ENAS_SET_BOOL, .def = 1},
        {.key = "mode", .type = ENAS_SET_STRING, .def_str = "tf", .choices = "half|tf"},
        {.key = "text", .type = ENAS_SET_STRING},
    };
    CHECK_ERR(enas__schema_validate(ok, 5, "space 's'", &err), err, ENAS_OK, NULL);
    struct enas_setting bad[2] = {ok[0], ok[1]};
    bad[1].key = "N";
    CHECK_ERR(enas__schema_validate(bad, 2, "space 's'", &err), err, ENAS_ERR_INVALID_ARG, "key 'N'");
    bad[1].key = "n";
    CHECK_ERR(enas__schema_validate(bad, 2, "space 's'", &err), err, ENAS_ERR_INVALID_ARG,
              "space 's': setting 'n' is declared twice");
    bad[1] = ok[1];
    bad[0].def = 20;
    CHECK_ERR(enas__schema_validate(bad, 2, "space 's'", &err), err, ENAS_ERR_INVALID_ARG,
              "setting 'n': default 20 is outside [1, 10]");
    bad[0].def = 2.5;
    CHECK_ERR(enas__schema_validate(bad, 2, "space 's'", &err), err, ENAS_ERR_INVALID_ARG, "not an integer");
    bad[0] = ok[3];
    bad[0].def_str = "full";
    CHECK_ERR(enas__schema_validate(bad, 2, "space 's'", &err), err, ENAS_ERR_INVALID_ARG,
              "setting 'mode': default 'full' is not one of half|tf");
    bad[0] = ok[2];
    bad[0].def = 0.5;
    CHECK_ERR(enas__schema_validate(bad, 2, "space 's'", &err), err, ENAS_ERR_INVALID_ARG, "setting 'flag'");
    CHECK_ERR(enas__schema_validate(NULL, 2, "space 's'", &err), err, ENAS_ERR_INVALID_ARG, "NULL");

    /* a descriptor with a bad table is refused and names the key */
    struct enas_registry *reg;
    CHECK_ERR(enas__registry_create(&reg, &err), err, ENAS_OK, NULL);
    struct enas_setting bad_tab[1] = {ok[0]};
    bad_tab[0].def = 0;
    struct enas_loss_desc l = {ENAS_DESC_INIT(struct enas_loss_desc), .name = "xent", .settings = bad_tab,
                               .n_settings = 1, .compute = loss_compute};
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "loss 'xent': setting 'n': default 0 is outside [1, 10]");
    CHECK(enas__registry_count(reg) == 0);
    enas__registry_destroy(reg);
}

/* Bounds on what is read of a descriptor: names up to ENAS__NAME_MAX, texts up to ENAS__TEXT_MAX and one
 * line, at most ENAS__SETTINGS_MAX settings, each checked before it is read further. */
static void test_bounds(void)
{
    static char big[3000]; /* 'n' * 2999: a name or text that is far too long */
    memset(big, 'n', sizeof big - 1);
    char name63[64], name64[65];
    memset(name63, 'a', 63);
    name63[63] = '\0';
    memset(name64, 'a', 64);
    name64[64] = '\0';
    CHECK(enas__schema_is_name(name63) && !enas__schema_is_name(name64) && !enas__schema_is_name(big));

    struct enas_registry *reg;
    struct enas_err err;
    CHECK_ERR(enas__registry_create(&reg, &err), err, ENAS_OK, NULL);
    struct enas_loss_desc l = {ENAS_DESC_INIT(struct enas_loss_desc), .name = name64,
                               .compute = loss_compute};
    char want[256];
    snprintf(want, sizeof want, "loss name '%s...' is longer than 63 bytes (or has no terminating NUL)",
             name63);
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG, want);
    l.name = big;
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "is longer than 63 bytes");
    CHECK(strlen(err.msg) < 200);
    l.name = name63;
    l.description = big;
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "description is longer than 1024 bytes (or has no terminating NUL)");
    big[1024] = '\0'; /* exactly the most */
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_OK, NULL);
    big[1024] = 'n';
    enas__registry_rollback(reg, 0);
    l.description = "two\tcolumns";
    CHECK_ERR(enas__registry_add_loss(reg, &l, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "description has a control character (byte 0x09 at offset 3)");
    l.description = "one line";

    struct enas_op_desc o = OP("conv", "ref");
    o.provider = big;
    CHECK_ERR(enas__registry_add_op(reg, &o, 0, NULL, &err), err, ENAS_ERR_INVALID_ARG,
              "op 'conv': provider 'nnnn");
    CHECK(strstr(err.msg, "is longer than 63 bytes"));

    /* settings: the count before anything, then each key and text */
    struct enas_setting s[2] = {
        {.key = "mode", .type = ENAS_SET_STRING, .def_str = "a", .choices = "a|b", .help = "h"},
        {.key = "n", .type = ENAS_SET_INT, .def = 1, .min = 0, .max = 2}};
    CHECK_ERR(enas__schema_validate(s, 1025, "loss 'x'", &err), err, ENAS_ERR_INVALID_ARG,
              "loss 'x': 1025 settings; at most 1024 are allowed");
    CHECK_ERR(enas__schema_validate(s, 2, "loss 'x'", &err), err, ENAS_OK, NULL);
    s[1].key = big;
    CHECK_ERR(enas__schema_validate(s, 2, "loss 'x'", &err), err, ENAS_ERR_INVALID_ARG,
              "loss 'x': setting 1: key 'nnn");
    s[1].key = "n";
    s[0].help = big;
    CHECK_ERR(enas__schema_validate(s, 2, "loss 'x'", &err), err, ENAS_ERR_INVALID_ARG,
              "loss 'x': setting 'mode': help is longer than 1024 bytes");
    s[0].help = "line one\nline two";
    CHECK_ERR(enas__schema_validate(s, 2, "loss 'x'", &err), err, ENAS_ERR_INVALID_ARG,
              "setting 'mode': help has a control character (byte 0x0a at offset 8)");
    s[0].help = "h";
    s[0].def_str = big;
    CHECK_ERR(enas__schema_validate(s, 2, "loss 'x'", &err), err, ENAS_ERR_INVALID_ARG,
              "setting 'mode': def_str is longer than 1024 bytes");
    s[0].def_str = "a";
    s[0].choices = big;
    CHECK_ERR(enas__schema_validate(s, 2, "loss 'x'", &err), err, ENAS_ERR_INVALID_ARG,
              "setting 'mode': choices is longer than 1024 bytes");
    CHECK(enas__registry_count(reg) == 0);
    enas__registry_destroy(reg);
}

int main(void)
{
    test_op_rules();
    test_descriptor_checks();
    test_settings_tables();
    test_bounds();
    return check_exit("test_registry");
}
