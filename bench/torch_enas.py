#!/usr/bin/env python3
"""torch_enas.py - the ENAS macro and micro search-mode child networks in PyTorch, for bench/run.sh.

Each network takes an architecture in the TF integer encoding (the same ints `bench_search gen` prints)
and runs only the chosen path, exactly as spaces/macro/macro_run.c and spaces/micro/micro_walk.c do in
search mode: the same ops in the same order, the same channels, BN placement, factorized reductions
(FR) and weight banks (one weight set per place, as the supergraph). Weights are created for the whole
supergraph; a step touches only the chosen ones (zero_grad(set_to_none=True), so SGD skips the rest, as
the engine's SGD does).

A training step = forward + cross-entropy + backward + clip_grad_norm_(5) + SGD (momentum 0.9, Nesterov,
no weight decay): what tests/helpers/spacehelp.c's sh_pass does with lr > 0.

    python3 torch_enas.py --space macro --archs archs.txt [--channels-last] [--warmup 3] [--steps 10]

Prints one JSON line: per-step seconds, median, images/s, peak RSS (VmHWM), controller update ms.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1, affine=True)


def conv(cin, cout, k):
    return nn.Conv2d(cin, cout, k, padding=(k - 1) // 2, bias=False)


class FR(nn.Module):
    """factorized_reduce: two 1x1 stride-2 convs, on pixels (2i, 2j) and (2i+1, 2j+1) (zero beyond the
    border), concatenated along C, then BN (the BN sits outside the engine op, as in the spaces)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout // 2, 1, stride=2, bias=False)
        self.c2 = nn.Conv2d(cin, cout // 2, 1, stride=2, bias=False)
        self.bn = bn(cout)

    def forward(self, x):
        y = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.c1(x), self.c2(y)], dim=1))


class SepConv(nn.Module):
    """sep_conv: depthwise k x k (multiplier 1) then pointwise 1x1, no bias."""

    def __init__(self, c, k):
        super().__init__()
        self.dw = nn.Conv2d(c, c, k, padding=(k - 1) // 2, groups=c, bias=False)
        self.pw = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x):
        return self.pw(self.dw(x))


def avg3(x):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def max3(x):
    return F.max_pool2d(x, 3, stride=1, padding=1)


# ---------------------------------------------------------------------------------------------- macro

class MacroBranch(nn.Module):
    """Search branch (conv-BN-ReLU): 1x1 conv-BN-ReLU, then k x k conv / sep_conv-BN-ReLU, or a 3x3 pool."""

    def __init__(self, f, op):
        super().__init__()
        self.op = op
        self.inp = conv(f, f, 1)
        self.inp_bn = bn(f)
        if op < 4:
            k = (3, 3, 5, 5)[op]
            self.conv = SepConv(f, k) if op in (1, 3) else conv(f, f, k)
            self.conv_bn = bn(f)

    def forward(self, x):
        x = F.relu(self.inp_bn(self.inp(x)))
        if self.op == 4:
            return avg3(x)
        if self.op == 5:
            return max3(x)
        return F.relu(self.conv_bn(self.conv(x)))


class Macro(nn.Module):
    def __init__(self, L=12, Fch=36, nb=6, keep_prob=0.9, classes=10):
        super().__init__()
        self.L = L
        d = L // 3
        self.n_red = 2 if d >= 1 else 0
        self.pool_at = [d - 1, 2 * d - 1]
        self.stem = conv(3, Fch, 3)
        self.stem_bn = bn(Fch)
        self.branches = nn.ModuleList(nn.ModuleList(MacroBranch(Fch, op) for op in range(nb)) for _ in range(L))
        self.skip_bn = nn.ModuleList(bn(Fch) for _ in range(L))  # [0] unused (layer 0 has no BN)
        # reduction r of list position j (j = 0 stem, j >= 1 output of layer j-1)
        self.fr = nn.ModuleList(nn.ModuleList(FR(Fch, Fch) for _ in range(L + 1)) for _ in range(self.n_red))
        self.drop = nn.Dropout(1.0 - keep_prob) if keep_prob < 1 else nn.Identity()
        self.fc = nn.Linear(Fch, classes, bias=False)

    def nred(self, i):
        return sum(1 for k in range(self.n_red) if self.pool_at[k] < i)

    def forward(self, x, arch):
        cur = [None] * (self.L + 1)
        level = [0] * (self.L + 1)

        def get(j, target):  # lazily reduced: each FR runs at most once per pass
            while level[j] < target:
                cur[j] = self.fr[level[j]][j](cur[j])
                level[j] += 1
            return cur[j]

        cur[0] = self.stem_bn(self.stem(x))
        for i in range(self.L):
            p = i * (i + 1) // 2
            t = self.nred(i)
            h = self.branches[i][arch[p]](get(i, t))
            if i > 0:
                skips = [get(j, t) for j in range(i) if arch[p + 1 + j]]
                for s in skips:
                    h = h + s
                h = self.skip_bn[i](h)
            cur[i + 1] = h
            level[i + 1] = t
        h = get(self.L, self.nred(self.L))
        h = torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)
        return self.fc(self.drop(h))


# ---------------------------------------------------------------------------------------------- micro

class MicroSep(nn.Module):
    """sep_conv_KxK candidate: [ReLU, sep_conv K, BN] x 2."""

    def __init__(self, f, k):
        super().__init__()
        self.c0, self.b0 = SepConv(f, k), bn(f)
        self.c1, self.b1 = SepConv(f, k), bn(f)

    def forward(self, x):
        x = self.b0(self.c0(F.relu(x)))
        return self.b1(self.c1(F.relu(x)))


class ReluConvBN(nn.Module):
    def __init__(self, cin, f):
        super().__init__()
        self.conv, self.bn = conv(cin, f, 1), bn(f)

    def forward(self, x):
        return self.bn(self.conv(F.relu(x)))


class ReluFR(nn.Module):
    def __init__(self, cin, f):
        super().__init__()
        self.fr = FR(cin, f)

    def forward(self, x):
        return self.fr(F.relu(x))


MICRO_OPS = ("sep3", "sep5", "avg3", "max3", "id")


class MicroCell(nn.Module):
    """TF _enas_layer (search): calibrated inputs, nodes of chosen candidates (one weight set per
    (node, slot, input, op)), output BN(sum over unused nodes of conv1x1_i(ReLU(node_i)))."""

    def __init__(self, nodes, f, reduce, c_pp, c_p, s_pp, s_p):
        super().__init__()
        self.nodes, self.reduce, self.f = nodes, reduce, f
        half = lambda s: (s + 1) // 2
        self.xred = None
        c0, c1, s0, size_in = c_pp, c_p, s_pp, s_p
        if reduce:
            self.xred = FR(c_p, f)  # no ReLU before it
            c0, c1, s0, size_in = c_p, f, s_p, half(s_p)
        self.size_in = size_in
        self.cal0 = ReluFR(c0, f) if s0 != size_in else (ReluConvBN(c0, f) if c0 != f else None)
        self.cal1 = ReluConvBN(c1, f) if c1 != f else None
        slots = []
        for n in range(nodes):
            for j in range(2):
                bank = nn.ModuleList()
                for inp in range(n + 2):
                    for k, name in enumerate(MICRO_OPS):
                        if name == "sep3":
                            bank.append(MicroSep(f, 3))
                        elif name == "sep5":
                            bank.append(MicroSep(f, 5))
                        else:
                            bank.append(nn.Identity())  # weightless
                slots.append(bank)
        self.slots = nn.ModuleList(slots)
        self.out_conv = nn.ModuleList(conv(f, f, 1) for _ in range(nodes + 2))
        self.out_bn = bn(f)

    def forward(self, h0, h1, arc):
        if self.reduce:
            h0 = h1
            h1 = self.xred(h1)
        pp_next = h1
        n0 = self.cal0(h0) if self.cal0 is not None else h0
        n1 = self.cal1(h1) if self.cal1 is not None else h1
        nodes = [n0, n1]
        used = [0] * (self.nodes + 2)
        nops = len(MICRO_OPS)
        for n in range(self.nodes):
            t = []
            for j in range(2):
                inp, k = arc[4 * n + 2 * j], arc[4 * n + 2 * j + 1]
                x = nodes[inp]
                name = MICRO_OPS[k]
                if name in ("sep3", "sep5"):
                    x = self.slots[2 * n + j][inp * nops + k](x)
                elif name == "avg3":
                    x = avg3(x)
                elif name == "max3":
                    x = max3(x)
                t.append(x)
                used[inp] += 1
            nodes.append(t[0] + t[1])
        out = None
        for i in range(self.nodes + 2):
            if not used[i]:
                y = self.out_conv[i](F.relu(nodes[i]))
                out = y if out is None else out + y
        return self.out_bn(out), pp_next


class Micro(nn.Module):
    def __init__(self, L=6, Fch=20, nodes=5, keep_prob=0.9, classes=10):
        super().__init__()
        self.nodes = nodes
        self.stem = conv(3, 3 * Fch, 3)
        self.stem_bn = bn(3 * Fch)
        cells = []
        c_pp = c_p = 3 * Fch
        s_pp = s_p = 32
        f = Fch
        for cid in range(L + 2):
            reduce = cid == L // 3 or cid == 2 * (L // 3) + 1
            if reduce:
                f *= 2
            cell = MicroCell(nodes, f, reduce, c_pp, c_p, s_pp, s_p)
            cells.append(cell)
            if reduce:
                c_pp, s_pp = f, cell.size_in
            else:
                c_pp, s_pp = c_p, s_p
            c_p, s_p = f, cell.size_in
        self.cells = nn.ModuleList(cells)
        self.drop = nn.Dropout(1.0 - keep_prob) if keep_prob < 1 else nn.Identity()
        self.fc = nn.Linear(c_p, classes, bias=False)

    def forward(self, x, arch):
        half = 4 * self.nodes
        pp = p = self.stem_bn(self.stem(x))
        for cell in self.cells:
            arc = arch[half:] if cell.reduce else arch[:half]
            out, nxt = cell(pp, p, arc)
            pp = nxt if cell.reduce else p
            p = out
        h = torch.flatten(F.adaptive_avg_pool2d(F.relu(p), 1), 1)
        return self.fc(self.drop(h))


# ----------------------------------------------------------------------------------------- controller

class Controller(nn.Module):
    """An ENAS LSTM controller (TF GeneralController / MicroController, as NNI writes them): LSTM 64 x 1,
    tanh constant 1.5, attention over anchors for inputs, REINFORCE loss with a skip KL penalty."""

    def __init__(self, space, L, nb, nodes, nops, h=64, tanh_c=1.5, skip_target=0.4):
        super().__init__()
        self.space, self.L, self.nb, self.nodes, self.nops = space, L, nb, nodes, nops
        self.tanh_c, self.skip_target = tanh_c, skip_target
        self.lstm = nn.LSTMCell(h, h, bias=False)
        self.g_emb = nn.Parameter(torch.empty(1, h).uniform_(-0.1, 0.1))
        k = nb if space == "macro" else nops
        self.w_soft = nn.Linear(h, k, bias=False)
        self.w_emb = nn.Embedding(k, h)
        self.attn1 = nn.Linear(h, h, bias=False)
        self.attn2 = nn.Linear(h, h, bias=False)
        self.v = nn.Linear(h, 1, bias=False)
        self.op_bias = torch.tensor([0.25, 0.25, -0.25, -0.25, -0.25])
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def _step(self, inp, hc):
        return self.lstm(inp, hc)

    def _sample_logits(self, logits, lp, ent):
        logits = self.tanh_c * torch.tanh(logits)
        d = torch.distributions.Categorical(logits=logits)
        a = d.sample()
        lp.append(d.log_prob(a))
        ent.append(d.entropy().detach())
        return int(a)

    def sample(self):
        lp, ent, kl = [], [], []
        hc = None
        inp = self.g_emb
        if self.space == "macro":
            anchors, anchors_w1 = [], []
            for i in range(self.L):
                hx, cx = self._step(inp, hc)
                hc = (hx, cx)
                op = self._sample_logits(self.w_soft(hx), lp, ent)
                inp = self.w_emb(torch.tensor([op]))
                hx, cx = self._step(inp, hc)
                hc = (hx, cx)
                if i > 0:
                    q = torch.tanh(torch.cat(anchors_w1, 0) + self.attn2(hx))
                    logit = self.v(q)  # i x 1
                    logits = torch.cat([-logit, logit], 1)
                    logits = self.tanh_c * torch.tanh(logits)
                    d = torch.distributions.Categorical(logits=logits)
                    skip = d.sample()
                    lp.append(d.log_prob(skip).sum(0, keepdim=True))
                    ent.append(d.entropy().sum(0, keepdim=True).detach())
                    prob = torch.sigmoid(logits[:, 1:] - logits[:, :1])
                    t = self.skip_target
                    kl.append((prob * torch.log(prob / t) + (1 - prob) * torch.log((1 - prob) / (1 - t))).sum())
                    s = skip.float().view(1, i)
                    inp = (s @ torch.cat(anchors, 0)) / (1.0 + s.sum())
                else:
                    inp = self.g_emb
                anchors.append(hx)
                anchors_w1.append(self.attn1(hx))
        else:
            for cell in range(2):
                anchors, anchors_w1 = [], []
                for _ in range(2):
                    hx, cx = self._step(inp, hc)
                    hc = (hx, cx)
                    anchors.append(torch.zeros_like(hx))
                    anchors_w1.append(self.attn1(hx))
                for n in range(self.nodes):
                    for j in range(2):
                        hx, cx = self._step(inp, hc)
                        hc = (hx, cx)
                        q = torch.tanh(torch.cat(anchors_w1, 0) + self.attn2(hx))
                        idx = self._sample_logits(self.v(q).view(1, -1), lp, ent)
                        inp = anchors[idx]
                        hx, cx = self._step(inp, hc)
                        hc = (hx, cx)
                        logits = self.w_soft(hx)
                        if cell == 0:
                            logits = logits + self.op_bias
                        op = self._sample_logits(logits, lp, ent)
                        inp = self.w_emb(torch.tensor([op]))
                    hx, cx = self._step(inp, hc)
                    hc = (hx, cx)
                    anchors.append(hx)
                    anchors_w1.append(self.attn1(hx))
                inp = self.g_emb
        log_prob = torch.cat(lp).sum()
        skip_pen = torch.stack(kl).mean() if kl else torch.zeros(())
        return log_prob, skip_pen


def ctrl_update_ms(space, args, reps):
    """One controller update: 20 x (sample + backward of the REINFORCE loss), clip 5, Adam step."""
    torch.manual_seed(3)
    c = Controller(space, args.macro_layers, 6, args.micro_nodes, 5)
    opt = torch.optim.Adam(c.parameters(), lr=3.5e-4, betas=(0.9, 0.999), eps=1e-8)
    times = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        for _ in range(20):
            log_prob, skip_pen = c.sample()
            reward, baseline = 0.1, 0.05
            loss = (log_prob * (reward - baseline) + 0.8 * skip_pen) / 20
            loss.backward()
        nn.utils.clip_grad_norm_(c.parameters(), 5.0)
        opt.step()
        if r > 0:  # the first is warm-up
            times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]


# ---------------------------------------------------------------------------------------------- main

def vm_hwm_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def load_batch(n):
    """n CIFAR-10 images from $ENAS_DATA (normalised as the engine does), else N(0, 1) noise."""
    d = os.environ.get("ENAS_DATA", "")
    for cand in (os.path.join(d, "data_batch_1.bin"), os.path.join(d, "cifar-10-batches-bin", "data_batch_1.bin")):
        if d and os.path.isfile(cand):
            raw = torch.frombuffer(bytearray(open(cand, "rb").read(n * 3073)), dtype=torch.uint8).view(n, 3073)
            labels = raw[:, 0].long()
            x = raw[:, 1:].float().view(n, 3, 32, 32) / 255.0
            mean = torch.tensor([0.49139968, 0.48215827, 0.44653124]).view(1, 3, 1, 1)
            std = torch.tensor([0.24703233, 0.24348505, 0.26158768]).view(1, 3, 1, 1)
            return (x - mean) / std, labels, "cifar10"
    g = torch.Generator().manual_seed(7)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g), "random"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", choices=("macro", "micro"), required=True)
    ap.add_argument("--archs", required=True, help="one architecture a line, TF ints")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctrl-reps", type=int, default=3, help="controller updates timed (0: none)")
    ap.add_argument("--first-arch", type=int, default=0, help="index of the first architecture used")
    ap.add_argument("--macro-layers", type=int, default=12)
    ap.add_argument("--macro-filters", type=int, default=36)
    ap.add_argument("--micro-layers", type=int, default=6)
    ap.add_argument("--micro-filters", type=int, default=20)
    ap.add_argument("--micro-nodes", type=int, default=5)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    archs = [[int(v) for v in line.replace(",", " ").replace("|", " ").split()]
             for line in open(args.archs) if line.strip() and not line.startswith("#")]
    if args.space == "macro":
        net = Macro(args.macro_layers, args.macro_filters)
        want = args.macro_layers * (args.macro_layers + 1) // 2
    else:
        net = Micro(args.micro_layers, args.micro_filters, args.micro_nodes)
        want = 8 * args.micro_nodes
    for a in archs:
        if len(a) != want:
            sys.exit(f"torch_enas: an architecture has {len(a)} ints; {args.space} takes {want}")
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    net.train()
    x, y, data = load_batch(args.batch)
    x = x.contiguous(memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0)
    times, cpus, losses = [], [], []
    for s in range(args.warmup + args.steps):
        arch = archs[(args.first_arch + s) % len(archs)]
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x, arch), y)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        losses.append(float(loss))
        if s >= args.warmup:
            times.append(dt)
            cpus.append(dc)
    hwm = vm_hwm_kb()
    med = sorted(times)[len(times) // 2]
    ctrl = ctrl_update_ms(args.space, args, args.ctrl_reps) if args.ctrl_reps > 0 else None
    print(json.dumps({"program": "torch-" + ("channels_last" if args.channels_last else "nchw"),
                      "space": args.space, "first_arch": args.first_arch, "batch": args.batch, "threads": torch.get_num_threads(),
                      "data": data, "step_s": times, "cpu_s": cpus, "median_s": med, "images_per_s": args.batch / med,
                      "peak_rss_mb": hwm / 1024.0, "ctrl_update_ms": ctrl, "first_loss": losses[0],
                      "last_loss": losses[-1], "torch": torch.__version__}))


if __name__ == "__main__":
    main()
