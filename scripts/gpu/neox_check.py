#!/usr/bin/env python3
"""Compare w2st's GPT-NeoX classifier with HF transformers on a GPU machine (w2st issue 3).

Run with the GPU image's Python, which has torch + transformers:

    /opt/torch/.venv/bin/python scripts/gpu/neox_check.py --w2st bin/w2st --backend cuda

For two random configs (parallel residual with rotary_pct 0.25, and sequential residual without
attention biases) it
  1. builds a random GPTNeoXForSequenceClassification (random score head too) and saves it with
     save_pretrained(safe_serialization=True);
  2. computes HF's logits in float64 on the CPU, one unpadded row at a time;
  3. runs `w2st predict` on the HF folder with the requested backend and compares (abs tol --tol);
  4. runs `w2st model export` on the HF folder, loads the export with
     GPTNeoXForSequenceClassification.from_pretrained and checks its logits equal the original's.
Prints one JSON line per check and exits non-zero on any mismatch.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import GPTNeoXConfig, GPTNeoXForSequenceClassification

CONFIGS = {
    "parallel": dict(vocab_size=1000, hidden_size=96, num_hidden_layers=2, num_attention_heads=3,
                     intermediate_size=200, rotary_pct=0.25, rotary_emb_base=10000, max_position_embeddings=64,
                     use_parallel_residual=True, num_labels=3, attention_bias=True),
    "sequential": dict(vocab_size=777, hidden_size=80, num_hidden_layers=3, num_attention_heads=5,
                       intermediate_size=144, rotary_pct=0.25, rotary_emb_base=500, max_position_embeddings=64,
                       use_parallel_residual=False, num_labels=2, attention_bias=False),
}


def hf_logits(model, rows):
    model = model.double().eval()
    out = []
    with torch.no_grad():
        for ids in rows:
            out.append(model(input_ids=torch.tensor([ids])).logits[0].tolist())
    return out


def run(cmd):
    print("+", " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("command failed (%d): %s\n%s%s" % (r.returncode, " ".join(cmd), r.stdout, r.stderr))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--w2st", default="bin/w2st")
    ap.add_argument("--backend", default="cuda")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--rows", type=int, default=12)
    a = ap.parse_args()
    print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__}))
    fails = 0
    gen = torch.Generator().manual_seed(0)
    for seed, (name, kw) in enumerate(CONFIGS.items()):
        with tempfile.TemporaryDirectory() as tmp:
            torch.manual_seed(seed)
            cfg = GPTNeoXConfig(**kw, pad_token_id=1, bos_token_id=0, eos_token_id=0, hidden_act="gelu",
                                tie_word_embeddings=False)
            model = GPTNeoXForSequenceClassification(cfg)
            with torch.no_grad():
                for p in model.parameters():  # larger than HF's init so the check is not trivially small
                    p.add_(0.05 * torch.randn(p.shape, generator=gen))
            hf_dir = os.path.join(tmp, "hf")
            model.save_pretrained(hf_dir, safe_serialization=True)
            rows = []
            for i in range(a.rows):
                n = int(torch.randint(1, 40, (1,), generator=gen))
                rows.append(torch.randint(2, kw["vocab_size"], (n,), generator=gen).tolist())
            want = hf_logits(model, rows)
            inp = os.path.join(tmp, "in.jsonl")
            with open(inp, "w") as f:
                for ids in rows:
                    f.write(json.dumps({"input_ids": ids}) + "\n")
            out = os.path.join(tmp, "out.jsonl")
            run([a.w2st, "predict", "--model", hf_dir, "--input", inp, "--out", out, "--backend", a.backend,
                 "--batch-size", "4"])
            got = [json.loads(l)["logits"] for l in open(out)]
            err = max(abs(g - w) for gr, wr in zip(got, want) for g, w in zip(gr, wr))
            ok = len(got) == len(want) and err <= a.tol
            fails += not ok
            print(json.dumps({"check": "predict-vs-transformers", "config": name, "backend": a.backend,
                              "rows": len(got), "max_abs_err": err, "tol": a.tol, "ok": ok}))

            exp_dir = os.path.join(tmp, "export")
            run([a.w2st, "model", "export", hf_dir, "--out", exp_dir])
            loaded = GPTNeoXForSequenceClassification.from_pretrained(exp_dir)
            arch = json.load(open(os.path.join(exp_dir, "config.json")))["architectures"]
            got2 = hf_logits(loaded, rows)
            err2 = max(abs(g - w) for gr, wr in zip(got2, want) for g, w in zip(gr, wr))
            ok2 = err2 <= 1e-12 and arch == ["GPTNeoXForSequenceClassification"]
            fails += not ok2
            print(json.dumps({"check": "export-loads-in-transformers", "config": name, "architectures": arch,
                              "max_abs_err_vs_original": err2, "ok": ok2}))
    print(json.dumps({"failed_checks": fails}))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
