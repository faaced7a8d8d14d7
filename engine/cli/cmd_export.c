/* cmd_export.c - `enas export MODEL --to onnx OUT.onnx`: the trained network of a model file (or a retrain
 * run folder's model.enas) as an ONNX model (export/onnx.h), written atomically. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "data/cifar10.h"
#include "export/onnx.h"
#include "plugin/loader.h"
#include "train/run.h"
#include "util/path.h"

int enas__cmd_export(struct enas_host *h, const struct cli *c, struct enas_config *cfg)
{
    int done = 0;
    int rc = enas__cli_start(h, c, cfg, 0, &done);
    if (done)
        return rc;
    if (!c->file || !c->out || !c->to || strcmp(c->to, "onnx") != 0 || c->resume) {
        fprintf(stderr, "enas: export: usage: enas export MODEL --to onnx OUT.onnx (MODEL: model.enas or a "
                        "retrain run folder)\n");
        return ENAS_EXIT_USAGE;
    }
    /* one blank picture: the network is built and traced without reading any data */
    struct enas_cifar10 one = {.n = 1, .pixels = calloc(1, ENAS_CIFAR10_IMAGE_BYTES), .labels = calloc(1, 1)};
    struct enas_err err = {0};
    char path[ENAS__PATH_MAX];
    struct enas_run run;
    int opened = 0;
    enum enas_status st =
        one.pixels && one.labels ? ENAS_OK : enas_err_set(&err, ENAS_ERR_NOMEM, "out of memory");
    if (st == ENAS_OK)
        st = enas__cli_open_model(h, cfg, c->file, &one, &run, path, sizeof path, &opened, &err);
    enas__cifar10_fini(&one);
    if (st == ENAS_OK)
        st = enas__onnx_export(&run, c->out, &err);
    if (opened)
        enas__run_close(&run);
    if (st == ENAS_OK) {
        printf("%s: ONNX opset %d, input \"input\" [N, 3, 32, 32] (RGB / 255), output \"logits\" [N, 10]\n",
               c->out, ENAS_ONNX_OPSET);
        return ENAS_EXIT_OK;
    }
    fprintf(stderr, "enas: export: %s\n", err.msg);
    return ENAS_EXIT_RUNTIME;
}
