#!/usr/bin/python3
"""Independent PyTorch reference for accel/train's optimisation step (w2st issue 5).

Trains a tiny classifier, logits_i = table[token_i] + bias, with torch.optim.AdamW
(weight decay on the table only, as w2st excludes rank-1 parameters), the w2st
learning-rate schedule (linear warm-up, then cosine), torch.nn.utils.clip_grad_norm_,
gradient accumulation over micro-batches with masked padding rows, and the
xent / product / logconf losses written from Burns et al.'s definitions
(torch.quantile for the logconf threshold). Writes the inputs and the expected
weights, losses and gradient norms per case as JSON.

Run with Debian's /usr/bin/python3 (python3-torch 1.13):
  adamw_ref.py OUT.json
"""
import json
import math
import sys

import torch

torch.manual_seed(0)
V, C = 5, 2


def make_batches(n, size, real_last):
    g = torch.Generator().manual_seed(1234)
    out = []
    for k in range(n):
        real = real_last if k == n - 1 else size
        tokens = torch.randint(0, V, (size,), generator=g).tolist()
        p1 = torch.rand(size, generator=g).tolist()
        soft = [[1 - p, p] for p in p1]
        mask = [1.0 if i < real else 0.0 for i in range(size)]
        for i in range(real, size):
            soft[i] = [1.0, 0.0]
        out.append({"tokens": tokens, "soft": soft, "mask": mask})
    return out


def lr_at(cfg, s, total):
    w = round(cfg["warmup_frac"] * total)
    if s < w:
        return cfg["lr"] * (s + 1) / w
    return cfg["lr"] * 0.5 * (1 + math.cos(math.pi * (s - w) / (total - w)))


def per_example_loss(name, logits, targets, coef, thr):
    logp = torch.log_softmax(logits, dim=-1)
    if name == "product":
        p = logp.exp().detach()
        q = p * targets
        targets = (q / q.sum(-1, keepdim=True)).detach()
    elif name == "logconf":
        p0 = logp.exp()[:, 0].detach()
        hard0 = (p0 >= thr).float()
        h = torch.stack([hard0, 1 - hard0], dim=-1)
        targets = (1 - coef) * targets + coef * h
    return -(targets * logp).sum(-1)


def run(case, init, batches):
    cfg = case["config"]
    table = torch.tensor(init["table"], dtype=torch.float32, requires_grad=True)
    bias = torch.tensor(init["bias"], dtype=torch.float32, requires_grad=True)
    opt = torch.optim.AdamW(
        [{"params": [table], "weight_decay": cfg["weight_decay"]}, {"params": [bias], "weight_decay": 0.0}],
        lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8)
    accum = cfg["accum_steps"]
    groups = [batches[i:i + accum] for i in range(0, len(batches), accum)]
    total = len(groups) * cfg["epochs"]
    losses, norms = [], []
    for s in range(total):
        micro = groups[s % len(groups)]
        for pg in opt.param_groups:
            pg["lr"] = lr_at(cfg, s, total)
        tens = [(torch.tensor(b["tokens"]), torch.tensor(b["soft"]), torch.tensor(b["mask"])) for b in micro]
        neff = sum(float(m.sum()) for _, _, m in tens)
        coef, thr = 0.0, 0.0
        if case["loss"] == "logconf":
            frac = s / total
            coef = 0.5 * min(1.0, frac / 0.1)
            with torch.no_grad():
                p0s, t1s = [], []
                for tok, soft, m in tens:
                    p0 = torch.softmax(table[tok] + bias, -1)[:, 0]
                    p0s.append(p0[m > 0])
                    t1s.append(soft[:, 1][m > 0])
                p0s, t1s = torch.cat(p0s).double(), torch.cat(t1s).double()
                thr = float(torch.quantile(p0s, t1s.mean()))
        opt.zero_grad()
        loss = 0.0
        for tok, soft, m in tens:
            logits = table[tok] + bias
            loss = loss + (per_example_loss(case["loss"], logits, soft, coef, thr) * m).sum() / neff
        loss.backward()
        clip = cfg["clip_norm"]
        if clip > 0:
            n = torch.nn.utils.clip_grad_norm_([table, bias], clip)
        else:
            n = torch.sqrt(table.grad.pow(2).sum() + bias.grad.pow(2).sum())
        opt.step()
        losses.append(float(loss))
        norms.append(float(n))
    return {"table": table.detach().reshape(-1).tolist(), "bias": bias.detach().tolist(),
            "losses": losses, "grad_norms": norms}


def main():
    out = sys.argv[1]
    init = {"table": (torch.randn(V, C) * 0.5).tolist(), "bias": [0.2, -0.1]}
    batches = make_batches(4, 6, 4)
    base = {"lr": 0.1, "weight_decay": 0.1, "warmup_frac": 0.25, "epochs": 2, "accum_steps": 1, "clip_norm": 0.0}
    cases = []
    for name, loss, over in [
        ("xent", "xent", {}),
        ("xent clipped accumulated", "xent", {"clip_norm": 0.1, "accum_steps": 2}),
        ("product", "product", {"clip_norm": 0.08}),
        ("logconf accumulated", "logconf", {"accum_steps": 2, "epochs": 3}),
    ]:
        cfg = dict(base, **over)
        case = {"name": name, "loss": loss, "config": cfg}
        case["expected"] = run(case, init, batches)
        cases.append(case)
    doc = {"vocab": V, "classes": C, "init": init, "batches": batches, "cases": cases,
           "generator": "scripts/train/adamw_ref.py (torch %s)" % torch.__version__}
    with open(out + ".tmp", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    import os
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
