#!/usr/bin/python3
"""Independent PyTorch reference of the GPT-NeoX sequence classifier (w2st issue 3).

Written from the semantics of HF transformers' GPTNeoXForSequenceClassification as described in
the issue (no HF code): embed_in; per layer input_layernorm -> fused query_key_value viewed as
[B,S,heads,3*hd] and split q|k|v per head -> rotary (rotate-half, inv_freq = base^(-2i/rot)) on the
first int(hd*rotary_pct) dims of q and k -> causal+padding mask -> softmax -> dense; MLP
dense_h_to_4h -> exact GELU -> dense_4h_to_h; parallel or sequential residual; final_layer_norm;
hidden state at lengths-1; score (no bias).

Run with Debian's /usr/bin/python3 (python3-torch 1.13). Subcommands:

  fixtures OUTDIR      write the parity fixtures (checkpoints, inputs, expected logits and gradients)
  bench --hidden ...   forward+backward tokens/s on CPU for one shape
  check-export DIR IN  load an exported folder (config.json + model.safetensors) with this reference's
                       own safetensors reader, run IN (a JSONL of input_ids) and print logits as JSONL
  bigckpt DIR MB       write a random f32 checkpoint of about MB megabytes (for load-memory measurements)
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

# ---------------------------------------------------------------------------- safetensors (own code)

_DT = {
    "F64": (np.float64, 8), "F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (None, 2),
    "I64": (np.int64, 8), "I32": (np.int32, 4), "I16": (np.int16, 2), "I8": (np.int8, 1),
    "U8": (np.uint8, 1), "BOOL": (np.bool_, 1),
}


def _tensor_bytes(t):
    """Returns (dtype string, shape, raw little-endian bytes) of a torch tensor."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return "BF16", list(t.shape), t.view(torch.int16).numpy().astype("<i2").tobytes()
    m = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.int64: "I64",
         torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
    name = m[t.dtype]
    arr = t.numpy()
    if arr.dtype.byteorder == ">":
        arr = arr.byteswap()
    return name, list(t.shape), arr.tobytes()


def save_safetensors(path, tensors, metadata=None):
    """Writes a dict name -> torch tensor in the safetensors format (sorted by name, 8-byte aligned header)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        dt, shape, raw = _tensor_bytes(tensors[name])
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    """Reads a safetensors file into a dict name -> float64/int torch tensor (BF16/F16 upcast exactly)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[base + a:base + b]
        shape = info["shape"]
        if info["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_DT[info["dtype"]][0]).newbyteorder("<"))
        out[name] = torch.from_numpy(arr.copy().reshape(shape))
    return out


# ---------------------------------------------------------------------------- the model


class Cfg:
    def __init__(self, d):
        self.vocab = d["vocab_size"]
        self.hidden = d["hidden_size"]
        self.layers = d["num_hidden_layers"]
        self.heads = d["num_attention_heads"]
        self.inter = d["intermediate_size"]
        self.rotary_pct = d.get("partial_rotary_factor", d.get("rotary_pct", 0.25))
        self.base = d.get("rope_theta", d.get("rotary_emb_base", 10000.0))
        self.eps = d.get("layer_norm_eps", 1e-5)
        self.parallel = d.get("use_parallel_residual", True)
        self.attn_bias = d.get("attention_bias", True)
        self.labels = d.get("num_labels", 2)
        self.hd = self.hidden // self.heads
        self.rot = int(self.hd * self.rotary_pct)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def linear(x, p, name, bias=True):
    y = x @ p[name + ".weight"].t()
    if bias and (name + ".bias") in p:
        y = y + p[name + ".bias"]
    return y


def rotate(x, rot, base, positions):
    """Rotary on the first rot dims of x [B,heads,S,hd], rotate-half convention."""
    if rot == 0:
        return x
    inv = 1.0 / (base ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))
    ang = positions.to(torch.float64)[:, None] * inv[None, :]  # [S, rot/2]
    ang = torch.cat([ang, ang], dim=-1).to(x.dtype)  # [S, rot]
    cos, sin = torch.cos(ang), torch.sin(ang)
    xr, xp = x[..., :rot], x[..., rot:]
    x1, x2 = xr[..., : rot // 2], xr[..., rot // 2:]
    rh = torch.cat([-x2, x1], dim=-1)
    return torch.cat([xr * cos + rh * sin, xp], dim=-1)


def forward(cfg, p, tokens, lengths):
    """Logits [B, labels]. p: dict of HF-named tensors (all the same float dtype)."""
    B, S = tokens.shape
    x = p["gpt_neox.embed_in.weight"][tokens]  # [B,S,H]
    pos = torch.arange(S)
    causal = pos[None, :] <= pos[:, None]  # [q,k]
    keyok = pos[None, :] < lengths[:, None]  # [B,k]
    allowed = causal[None, None, :, :] & keyok[:, None, None, :]  # [B,1,q,k]
    for l in range(cfg.layers):
        pre = "gpt_neox.layers.%d." % l
        h = layer_norm(x, p[pre + "input_layernorm.weight"], p[pre + "input_layernorm.bias"], cfg.eps)
        qkv = linear(h, p, pre + "attention.query_key_value")
        qkv = qkv.view(B, S, cfg.heads, 3 * cfg.hd).permute(0, 2, 1, 3)  # [B,heads,S,3hd]
        q, k, v = qkv[..., : cfg.hd], qkv[..., cfg.hd: 2 * cfg.hd], qkv[..., 2 * cfg.hd:]
        q = rotate(q, cfg.rot, cfg.base, pos)
        k = rotate(k, cfg.rot, cfg.base, pos)
        sc = (q @ k.transpose(-1, -2)) / math.sqrt(cfg.hd)
        sc = sc.masked_fill(~allowed, float("-inf"))
        pr = torch.softmax(sc, dim=-1)
        a = (pr @ v).permute(0, 2, 1, 3).reshape(B, S, cfg.hidden)
        a = linear(a, p, pre + "attention.dense")

        def mlp(z):
            z = linear(z, p, pre + "mlp.dense_h_to_4h")
            z = 0.5 * z * (1.0 + torch.erf(z / math.sqrt(2.0)))
            return linear(z, p, pre + "mlp.dense_4h_to_h")

        if cfg.parallel:
            m = mlp(layer_norm(x, p[pre + "post_attention_layernorm.weight"], p[pre + "post_attention_layernorm.bias"], cfg.eps))
            x = x + a + m
        else:
            x = x + a
            x = x + mlp(layer_norm(x, p[pre + "post_attention_layernorm.weight"], p[pre + "post_attention_layernorm.bias"], cfg.eps))
    x = layer_norm(x, p["gpt_neox.final_layer_norm.weight"], p["gpt_neox.final_layer_norm.bias"], cfg.eps)
    pooled = x[torch.arange(B), lengths - 1]  # [B,H]
    return pooled @ p["score.weight"].t()


def soft_xent(logits, soft):
    return -(soft * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


def param_shapes(cfg):
    H, I = cfg.hidden, cfg.inter
    out = {"gpt_neox.embed_in.weight": [cfg.vocab, H]}
    for l in range(cfg.layers):
        pre = "gpt_neox.layers.%d." % l
        out[pre + "input_layernorm.weight"] = [H]
        out[pre + "input_layernorm.bias"] = [H]
        out[pre + "post_attention_layernorm.weight"] = [H]
        out[pre + "post_attention_layernorm.bias"] = [H]
        out[pre + "attention.query_key_value.weight"] = [3 * H, H]
        out[pre + "attention.dense.weight"] = [H, H]
        if cfg.attn_bias:
            out[pre + "attention.query_key_value.bias"] = [3 * H]
            out[pre + "attention.dense.bias"] = [H]
        out[pre + "mlp.dense_h_to_4h.weight"] = [I, H]
        out[pre + "mlp.dense_h_to_4h.bias"] = [I]
        out[pre + "mlp.dense_4h_to_h.weight"] = [H, I]
        out[pre + "mlp.dense_4h_to_h.bias"] = [H]
    out["gpt_neox.final_layer_norm.weight"] = [H]
    out["gpt_neox.final_layer_norm.bias"] = [H]
    out["score.weight"] = [cfg.labels, H]
    return out


def random_params(cfg, gen, std=0.15):
    p = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith("layernorm.weight"):
            p[name] = 1.0 + 0.2 * torch.randn(shape, generator=gen)
        elif name.endswith(".bias"):
            p[name] = 0.1 * torch.randn(shape, generator=gen)
        elif name == "gpt_neox.embed_in.weight":
            p[name] = torch.randn(shape, generator=gen)
        else:
            p[name] = std * torch.randn(shape, generator=gen)
    return p


# ---------------------------------------------------------------------------- fixtures

CASES = [
    # name, config, batch lengths, seq, storage dtype, extras
    dict(name="parallel", seq=11, lengths=[11, 7, 1, 4], dtype=torch.float32, score=True, extras=True, shards=1,
         config=dict(vocab_size=97, hidden_size=72, num_hidden_layers=2, num_attention_heads=3, intermediate_size=136,
                     rotary_pct=0.25, rotary_emb_base=10000, max_position_embeddings=16, layer_norm_eps=1e-5,
                     use_parallel_residual=True, hidden_act="gelu", attention_bias=True, num_labels=3,
                     id2label={"0": "neg", "1": "neu", "2": "pos"})),
    dict(name="sequential", seq=9, lengths=[9, 5, 2], dtype=torch.bfloat16, score=True, extras=False, shards=2,
         config=dict(vocab_size=83, hidden_size=40, num_hidden_layers=3, num_attention_heads=5, intermediate_size=100,
                     partial_rotary_factor=0.25, rope_theta=500.0, max_position_embeddings=32, layer_norm_eps=1e-5,
                     use_parallel_residual=False, hidden_act="gelu", attention_bias=False, num_labels=2)),
    dict(name="noscore", seq=6, lengths=[3, 6], dtype=torch.float16, score=False, extras=False, shards=1,
         config=dict(vocab_size=50, hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=40,
                     rotary_pct=0.5, rotary_emb_base=10000, max_position_embeddings=8, layer_norm_eps=1e-5,
                     use_parallel_residual=True, hidden_act="gelu", num_labels=2)),
]

GRAD_PARAMS = ["gpt_neox.embed_in.weight", "gpt_neox.layers.0.attention.query_key_value.weight",
               "gpt_neox.layers.0.attention.query_key_value.bias", "gpt_neox.layers.0.input_layernorm.weight",
               "gpt_neox.layers.LAST.mlp.dense_4h_to_h.weight", "gpt_neox.layers.LAST.attention.dense.weight",
               "gpt_neox.final_layer_norm.bias", "score.weight"]


def write_case(outdir, case, seed):
    gen = torch.Generator().manual_seed(seed)
    d = os.path.join(outdir, case["name"])
    os.makedirs(d, exist_ok=True)
    cfg_json = dict(case["config"])
    cfg_json.update(architectures=["GPTNeoXForCausalLM"], model_type="gpt_neox", torch_dtype="float32",
                    bos_token_id=0, eos_token_id=0, tie_word_embeddings=False, use_cache=True,
                    transformers_version="4.40.0")
    cfg = Cfg(cfg_json)
    p = random_params(cfg, gen)
    store = {k: v.to(case["dtype"]) for k, v in p.items()}
    if not case["score"]:
        del store["score.weight"]
    if case["extras"]:  # tensors HF checkpoints carry that the classifier ignores
        mp = cfg_json["max_position_embeddings"]
        store["embed_out.weight"] = torch.randn(cfg.vocab, cfg.hidden, generator=gen).to(case["dtype"])
        for l in range(cfg.layers):
            store["gpt_neox.layers.%d.attention.bias" % l] = torch.tril(torch.ones(mp, mp, dtype=torch.bool))[None, None]
            store["gpt_neox.layers.%d.attention.masked_bias" % l] = torch.tensor(-1e9)
            store["gpt_neox.layers.%d.attention.rotary_emb.inv_freq" % l] = torch.zeros(cfg.rot // 2)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg_json, f, indent=2, sort_keys=True)
        f.write("\n")
    names = sorted(store)
    if case["shards"] == 1:
        save_safetensors(os.path.join(d, "model.safetensors"), store, {"format": "pt"})
    else:
        n = case["shards"]
        weight_map, total = {}, 0
        for i in range(n):
            fn = "model-%05d-of-%05d.safetensors" % (i + 1, n)
            part = {k: store[k] for k in names[i::n]}
            for k in part:
                weight_map[k] = fn
                total += part[k].numel() * part[k].element_size()
            save_safetensors(os.path.join(d, fn), part, {"format": "pt"})
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
            f.write("\n")

    # Reference computation in float64 from the stored (rounded) values.
    p64 = {k: v.to(torch.float64) for k, v in store.items() if k in p}
    if not case["score"]:
        p64["score.weight"] = torch.zeros(cfg.labels, cfg.hidden, dtype=torch.float64)
    B, S = len(case["lengths"]), case["seq"]
    lengths = torch.tensor(case["lengths"], dtype=torch.int64)
    tokens = torch.randint(0, cfg.vocab, (B, S), generator=gen)  # padding positions hold random ids too
    soft = torch.softmax(torch.randn(B, cfg.labels, generator=gen, dtype=torch.float64) * 2, dim=-1)
    for v in p64.values():
        v.requires_grad_(True)
    logits = forward(cfg, p64, tokens, lengths)
    loss = soft_xent(logits, soft)
    wanted = [n.replace("LAST", str(cfg.layers - 1)) for n in GRAD_PARAMS]
    wanted = [n for n in wanted if n in p64]
    grads = torch.autograd.grad(loss, [p64[n] for n in wanted])
    exp = {"tokens": tokens.to(torch.int32), "lengths": lengths.to(torch.int32), "soft_labels": soft.to(torch.float32),
           "logits": logits.detach().to(torch.float32), "loss": loss.detach().reshape(1).to(torch.float32)}
    # The same tokens with every padding position replaced by another id must give the same logits.
    for n, g in zip(wanted, grads):
        exp["grad/" + n] = g.to(torch.float32)
    save_safetensors(os.path.join(d, "expected.safetensors"), exp, {"seed": str(seed)})
    print("wrote %s: logits %s loss %.6f" % (d, list(logits.shape), loss.item()))


def cmd_fixtures(a):
    for i, case in enumerate(CASES):
        write_case(a.outdir, case, seed=1000 + i)


# ---------------------------------------------------------------------------- export check


def cmd_check_export(a):
    with open(os.path.join(a.dir, "config.json")) as f:
        cj = json.load(f)
    assert cj["architectures"] == ["GPTNeoXForSequenceClassification"], cj["architectures"]
    assert cj["model_type"] == "gpt_neox"
    assert len(cj["id2label"]) == cj["num_labels"] == len(cj["label2id"])
    cfg = Cfg(cj)
    st = load_safetensors(os.path.join(a.dir, "model.safetensors"))
    want = param_shapes(cfg)
    missing = sorted(set(want) - set(st))
    extra = sorted(set(st) - set(want))
    bad = sorted(n for n in want if n in st and list(st[n].shape) != want[n])
    if missing or extra or bad:
        sys.exit("export mismatch: missing %s unexpected %s misshaped %s" % (missing, extra, bad))
    p = {k: v.to(torch.float64) for k, v in st.items()}
    with torch.no_grad():
        for line in open(a.input):
            ids = json.loads(line)["input_ids"]
            t = torch.tensor([ids])
            lg = forward(cfg, p, t, torch.tensor([len(ids)]))
            print(json.dumps({"logits": [float(x) for x in lg[0]]}))


# ---------------------------------------------------------------------------- benchmark

SHAPES = {
    "tiny": dict(vocab_size=50304, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
    "pythia-14m": dict(vocab_size=50304, hidden_size=128, num_hidden_layers=6, num_attention_heads=4, intermediate_size=512),
    "pythia-70m": dict(vocab_size=50304, hidden_size=512, num_hidden_layers=6, num_attention_heads=8, intermediate_size=2048),
}


def cmd_bench(a):
    import time
    torch.manual_seed(0)
    cj = dict(SHAPES[a.shape], num_labels=2)
    cfg = Cfg(cj)
    gen = torch.Generator().manual_seed(0)
    p = {k: (0.02 * torch.randn(s, generator=gen)).requires_grad_(True) for k, s in param_shapes(cfg).items()}
    for k in p:
        if k.endswith("layernorm.weight"):
            p[k] = torch.ones_like(p[k]).requires_grad_(True)
    B, S = a.batch, a.seq
    tokens = torch.randint(0, cfg.vocab, (B, S), generator=gen)
    lengths = torch.randint(1, S + 1, (B,), generator=gen)
    soft = torch.softmax(torch.randn(B, cfg.labels, generator=gen), dim=-1)

    def step():
        loss = soft_xent(forward(cfg, p, tokens, lengths), soft)
        grads = torch.autograd.grad(loss, list(p.values()))
        return grads

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t0) / a.steps
    print(json.dumps({"shape": a.shape, "batch": B, "seq": S, "threads": torch.get_num_threads(),
                      "sec_per_step": dt, "tokens_per_sec": B * S / dt}))


# ---------------------------------------------------------------------------- big checkpoint


def cmd_bigckpt(a):
    """A random f32 checkpoint of about a.mb MB (pythia-like shape, vocab 50304)."""
    hidden, layers = 1024, 1
    while True:
        cfg_json = dict(vocab_size=50304, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=16,
                        intermediate_size=4 * hidden, rotary_pct=0.25, num_labels=2)
        size = sum(math.prod(s) for s in param_shapes(Cfg(cfg_json)).values()) * 4
        if size >= a.mb * 1e6:
            break
        layers += 1
    cfg_json.update(model_type="gpt_neox", architectures=["GPTNeoXForSequenceClassification"])
    os.makedirs(a.dir, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    p = {k: 0.02 * torch.randn(s, generator=gen) for k, s in param_shapes(Cfg(cfg_json)).items()}
    save_safetensors(os.path.join(a.dir, "model.safetensors"), p)
    with open(os.path.join(a.dir, "config.json"), "w") as f:
        json.dump(cfg_json, f, indent=2)
    print("wrote %s: %d layers, %.1f MB" % (a.dir, layers, size / 1e6))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("outdir")
    b = sub.add_parser("bench")
    b.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--seq", type=int, default=128)
    b.add_argument("--steps", type=int, default=3)
    b.add_argument("--warmup", type=int, default=1)
    c = sub.add_parser("check-export")
    c.add_argument("dir")
    c.add_argument("input")
    g = sub.add_parser("bigckpt")
    g.add_argument("dir")
    g.add_argument("mb", type=float)
    a = ap.parse_args()
    torch.set_num_threads(max(1, int(os.environ.get("W2ST_REF_THREADS", str(torch.get_num_threads())))))
    {"fixtures": cmd_fixtures, "bench": cmd_bench, "check-export": cmd_check_export, "bigckpt": cmd_bigckpt}[a.cmd](a)


if __name__ == "__main__":
    main()
