/* cmd_eval.c - `enas eval MODEL|RUN [--data FILE|DIR] [--json OUT]`: rebuilds the network a model file
 * describes (a retrain run folder's model.enas), loads its weights and reports its test accuracy, the
 * accuracy of each class and the confusion matrix on the CIFAR-10 test images (or on another file in the
 * same binary layout); --json OUT writes the same as JSON, atomically. With --images FILE..., the three most
 * probable classes of each picture instead (--json: with its logits). */
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/image.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "settings/config.h"
#include "train/model.h"
#include "train/run.h"
#include "util/err.h"
#include "util/file.h"
#include "util/path.h"

/* The class names of CIFAR-10 (batches.meta.txt), in label order. */
static const char *const class_names[ENAS_CIFAR10_CLASSES] = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

/* Applies the model's option lines; an error names the model file and the line. */
static enum enas_status apply_settings(struct enas_config *cfg, const char *path, char *text,
                                       struct enas_err *err)
{
    unsigned line = 0;
    for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        char *eq = strchr(p, '=');
        enum enas_status st = ENAS_OK;
        if (!eq) {
            st = enas_err_set(err, ENAS_ERR_DATA, "no '=' in '%.80s'", p);
        } else {
            *eq = '\0';
            st = enas__config_set_option(cfg, p, eq + 1, err);
            *eq = '=';
        }
        if (nl)
            *nl = '\n';
        if (st != ENAS_OK) {
            enas__err_prefix(err, "model '%s': settings line %u: ", path, line);
            err->code = ENAS_ERR_DATA;
            return ENAS_ERR_DATA;
        }
    }
    return ENAS_OK;
}

static void print_report(FILE *f, const struct enas_test_result *t)
{
    fprintf(f, "test accuracy %.4f (%lld / %lld images), test loss %.4f\n", t->accuracy,
            (long long)(t->accuracy * (double)t->images + 0.5), (long long)t->images, t->loss);
    fputs("\nper class:\n", f);
    for (int y = 0; y < ENAS_CIFAR10_CLASSES; y++) {
        int64_t n = 0;
        for (int p = 0; p < ENAS_CIFAR10_CLASSES; p++)
            n += t->confusion[y][p];
        fprintf(f, "  %-10s %.4f  (%lld / %lld)\n", class_names[y],
                n ? (double)t->confusion[y][y] / (double)n : 0.0, (long long)t->confusion[y][y],
                (long long)n);
    }
    fputs("\nconfusion matrix (rows: true class, columns: predicted class):\n            ", f);
    for (int p = 0; p < ENAS_CIFAR10_CLASSES; p++)
        fprintf(f, " %5.5s", class_names[p]);
    fputc('\n', f);
    for (int y = 0; y < ENAS_CIFAR10_CLASSES; y++) {
        fprintf(f, "  %-10s", class_names[y]);
        for (int p = 0; p < ENAS_CIFAR10_CLASSES; p++)
            fprintf(f, " %5lld", (long long)t->confusion[y][p]);
        fputc('\n', f);
    }
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static enum enas_status write_json(const char *out, const char *model, const char *data,
                                   const struct enas_test_result *t, struct enas_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    fputs("{\n  \"model\": ", f);
    json_string(f, model);
    fputs(",\n  \"data\": ", f);
    json_string(f, data);
    fprintf(f, ",\n  \"images\": %lld,\n  \"accuracy\": %.17g,\n  \"loss\": %.17g,\n  \"classes\": [",
            (long long)t->images, t->accuracy, t->loss);
    for (int y = 0; y < ENAS_CIFAR10_CLASSES; y++)
        fprintf(f, "%s\"%s\"", y ? ", " : "", class_names[y]);
    fputs("],\n  \"per_class_accuracy\": [", f);
    for (int y = 0; y < ENAS_CIFAR10_CLASSES; y++) {
        int64_t n = 0;
        for (int p = 0; p < ENAS_CIFAR10_CLASSES; p++)
            n += t->confusion[y][p];
        fprintf(f, "%s%.17g", y ? ", " : "", n ? (double)t->confusion[y][y] / (double)n : 0.0);
    }
    fputs("],\n  \"confusion\": [", f);
    for (int y = 0; y < ENAS_CIFAR10_CLASSES; y++) {
        fprintf(f, "%s\n    [", y ? "," : "");
        for (int p = 0; p < ENAS_CIFAR10_CLASSES; p++)
            fprintf(f, "%s%lld", p ? ", " : "", (long long)t->confusion[y][p]);
        fputc(']', f);
    }
    fputs("\n  ]\n}\n", f);
    const int bad = ferror(f);
    enum enas_status st = fclose(f) != 0 || bad ? enas_err_set(err, ENAS_ERR_NOMEM, "out of memory")
                                                : enas__file_replace(out, buf, len, 0, err);
    free(buf);
    return st;
}

enum enas_status enas__cli_open_model(struct enas_host *h, struct enas_config *cfg, const char *file,
                                      struct enas_cifar10 *images, struct enas_run *run, char *path,
                                      size_t cap, int *opened, struct enas_err *err)
{
    struct stat sb;
    const int is_dir = stat(file, &sb) == 0 && S_ISDIR(sb.st_mode);
    enum enas_status st = is_dir ? enas__path_join(path, cap, err, "%s/model.enas", file)
                                 : enas__path_join(path, cap, err, "%s", file);
    struct enas_model m = {0};
    memset(run, 0, sizeof *run);
    *opened = 0;
    if (st == ENAS_OK)
        st = enas__model_read(path, &m, err);
    if (st == ENAS_OK)
        st = apply_settings(cfg, path, m.settings, err);
    if (st == ENAS_OK) {
        st = enas__run_open_eval(run, h, cfg, images, err);
        *opened = 1;
    }
    size_t np = 0;
    struct enas_param *const *ps = st == ENAS_OK ? enas__host_params(h, &np) : NULL;
    if (st == ENAS_OK)
        st = enas__model_apply(&m, path, ps, np, err);
    enas__model_free(&m);
    return st;
}

/* The pictures of --images as a set of records (labels 0). */
static enum enas_status load_images(const struct cli *c, struct enas_cifar10 *set, struct enas_err *err)
{
    memset(set, 0, sizeof *set);
    set->pixels = malloc(c->n_images * ENAS_CIFAR10_IMAGE_BYTES);
    set->labels = calloc(c->n_images, 1);
    if (!set->pixels || !set->labels) {
        enas__cifar10_fini(set);
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    }
    set->n = (int64_t)c->n_images;
    for (size_t i = 0; i < c->n_images; i++) {
        enum enas_status st = enas__image_load(c->images[i], set->pixels + i * ENAS_CIFAR10_IMAGE_BYTES, err);
        if (st != ENAS_OK) {
            enas__cifar10_fini(set);
            return st;
        }
    }
    return ENAS_OK;
}

/* Each picture's three most probable classes (softmax of its logits), and with --json its logits too. */
static enum enas_status classify(struct enas_run *r, const struct cli *c, struct enas_err *err)
{
    float *logits = malloc(c->n_images * ENAS_CIFAR10_CLASSES * sizeof *logits);
    if (!logits)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    enum enas_status st = enas__run_logits(r, logits, err);
    char *buf = NULL;
    size_t len = 0;
    FILE *js = st == ENAS_OK && c->json ? open_memstream(&buf, &len) : NULL;
    if (js)
        fputs("{\n  \"images\": [", js);
    for (size_t i = 0; st == ENAS_OK && i < c->n_images; i++) {
        const float *z = logits + i * ENAS_CIFAR10_CLASSES;
        double p[ENAS_CIFAR10_CLASSES], mx = z[0], sum = 0;
        for (int k = 1; k < ENAS_CIFAR10_CLASSES; k++)
            mx = (double)z[k] > mx ? (double)z[k] : mx;
        for (int k = 0; k < ENAS_CIFAR10_CLASSES; k++)
            sum += p[k] = exp((double)z[k] - mx);
        int top[3] = {-1, -1, -1};
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < ENAS_CIFAR10_CLASSES; k++)
                if (k != top[0] && k != top[1] && (top[t] < 0 || p[k] > p[top[t]]))
                    top[t] = k;
        printf("%s: %s %.3f, %s %.3f, %s %.3f\n", c->images[i], class_names[top[0]], p[top[0]] / sum,
               class_names[top[1]], p[top[1]] / sum, class_names[top[2]], p[top[2]] / sum);
        if (js) {
            fprintf(js, "%s\n    {\"file\": ", i ? "," : "");
            json_string(js, c->images[i]);
            fprintf(js, ", \"top3\": [\"%s\", \"%s\", \"%s\"], \"logits\": [", class_names[top[0]],
                    class_names[top[1]], class_names[top[2]]);
            for (int k = 0; k < ENAS_CIFAR10_CLASSES; k++)
                fprintf(js, "%s%.9g", k ? ", " : "", (double)z[k]);
            fputs("]}", js);
        }
    }
    if (js) {
        fputs("\n  ]\n}\n", js);
        const int bad = ferror(js);
        if (fclose(js) != 0 || bad)
            st = enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
        else if (st == ENAS_OK)
            st = enas__file_replace(c->json, buf, len, 0, err);
        free(buf);
    }
    free(logits);
    return st;
}

int enas__cmd_eval(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    int done = 0;
    int rc = enas__cli_start(h, c, cfg, 0, &done);
    if (done)
        return rc;
    if (!c->file || c->resume) {
        fprintf(stderr, "enas: eval: give the MODEL file (model.enas) or a retrain run folder%s\n",
                c->resume ? ", not --resume" : "");
        return ENAS_EXIT_USAGE;
    }
    struct enas_err err = {0};
    char path[ENAS__PATH_MAX];
    struct enas_run run;
    struct enas_cifar10 images = {0};
    enum enas_status st = c->n_images ? load_images(c, &images, &err) : ENAS_OK;
    int opened = 0;
    if (st == ENAS_OK)
        st = enas__cli_open_model(h, cfg, c->file, &images, &run, path, sizeof path, &opened, &err);
    enas__cifar10_fini(&images);
    struct enas_test_result t;
    if (st == ENAS_OK && c->n_images) {
        st = classify(&run, c, &err);
        enas__run_close(&run);
        if (st == ENAS_OK)
            return ENAS_EXIT_OK;
        fprintf(stderr, "enas: eval: %s\n", err.msg);
        return ENAS_EXIT_RUNTIME;
    }
    if (st == ENAS_OK)
        st = enas__run_test(&run, &t, &err);
    if (st == ENAS_OK) {
        printf("model %s: space %s\n", path, enas__cfg_string(enas__config_section(cfg, ""), "space"));
        print_report(stdout, &t);
        fflush(stdout);
    }
    const char *data = enas__cfg_string(enas__config_section(cfg, ""), "data");
    if (st == ENAS_OK && c->json)
        st = write_json(c->json, path, *data ? data : "(default CIFAR-10 test set)", &t, &err);
    if (opened)
        enas__run_close(&run);
    if (st == ENAS_OK)
        return ENAS_EXIT_OK;
    fprintf(stderr, "enas: eval: %s\n", err.msg);
    return st == ENAS_ERR_CONFIG ? ENAS_EXIT_USAGE : ENAS_EXIT_RUNTIME;
}
