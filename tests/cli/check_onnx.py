"""check_onnx.py MODEL.onnx BATCH N LOGITS.json - an exported model in independent hands: ONNX's own checker
(python3-onnx), then OpenCV's dnn module (python3-opencv) runs it on the first N records of the CIFAR-10
file BATCH (RGB / 255, NCHW, as the export documents) and each logit must be within 1e-4 of enas's own, relative to
the largest logit magnitude of its image, for the same pictures (enas eval --images --json). Exit 77 when a module is
missing (the test is skipped), 1 on a mismatch."""
import json
import sys

try:
    import cv2
    import numpy as np
    import onnx
except ImportError as e:
    print(f"SKIP: {e} (tools/setup.sh installs python3-onnx and python3-opencv)")
    sys.exit(77)

path, batch, n, logits = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
model = onnx.load(path)
onnx.checker.check_model(model)
assert [o.name for o in model.graph.output] == ["logits"], "the output must be named logits"
records = np.fromfile(batch, dtype=np.uint8).reshape(-1, 3073)[:n]
x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
net = cv2.dnn.readNetFromONNX(path)
net.setInput(x)
got = net.forward().astype(np.float64)
want = np.array([im["logits"] for im in json.load(open(logits))["images"]], dtype=np.float64)
assert got.shape == want.shape == (n, 10), f"shapes {got.shape} vs {want.shape}"
# relative to the size of each image's logits (its largest magnitude): a logit near 0 is not held to 1e-4 of
# itself, which float rounding in two different runtimes cannot promise
rel = np.abs(got - want) / np.maximum(np.abs(want).max(axis=1, keepdims=True), 1e-6)
print(f"{path}: {len(model.graph.node)} nodes; OpenCV's logits vs enas's: max abs diff {np.abs(got - want).max():.3g}, "
      f"max relative {rel.max():.3g} over {n} images")
if rel.max() > 1e-4:
    i, k = np.unravel_index(rel.argmax(), rel.shape)
    print(f"FAIL: image {i} class {k}: OpenCV {got[i, k]!r}, enas {want[i, k]!r}")
    sys.exit(1)
if (got.argmax(1) != want.argmax(1)).any():
    print("FAIL: a predicted class differs")
    sys.exit(1)
