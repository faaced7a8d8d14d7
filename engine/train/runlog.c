/* runlog.c - progress, metrics.jsonl, architecture files and learning curves of a run. Every file
 * other than the appended metrics is written to a temporary name and renamed into place. */
#include "train/runlog.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings/config.h"
#include "train/run.h"
#include "util/err.h"
#include "util/extprog.h"
#include "util/file.h"
#include "util/log.h"
#include "util/path.h"

void enas__runlog_window_add(struct enas_runlog_window *w, const struct enas_loss_result *res, int64_t images)
{
    w->images += images;
    w->loss_sum += res->loss;
    w->acc_sum += res->accuracy;
    w->steps++;
}

static void progress(const struct enas_run *r, double rate, double loss, double acc)
{
    const int width = 24;
    int done = (int)(width * r->st.batch / (r->steps_per_epoch ? r->steps_per_epoch : 1));
    double left = (double)(r->steps_per_epoch - r->st.batch) +
                  (double)(r->epochs - r->st.epoch - 1) * (double)r->steps_per_epoch;
    double eta = rate > 0 ? left * (double)enas__cfg_int(r->core, "batch_size") / rate : 0;
    fprintf(stderr, "\r\033[Kepoch %lld/%lld [%.*s%*s] %lld/%lld loss %.3f acc %.3f %.0f img/s ETA %dh%02dm",
            (long long)r->st.epoch + 1, (long long)r->epochs, done, "########################", width - done,
            "", (long long)r->st.batch, (long long)r->steps_per_epoch, loss, acc, rate, (int)(eta / 3600),
            (int)fmod(eta / 60, 60));
    fflush(stderr);
}

void enas__runlog_train(struct enas_run *r, struct enas_runlog_window *w, double lr, double now)
{
    if (!w->steps)
        return;
    double rate = now > w->t0 ? (double)w->images / (now - w->t0) : 0;
    double loss = w->loss_sum / (double)w->steps, acc = w->acc_sum / (double)w->steps;
    fprintf(r->metrics,
            "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.6g, \"accuracy\": %.6g, \"lr\": %.6g, "
            "\"images_per_s\": %.1f}\n",
            (long long)r->st.global_step, (long long)r->st.epoch, loss, acc, lr, rate);
    fflush(r->metrics);
    if (r->tty)
        progress(r, rate, loss, acc);
    else
        enas__log(ENAS_LOG_INFO, "epoch %lld step %lld/%lld: loss %.4f accuracy %.4f lr %.5f %.0f images/s",
                  (long long)r->st.epoch, (long long)r->st.batch, (long long)r->steps_per_epoch, loss, acc,
                  lr, rate);
    *w = (struct enas_runlog_window){now, 0, 0, 0, 0};
}

void enas__runlog_ctrl_add(struct enas_runlog_ctrl *c, double reward, double baseline,
                           const struct enas_ctrl_sample *s)
{
    c->reward += reward;
    c->baseline = baseline;
    c->entropy += s->entropy;
    c->log_prob += s->log_prob;
    c->skip_rate += s->skip_rate;
    c->n++;
}

void enas__runlog_ctrl(struct enas_run *r, const struct enas_runlog_ctrl *c)
{
    double n = c->n ? (double)c->n : 1.0;
    fprintf(
        r->metrics,
        "{\"ctrl_update\": %lld, \"epoch\": %lld, \"reward\": %.6g, \"baseline\": %.6g, \"entropy\": %.6g, "
        "\"log_prob\": %.6g, \"skip_rate\": %.6g}\n",
        (long long)r->st.ctrl_updates, (long long)r->st.epoch, c->reward / n, c->baseline, c->entropy / n,
        c->log_prob / n, c->skip_rate / n);
    fflush(r->metrics);
    if (!r->tty)
        enas__log(ENAS_LOG_INFO,
                  "epoch %lld controller update %lld/%lld: reward %.4f baseline %.4f entropy %.3f",
                  (long long)r->st.epoch, (long long)r->st.ctrl_in_epoch, (long long)r->ctrl_steps,
                  c->reward / n, c->baseline, c->entropy / n);
}

/* Writes text to path atomically. */
static enum enas_status write_file(const char *path, const char *text, struct enas_err *err)
{
    return enas__file_replace(path, text, strlen(text), 0, err);
}

static int dot_chunk(void *ctx, const char *text, size_t len)
{
    return fwrite(text, 1, len, ctx) == len ? 0 : -1;
}

/* Graphviz takes minutes over the picture of a very large architecture (a 256-layer macro network has tens
 * of thousands of skip edges) at every epoch's end, and a SIGTERM would wait for it: above this much DOT
 * source only the .dot file is written. */
#define DRAW_MAX_DOT_BYTES (64L * 1024)

/* base.dot, and base.png when Graphviz is installed. A drawing that fails is reported, not fatal. */
static void draw(const struct enas_run *r, const int *arch, const char *base)
{
    if (!r->space.desc->dot)
        return;
    char path[ENAS__PATH_MAX], tmp[ENAS__PATH_MAX];
    struct enas_err err = {0};
    if (enas__path_join(path, sizeof path, &err, "%s.dot", base) != ENAS_OK ||
        enas__path_join(tmp, sizeof tmp, &err, "%s.tmp", path) != ENAS_OK) {
        enas__log(ENAS_LOG_WARN, "cannot draw %s: %s", base, err.msg);
        return;
    }
    FILE *f = fopen(tmp, "w");
    if (!f || r->space.desc->dot(r->space.state, arch, r->arch_len, dot_chunk, f, &err) != ENAS_OK) {
        if (f)
            fclose(f);
        unlink(tmp);
        enas__err_terminate(&err); /* the space plugin's message */
        enas__log(ENAS_LOG_WARN, "cannot draw %s: %s", path, err.msg);
        return;
    }
    const long bytes = ftell(f);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return;
    if (!enas__extprog_have("dot"))
        return;
    if (bytes > DRAW_MAX_DOT_BYTES) {
        enas__log(ENAS_LOG_DEBUG,
                  "%s: %ld KB of DOT, too large to render at every epoch (dot -Tpng renders it)", path,
                  bytes / 1024);
        return;
    }
    char png[ENAS__PATH_MAX], png_tmp[ENAS__PATH_MAX], out_arg[ENAS__PATH_MAX + 2],
        in_arg[ENAS__PATH_MAX + 2];
    if (enas__path_join(png, sizeof png, &err, "%s.png", base) != ENAS_OK ||
        enas__path_join(png_tmp, sizeof png_tmp, &err, "%s.png.tmp", base) != ENAS_OK) {
        enas__log(ENAS_LOG_WARN, "cannot draw %s: %s", base, err.msg);
        return;
    }
    /* a run folder named "-x" must not turn these paths into options of dot */
    char *argv[] = {"dot",
                    "-Tpng",
                    "-o",
                    enas__extprog_path_arg(png_tmp, out_arg, sizeof out_arg),
                    enas__extprog_path_arg(path, in_arg, sizeof in_arg),
                    NULL};
    if (!argv[3] || !argv[4] || enas__extprog_run(argv, 0) != 0 || rename(png_tmp, png) != 0) {
        unlink(png_tmp);
        enas__log(ENAS_LOG_WARN, "dot could not render %s", path);
    }
}

enum enas_status enas__runlog_write_arch(const struct enas_run *r, const int *arch, const char *base,
                                         struct enas_err *err)
{
    char path[ENAS__PATH_MAX];
    char *tf = enas__arch_format(&r->space, arch, r->arch_len, ENAS_ARCH_TF);
    char *nni = enas__arch_format(&r->space, arch, r->arch_len, ENAS_ARCH_NNI);
    enum enas_status st = tf && nni ? ENAS_OK : enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    if (st == ENAS_OK && (st = enas__path_join(path, sizeof path, err, "%s.tf", base)) == ENAS_OK)
        st = write_file(path, tf, err);
    if (st == ENAS_OK && (st = enas__path_join(path, sizeof path, err, "%s.json", base)) == ENAS_OK)
        st = write_file(path, nni, err);
    if (st == ENAS_OK)
        draw(r, arch, base);
    free(tf);
    free(nni);
    return st;
}

enum enas_status enas__runlog_arch(struct enas_run *r, const int *arch, double score, struct enas_err *err)
{
    char base[ENAS__PATH_MAX];
    enum enas_status st =
        enas__path_join(base, sizeof base, err, "%s/arch/epoch_%lld", r->dir, (long long)r->st.epoch);
    if (st != ENAS_OK)
        return st;
    char *tf = enas__arch_format(&r->space, arch, r->arch_len, ENAS_ARCH_TF);
    if (tf)
        tf[strcspn(tf, "\n")] = '\0';
    const struct enas_eval_result *e = &r->eval_res;
    fprintf(r->metrics, "{\"epoch_end\": %lld, \"derived_score\": %.6g", (long long)r->st.epoch, score);
    if (e->compared)
        fprintf(r->metrics,
                ", \"compared\": %lld, \"ctrl_mean\": %.6g, \"ctrl_max\": %.6g, \"random_mean\": %.6g, "
                "\"random_max\": %.6g",
                (long long)e->compared, e->ctrl_mean, e->ctrl_max, e->random_mean, e->random_max);
    if (e->valid_images)
        fprintf(r->metrics, ", \"valid_accuracy\": %.6g, \"valid_images\": %lld", e->valid_accuracy,
                (long long)e->valid_images);
    fprintf(r->metrics, ", \"arch\": \"%s\"}\n", tf ? tf : "");
    fflush(r->metrics);
    if (r->tty)
        fputc('\n', stderr);
    if (e->compared)
        enas__log(ENAS_LOG_INFO,
                  "epoch %lld: %lld controller samples score %.4f on average (best %.4f), %lld random "
                  "architectures %.4f (best %.4f)",
                  (long long)r->st.epoch, (long long)e->compared, e->ctrl_mean, e->ctrl_max,
                  (long long)e->compared, e->random_mean, e->random_max);
    if (e->valid_images)
        enas__log(ENAS_LOG_INFO, "epoch %lld: validation accuracy %.4f of controller samples (%lld images)",
                  (long long)r->st.epoch, e->valid_accuracy, (long long)e->valid_images);
    enas__log(ENAS_LOG_INFO, "epoch %lld: best of %lld sampled architectures scores %.4f: %s",
              (long long)r->st.epoch, (long long)enas__cfg_int(r->core, "derive_samples"), score,
              tf ? tf : "");
    free(tf);
    return enas__runlog_write_arch(r, arch, base, err);
}

void enas__runlog_test(struct enas_run *r, const struct enas_test_result *t)
{
    fprintf(r->metrics,
            "{\"test\": %lld, \"step\": %lld, \"test_loss\": %.6g, \"test_accuracy\": %.6g, "
            "\"test_images\": %lld}\n",
            (long long)r->st.epoch, (long long)r->st.global_step, t->loss, t->accuracy, (long long)t->images);
    fflush(r->metrics);
    if (r->tty)
        fputc('\n', stderr);
    enas__log(ENAS_LOG_INFO, "epoch %lld: test accuracy %.4f, test loss %.4f (%lld images)",
              (long long)r->st.epoch, t->accuracy, t->loss, (long long)t->images);
}

/* The epoch-end measurements of one "epoch_end" line into ev.tsv; a field the run did not measure is "nan".
 */
static void eval_row(const char *line, FILE *ev)
{
    static const char *const keys[] = {"ctrl_mean", "ctrl_max", "random_mean", "random_max",
                                       "valid_accuracy"};
    long long epoch;
    if (sscanf(line, "{\"epoch_end\": %lld", &epoch) != 1)
        return;
    fprintf(ev, "%lld", epoch);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char want[40];
        double v = NAN;
        snprintf(want, sizeof want, "\"%s\": ", keys[k]);
        const char *at = strstr(line, want);
        if (at && sscanf(at + strlen(want), "%lf", &v) != 1)
            v = NAN;
        fprintf(ev, "\t%g", v);
    }
    fputc('\n', ev);
}

/* A table of the run folder, opened for writing with its header line; NULL when it cannot be. */
static FILE *table(const struct enas_run *r, const char *name, const char *header)
{
    char path[ENAS__PATH_MAX];
    FILE *f = enas__path_join(path, sizeof path, NULL, "%s/%s", r->dir, name) ? NULL : fopen(path, "w");
    if (f)
        fputs(header, f);
    return f;
}

/* Splits metrics.jsonl into the tables gnuplot (or a spreadsheet) reads: train.tsv (training steps); a
 * search's ctrl.tsv (controller updates) and eval.tsv (the epoch ends' measurements); a retrain's test.tsv
 * (its test passes). */
static void write_tables(const struct enas_run *r)
{
    char path[ENAS__PATH_MAX], line[2048];
    FILE *in = enas__path_join(path, sizeof path, NULL, "%s/metrics.jsonl", r->dir) ? NULL : fopen(path, "r");
    FILE *tr = table(r, "train.tsv", "step\tloss\taccuracy\tlr\timages_per_s\n");
    FILE *ct = r->retrain ? NULL : table(r, "ctrl.tsv", "update\treward\tbaseline\tentropy\tskip_rate\n");
    FILE *ev = r->retrain ? NULL
                          : table(r, "eval.tsv",
                                  "epoch\tctrl_mean\tctrl_max\trandom_mean\trandom_max\tvalid_accuracy\n");
    FILE *te = r->retrain ? table(r, "test.tsv", "epoch\tstep\ttest_loss\ttest_accuracy\n") : NULL;
    long long a, ep;
    double b, c, d, e, sr;
    while (in && tr && (r->retrain ? te != NULL : ct && ev) && fgets(line, sizeof line, in)) {
        if (sscanf(line,
                   "{\"step\": %lld, \"epoch\": %lld, \"loss\": %lf, \"accuracy\": %lf, \"lr\": %lf, "
                   "\"images_per_s\": %lf",
                   &a, &ep, &b, &c, &d, &e) == 6)
            fprintf(tr, "%lld\t%g\t%g\t%g\t%g\n", a, b, c, d, e);
        else if (ct && sscanf(line,
                              "{\"ctrl_update\": %lld, \"epoch\": %lld, \"reward\": %lf, \"baseline\": %lf, "
                              "\"entropy\": %lf, \"log_prob\": %lf, \"skip_rate\": %lf",
                              &a, &ep, &b, &c, &d, &e, &sr) == 7)
            fprintf(ct, "%lld\t%g\t%g\t%g\t%g\n", a, b, c, d, sr);
        else if (te &&
                 sscanf(line, "{\"test\": %lld, \"step\": %lld, \"test_loss\": %lf, \"test_accuracy\": %lf",
                        &ep, &a, &b, &c) == 4)
            fprintf(te, "%lld\t%lld\t%g\t%g\n", ep + 1, a, b, c);
        else if (ev)
            eval_row(line, ev);
    }
    FILE *all[] = {in, tr, ct, ev, te};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            fclose(all[i]);
}

void enas__runlog_epoch_end(struct enas_run *r)
{
    write_tables(r);
    if (!enas__extprog_have("gnuplot") || strchr(r->dir, '\''))
        return; /* the folder goes into gnuplot strings in single quotes */
    char script[4 * ENAS__PATH_MAX + 1200], png[ENAS__PATH_MAX], png_tmp[ENAS__PATH_MAX];
    if (enas__path_join(png, sizeof png, NULL, "%s/curves.png", r->dir) != ENAS_OK ||
        enas__path_join(png_tmp, sizeof png_tmp, NULL, "%s/curves.png.tmp", r->dir) != ENAS_OK)
        return; /* no room for the name: the tables are written, the picture is not */
    if (r->retrain)
        snprintf(script, sizeof script,
                 "set terminal pngcairo size 1000,700 noenhanced; set output '%s'; "
                 "set multiplot layout 2,1; set key autotitle columnhead; set xlabel 'training step'; "
                 "set y2tics; plot '%s/train.tsv' using 1:2 with lines, '' using 1:3 with lines axes x1y2; "
                 "set xlabel 'epochs trained'; plot '%s/test.tsv' using 1:3 with linespoints, "
                 "'' using 1:4 with linespoints axes x1y2; unset multiplot",
                 png_tmp, r->dir, r->dir);
    else
        snprintf(script, sizeof script,
                 "set terminal pngcairo size 1000,1050 noenhanced; set output '%s'; "
                 "set multiplot layout 3,1; set key autotitle columnhead; set xlabel 'shared-weight step'; "
                 "set y2tics; plot '%s/train.tsv' using 1:2 with lines, '' using 1:3 with lines axes x1y2; "
                 "set xlabel 'controller update'; plot '%s/ctrl.tsv' using 1:2 with lines, '' using 1:3 with "
                 "lines, "
                 "'' using 1:4 with lines axes x1y2, '' using 1:5 with lines; "
                 "set xlabel 'epoch'; set ylabel 'top-1 accuracy'; unset y2tics; "
                 "plot '%s/eval.tsv' using 1:2 with linespoints, '' using 1:4 with linespoints, "
                 "'' using 1:3 with lines dt 2, '' using 1:5 with lines dt 2, '' using 1:6 with linespoints; "
                 "unset multiplot",
                 png_tmp, r->dir, r->dir, r->dir);
    char *argv[] = {"gnuplot", "-e", script, NULL};
    if (enas__extprog_run(argv, 0) != 0 || rename(png_tmp, png) != 0) {
        unlink(png_tmp);
        enas__log(ENAS_LOG_DEBUG, "gnuplot could not draw the learning curves");
    }
}

enum enas_status enas__runlog_finish(struct enas_run *r, struct enas_err *err)
{
    if (r->st.best_len != (int64_t)r->arch_len)
        return ENAS_OK; /* no epoch finished: nothing was chosen */
    int *arch = malloc(r->arch_len * sizeof *arch);
    if (!arch)
        return enas_err_set(err, ENAS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->arch_len; i++)
        arch[i] = r->st.best_arch[i];
    char base[ENAS__PATH_MAX];
    enum enas_status st = enas__path_join(base, sizeof base, err, "%s/best_arch", r->dir);
    if (st == ENAS_OK)
        st = enas__runlog_write_arch(r, arch, base, err);
    free(arch);
    if (st == ENAS_OK)
        enas__log(ENAS_LOG_INFO, "search finished: %s/best_arch.json (NNI), best_arch.tf (TF string)",
                  r->dir);
    return st;
}
