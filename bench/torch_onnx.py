"""torch_onnx.py - the PyTorch side of bench/run_retrain.sh: trains, in PyTorch, exactly the network that
`enas export` wrote for a fixed architecture (its ONNX graph rebuilt as torch modules, weights and all), so
that the comparison with enas's retrain step has no second implementation of the spaces to drift from the
engine. A step: forward in training mode (BN on batch statistics), cross-entropy, backward, global-norm
clip 5, SGD with Nesterov momentum 0.9, as bench_search's. The graph's first node (the input normalisation,
which enas does in its data pipeline) is skipped: both programs train on the same normalised batch.
Prints one JSON line, as torch_enas.py does."""
import argparse
import json
import os
import sys
import time

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_enas import load_batch, vm_hwm_kb  # noqa: E402


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class OnnxNet(nn.Module):
    """The graph's nodes in order; Conv, BatchNormalization and Gemm hold their weights as parameters."""

    def __init__(self, model):
        super().__init__()
        init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
        self.nodes = list(model.graph.node)
        self.mods = nn.ModuleList()
        self.index = {}
        for i, n in enumerate(self.nodes):
            a = attrs(n)
            if n.op_type == "Conv":
                w = init[n.input[1]]
                pads = list(a.get("pads", [0, 0, 0, 0]))
                m = nn.Conv2d(w.shape[1] * a.get("group", 1), w.shape[0], tuple(w.shape[2:]),
                              stride=tuple(a.get("strides", [1, 1])),
                              padding=pads[0] if pads[:2] == pads[2:] else 0,
                              groups=a.get("group", 1), bias=len(n.input) > 2)
                m.weight.data.copy_(w)
                if len(n.input) > 2:
                    m.bias.data.copy_(init[n.input[2]])
                m.extra_pad = None if pads[:2] == pads[2:] else (pads[1], pads[3], pads[0], pads[2])
            elif n.op_type == "BatchNormalization":
                g = init[n.input[1]]
                m = nn.BatchNorm2d(g.shape[0], eps=a.get("epsilon", 1e-5), momentum=0.1)
                m.weight.data.copy_(g)
                m.bias.data.copy_(init[n.input[2]])
                m.running_mean.copy_(init[n.input[3]])
                m.running_var.copy_(init[n.input[4]])
            elif n.op_type == "Gemm":
                w = init[n.input[1]]
                m = nn.Linear(w.shape[1], w.shape[0], bias=len(n.input) > 2)
                m.weight.data.copy_(w)
                if len(n.input) > 2:
                    m.bias.data.copy_(init[n.input[2]])
            else:
                continue
            self.index[i] = len(self.mods)
            self.mods.append(m)
        # the normalisation (a 1x1 conv on "input") is the data pipeline's in enas: skipped
        self.skip = {i for i, n in enumerate(self.nodes) if n.input and n.input[0] == "input"}

    def forward(self, x):
        env = {}
        for i, n in enumerate(self.nodes):
            if i in self.skip:
                env[n.output[0]] = x
                continue
            a = attrs(n)
            ins = [env[k] for k in n.input if k in env]
            t = n.op_type
            if t == "Conv":
                m = self.mods[self.index[i]]
                y = m(F.pad(ins[0], m.extra_pad) if m.extra_pad else ins[0])
            elif t in ("BatchNormalization", "Gemm"):
                y = self.mods[self.index[i]](ins[0])
            elif t == "Relu":
                y = F.relu(ins[0])
            elif t == "MaxPool":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(ins[0], a["kernel_shape"], a.get("strides", 1), p[0])
            elif t == "AveragePool":
                p = a.get("pads", [0, 0, 0, 0])
                y = F.avg_pool2d(ins[0], a["kernel_shape"], a.get("strides", 1), p[0],
                                 count_include_pad=bool(a.get("count_include_pad", 0)))
            elif t == "Concat":
                y = torch.cat(ins, dim=a["axis"])
            elif t == "Sum":
                y = ins[0]
                for z in ins[1:]:
                    y = y + z
            elif t == "GlobalAveragePool":
                y = ins[0].mean(dim=(2, 3), keepdim=True)
            elif t == "Flatten":
                y = torch.flatten(ins[0], 1)
            elif t == "Identity":
                y = ins[0]
            else:
                raise SystemExit(f"torch_onnx: no torch form for {t}")
            env[n.output[0]] = y
        return env["logits"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--label", default="", help="a name for the JSON line (space and widths)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    net = OnnxNet(onnx.load(args.onnx))
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    net.train()
    x, y, data = load_batch(args.batch)
    x = x.contiguous(memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0)
    times, cpus, losses = [], [], []
    for s in range(args.warmup + args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        losses.append(float(loss))
        if s >= args.warmup:
            times.append(dt)
            cpus.append(dc)
    med = sorted(times)[len(times) // 2]
    print(json.dumps({"program": "torch-" + ("channels_last" if args.channels_last else "nchw"), "label": args.label,
                      "batch": args.batch, "threads": torch.get_num_threads(), "data": data, "step_s": times,
                      "cpu_s": cpus, "median_s": med, "images_per_s": args.batch / med,
                      "peak_rss_mb": vm_hwm_kb() / 1024.0, "params": sum(p.numel() for p in net.parameters()),
                      "first_loss": losses[0], "last_loss": losses[-1], "torch": torch.__version__}))


if __name__ == "__main__":
    main()
