/* core.c - the engine's own settings: the top level of a config file and the options without
 * a section prefix. Defaults follow the NNI reference trainer (ENAS.md §5.1-5.2); the TF scripts' values
 * live in the presets in configs/. Exclusive bounds are written as the nearest sensible inclusive ones. */
#include "settings/config.h"

#define INF ENAS_UNBOUNDED
/* "> 0" for rates and epsilons: the schema has inclusive bounds only, and anything below this is a typo. */
#define TINY 1e-12
/* "< 1" for momenta and Adam betas, for the same reason; 0.9999 stays allowed. */
#define BELOW_ONE 0.999999

/* clang-format would spread each of these brace initializers over four lines. */
// clang-format off
#define INT_SET(k, d, lo, hi, h) {k, ENAS_SET_INT, d, NULL, lo, hi, NULL, h}
#define FLOAT_SET(k, d, lo, hi, h) {k, ENAS_SET_FLOAT, d, NULL, lo, hi, NULL, h}
#define BOOL_SET(k, d, h) {k, ENAS_SET_BOOL, d, NULL, 0, 1, NULL, h}
#define STR_SET(k, d, ch, h) {k, ENAS_SET_STRING, 0, d, 0, 0, ch, h}
// clang-format on

const struct enas_setting enas__core_settings[] = {
    /* Trainer (NNI EnasTrainer + search.py). */
    INT_SET("num_epochs", 0, 0, 100000,
            "epochs of search; 0 = the space's reference value (macro 310, micro 150)"),
    INT_SET("batch_size", 128, 1, 65536, "minibatch size (shared weights and controller rewards)"),
    INT_SET("workers", 4, 0, 256, "threads preparing batches ahead (0 = prepare in the trainer thread)"),
    INT_SET("log_frequency", 10, 1, INF, "log every N steps"),
    FLOAT_SET("grad_clip", 5.0, 0, INF, "global L2 norm clip of shared-weight gradients; 0 = off"),
    FLOAT_SET("entropy_weight", 1e-4, 0, INF, "weight of the sample entropy added to the reward"),
    FLOAT_SET("skip_weight", 0.8, 0, INF, "weight of the skip-connection KL penalty in the controller loss"),
    FLOAT_SET("baseline_decay", 0.999, 0, 1, "EMA decay of the reward baseline (NNI 0.999, TF 0.99)"),
    FLOAT_SET("ctrl_lr", 3.5e-4, TINY, INF, "controller Adam learning rate (> 0)"),
    INT_SET("ctrl_steps_aggregate", 20, 1, INF, "controller samples whose gradients make one update"),
    INT_SET("ctrl_steps", 0, 0, INF,
            "controller updates per epoch; 0 = one pass over the validation half (the reference trainer)"),
    FLOAT_SET("ctrl_grad_clip", 5.0, 0, INF, "global L2 norm clip of controller gradients; 0 = off"),
    FLOAT_SET("ctrl_adam_beta1", 0.9, 0, BELOW_ONE, "controller Adam beta1 (< 1; TF scripts 0)"),
    FLOAT_SET("ctrl_adam_beta2", 0.999, 0, BELOW_ONE, "controller Adam beta2 (< 1)"),
    FLOAT_SET("ctrl_adam_eps", 1e-8, TINY, INF, "controller Adam epsilon (> 0; TF scripts 1e-3)"),

    /* Controller. */
    INT_SET("lstm_size", 64, 1, 4096, "controller LSTM hidden size"),
    INT_SET("lstm_layers", 1, 1, 16, "controller LSTM layers"),
    FLOAT_SET("tanh_constant", 1.5, 0, INF, "controller logits become c * tanh(logits); 0 = off"),
    FLOAT_SET("temperature", 0, 0, INF, "controller logits are divided by this before the tanh; 0 = off"),
    /* the KL penalty takes log(p) and log(1 - p): 0 and 1 stopped a space with skip decisions (macro) */
    FLOAT_SET("skip_target", 0.4, TINY, BELOW_ONE,
              "target skip-connection probability of the KL penalty (0 < p < 1)"),
    STR_SET("skip_kl", "logit", "logit|sampling",
            "skip KL on Bernoulli(sigma(q)) as TF and NNI compute it (logit), or on the sampling Bernoulli "
            "sigma(2q) (sampling; the skip rate then settles nearer skip_target)"),
    STR_SET("skip_kl_reduce", "mean", "mean|sum", "skip KL over the skip decisions: mean (TF) or sum (NNI)"),
    STR_SET("entropy_mode", "sampled", "sampled|exact",
            "entropy added to the reward: sum of CE*exp(-CE) of the sampled choices (TF macro, NNI) or the "
            "exact entropy of every decision (TF micro)"),
    FLOAT_SET("op_tanh_reduce", 1.0, 1e-6, INF,
              "operation logits use tanh_constant / this; 1 = off (NNI); TF scripts 2.5"),

    /* Shared-weight optimizer. */
    FLOAT_SET("lr_max", 0.05, 0, INF, "shared-weight SGD learning rate (cosine peak)"),
    FLOAT_SET("lr_min", 0.001, 0, INF, "cosine floor of the learning rate"),
    FLOAT_SET("momentum", 0.9, 0, BELOW_ONE, "SGD momentum (< 1)"),
    BOOL_SET("nesterov", 0, "Nesterov momentum (TF scripts: true)"),
    FLOAT_SET("weight_decay", 1e-4, 0, INF,
              "SGD weight decay (decay * w added to the gradient; TF l2_reg = half of it)"),
    STR_SET("lr_schedule", "cosine", "cosine|constant", "learning-rate schedule"),
    /* at most num_epochs' own bound: the schedule counts epochs in an int, and more would wrap */
    INT_SET("lr_t0", 0, 0, 100000,
            "epochs of the first cosine cycle; 0 = num_epochs (one cycle, NNI's CosineAnnealingLR)"),
    INT_SET("lr_tmul", 1, 1, 100,
            "cycle length multiplier at each warm restart (TF scripts: T_0 10, T_mul 2)"),

    /* Run. */
    INT_SET("seed", 0, 0, 9007199254740992.0, "0 = pick one from the clock and record it"),
    BOOL_SET("deterministic", 0, "same results on every run with the same seed (slower kernels)"),
    INT_SET("threads", 0, 0, 1024, "compute threads; 0 = all cores"),
    INT_SET("train_subset", 0, 0, 50000, "use only the first N training images (quick trials); 0 = all"),
    STR_SET("split", "half", "half|tf",
            "half: first half trains the shared weights, second half the controller (reference trainer); "
            "tf: 45,000/5,000"),
    INT_SET("cutout", 0, 0, 32, "cutout square size; 0 = off"),
    STR_SET("data", "", NULL, "CIFAR-10 binary folder; empty: $ENAS_DATA, then ./data/cifar-10-batches-bin"),
    STR_SET("output", "", NULL, "run folder; empty: runs/<space>-<date>-<time>"),
    STR_SET("backend", "onednn", NULL, "compute backend plugin"),
    STR_SET("space", "micro", NULL, "search-space plugin"),
    STR_SET("loss", "cross_entropy", NULL, "loss plugin"),
    STR_SET("reward", "accuracy", NULL, "reward plugin"),
    INT_SET(
        "derive_samples", 10, 1, 10000,
        "architectures sampled and scored on one validation minibatch at each epoch end; the best is kept "
        "(paper section 2.2)"),
    INT_SET("max_steps", 0, 0, INF, "stop after this many shared-weight steps (smoke tests); 0 = no limit"),
    BOOL_SET("reward_train_mode", 0,
             "score controller samples in training mode (batch-statistics BN, dropout; TF micro) instead of "
             "inference mode (the reference trainer)"),
    BOOL_SET(
        "valid_augment", 1,
        "augment the controller's validation images as training images (the reference trainer; TF: off)"),
    BOOL_SET("valid_drop_last", 0,
             "controller batches: drop the last partial batch of each pass (TF feeds full batches; NNI "
             "keeps it)"),

    /* Retraining a found architecture (enas retrain). */
    STR_SET("arch", "", NULL,
            "retrain: the fixed architecture (TF integer string), set by `enas retrain ARCH`; empty in a "
            "search"),
    INT_SET("eval_every", 1, 0, INF,
            "retrain: test accuracy and loss on the test images every N epochs and after the last; 0 = after "
            "the last only"),
    INT_SET("test_subset", 0, 0, 10000, "use only the first N test images (quick trials); 0 = all"),

    /* What each epoch's end measures (nothing here changes the search itself). */
    INT_SET("compare_samples", 10, 0, 10000,
            "epoch end: score this many controller samples and as many uniformly random architectures on "
            "the same validation batches (metrics: ctrl_mean/max, random_mean/max); 0 = off"),
    INT_SET("compare_batches", 4, 1, 10000,
            "validation batches each compared architecture is scored on (the same ones for all)"),
    INT_SET("valid_eval_batches", 0, -1, INF,
            "epoch end: validation accuracy of controller samples (one per batch, as TF) over this many "
            "batches of the controller half; 0 = all of it, -1 = off"),
};

const size_t enas__core_n_settings = sizeof enas__core_settings / sizeof enas__core_settings[0];
