/* onnx.h - a trained network as an ONNX model (opset ENAS_ONNX_OPSET), encoded with protobuf-c from the
 * onnx.proto that Debian's libonnx-dev ships. The graph is read off one traced inference pass of the fixed
 * network: each op call becomes ONNX nodes, in NCHW. Only what the main logits depend on is kept (no aux
 * head); dropout and drop path are identities at inference and vanish; BN stays BatchNormalization with its
 * running statistics. Input "input": float [N, 3, 32, 32], RGB in [0, 1] (pixel / 255), normalised inside
 * the graph with the training constants; output "logits": float [N, 10]. */
#ifndef ENAS_ENGINE_ONNX_H
#define ENAS_ENGINE_ONNX_H

#include "enas/status.h"

#define ENAS_ONNX_OPSET 13

struct enas_run;

/* Writes r's network (an eval-opened run with its weights loaded) to path atomically. An op without an ONNX
 * form (a third party's) is an error naming it (ENAS_ERR_UNSUPPORTED); nothing is written then. */
enum enas_status enas__onnx_export(struct enas_run *r, const char *path, struct enas_err *err);

#endif
