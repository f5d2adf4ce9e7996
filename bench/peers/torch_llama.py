#!/usr/bin/python3
"""PyTorch reference of sixpd's model, every GptConfig switch: logits, loss and every parameter's gradient.

The model is written plainly in torch.nn from the same config sixpd builds its model from (GptConfig.toMap(): the
keys vocab, context, layers, d_model, heads, family, kv_heads, mlp_hidden, norm, pos, mlp, block, bias, tie_head),
with sixpd's parameter names (ModelSpec.Names: GPT-2's `h.0.attn.c_attn.weight` ... or Hugging Face
LlamaForCausalLM's `model.layers.0.self_attn.q_proj.weight` ...):

    x      = wte[tokens] (+ wpe[t] with learned positions)
    block  = x + attn(n1(x)); x + mlp(n2(x))          sequential
           = x + attn(n(x)) + mlp(n(x))               parallel: one norm
    n      = LayerNorm (x - mean)/std * g (+ b)  or  RMSNorm x / rms * g, eps 1e-5
    attn   = q, k, v = x Wq^T, x Wk^T, x Wv^T (one fused c_attn for GPT-2: rows q heads, then K heads, then V heads)
             q, k rotated by RoPE (rotate_half: channel i pairs with i + HS/2, angle pos * theta^(-2i/HS), theta 1e4)
             K/V heads repeated NH/KVH times (query head h reads K/V head h // (NH/KVH)), causal softmax(q k^T/sqrt(HS)) v
    mlp    = proj(gelu_tanh(fc(x)))  or  down(silu(gate(x)) * up(x))
    logits = n_f(x) W^T, W = wte (tied) or lm_head.weight;  loss = mean cross-entropy

Weights are PyTorch's [out, in] (y = x W^T + b), as sixpd stores them.

Command line (what nn's TorchReferenceTest runs):

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        /usr/bin/python3 bench/peers/torch_llama.py --in model.safetensors --out grads.safetensors [--in ... --out ...] [--dtype float64]

--in is a safetensors file of every parameter (F32) by sixpd's name; its __metadata__ holds "config" (the JSON of
GptConfig.toMap()), "batch", "seq" and "tokens", "targets" (JSON lists of B*T ints, row-major [B, T]). --out gets
"loss" [1], "logits" [B, T, V] and "grad.NAME" for every parameter, all F32. --dtype float64 (the default)
computes in double, so the result is a reference for sixpd's FP32 rather than another FP32 rounding of it.
The safetensors reader and writer are the few lines below (struct + json + numpy; Debian 12 packages no
python3-safetensors).
"""
import argparse
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NORM_EPS = 1e-5       # GptConfig.NORM_EPS: LayerNorm and RMSNorm (LLaMA's rms_norm_eps)
ROPE_THETA = 10000.0  # GptConfig.ROPE_THETA


# ---------------------------------------------------------------------------------------------------- config

def default_mlp_hidden(mlp, C):
    """GELU: 4C. SwiGLU: 8C/3 rounded up to a multiple of 32 (GptConfig.defaultMlpHidden)."""
    if mlp == "gelu":
        return 4 * C
    h = (8 * C + 2) // 3
    return (h + 31) // 32 * 32


def llama_config(vocab, context, layers, d_model, heads, kv_heads):
    """GptConfig.llama: RMSNorm, RoPE, SwiGLU of 8C/3 rounded up to 32, kv_heads K/V heads, no biases, untied."""
    return {"vocab": vocab, "context": context, "layers": layers, "d_model": d_model, "heads": heads,
            "family": "llama", "kv_heads": kv_heads, "mlp_hidden": default_mlp_hidden("swiglu", d_model),
            "norm": "rmsnorm", "pos": "rope", "mlp": "swiglu", "block": "sequential", "bias": False,
            "tie_head": False}


def gpt2_config(vocab, context, layers, d_model, heads):
    """GptConfig.gpt2: LayerNorm, learned positions, GELU MLP of 4C, multi-head, biases, tied head."""
    return {"vocab": vocab, "context": context, "layers": layers, "d_model": d_model, "heads": heads,
            "family": "gpt2", "kv_heads": heads, "mlp_hidden": 4 * d_model, "norm": "layernorm", "pos": "learned",
            "mlp": "gelu", "block": "sequential", "bias": True, "tie_head": True}


class Names:
    """sixpd's checkpoint names by family (ModelSpec.Names)."""

    def __init__(self, cfg):
        self.gpt2 = cfg["family"] == "gpt2"

    def block(self, l):
        return f"h.{l}." if self.gpt2 else f"model.layers.{l}."

    def wte(self):
        return "wte.weight" if self.gpt2 else "model.embed_tokens.weight"

    def wpe(self):
        return "wpe.weight" if self.gpt2 else "model.embed_positions.weight"

    def norm1(self, l):
        return self.block(l) + ("ln_1" if self.gpt2 else "input_layernorm")

    def norm2(self, l):
        return self.block(l) + ("ln_2" if self.gpt2 else "post_attention_layernorm")

    def qkv(self, l):
        if self.gpt2:
            return [self.block(l) + "attn.c_attn"]
        a = self.block(l) + "self_attn."
        return [a + "q_proj", a + "k_proj", a + "v_proj"]

    def attn_proj(self, l):
        return self.block(l) + ("attn.c_proj" if self.gpt2 else "self_attn.o_proj")

    def mlp_up(self, l):
        return self.block(l) + ("mlp.c_fc" if self.gpt2 else "mlp.up_proj")

    def mlp_gate(self, l):
        return self.block(l) + ("mlp.c_gate" if self.gpt2 else "mlp.gate_proj")

    def mlp_down(self, l):
        return self.block(l) + ("mlp.c_proj" if self.gpt2 else "mlp.down_proj")

    def norm_f(self):
        return "ln_f" if self.gpt2 else "model.norm"


# ---------------------------------------------------------------------------------------------------- layers

class Norm(nn.Module):
    """LayerNorm (with or without bias) or RMSNorm over the last dimension, eps 1e-5."""

    def __init__(self, C, kind, bias):
        super().__init__()
        self.kind = kind
        self.weight = nn.Parameter(torch.ones(C))
        self.bias = nn.Parameter(torch.zeros(C)) if kind == "layernorm" and bias else None

    def forward(self, x):
        if self.kind == "layernorm":
            return F.layer_norm(x, (x.size(-1),), self.weight, self.bias, NORM_EPS)
        # RMSNorm: x / sqrt(mean(x^2) + eps) * g
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * self.weight


def rope_tables(T, HS, dtype):
    """cos, sin [T, HS]: angle pos * theta^(-2i/HS) for i < HS/2, repeated for the second half (rotate_half's
    layout); computed in double like sixpd's Rope.table, then rounded to dtype."""
    inv_freq = ROPE_THETA ** (-torch.arange(0, HS, 2, dtype=torch.float64) / HS)
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().to(dtype), ang.sin().to(dtype)


def rotate_half(x):
    """[x1, x2] -> [-x2, x1] over the last dimension (Hugging Face's RoPE pairing: i with i + HS/2)."""
    h = x.size(-1) // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    """Causal self-attention with NH query heads and KVH key/value heads (grouped-query when KVH < NH)."""

    def __init__(self, cfg):
        super().__init__()
        C, NH, KVH = cfg["d_model"], cfg["heads"], cfg["kv_heads"]
        self.NH, self.KVH, self.HS = NH, KVH, C // NH
        b = cfg["bias"]
        KV = KVH * self.HS
        self.fused = cfg["family"] == "gpt2"
        if self.fused:
            self.c_attn = nn.Linear(C, C + 2 * KV, bias=b)
        else:
            self.q_proj = nn.Linear(C, C, bias=b)
            self.k_proj = nn.Linear(C, KV, bias=b)
            self.v_proj = nn.Linear(C, KV, bias=b)
        self.o_proj = nn.Linear(C, C, bias=b)
        self.rope = cfg["pos"] == "rope"

    def projections(self):
        return [self.c_attn] if self.fused else [self.q_proj, self.k_proj, self.v_proj]

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        NH, KVH, HS = self.NH, self.KVH, self.HS
        if self.fused:
            q, k, v = self.c_attn(x).split([C, KVH * HS, KVH * HS], dim=2)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(B, T, NH, HS).transpose(1, 2)   # [B, NH, T, HS]
        k = k.view(B, T, KVH, HS).transpose(1, 2)  # [B, KVH, T, HS]
        v = v.view(B, T, KVH, HS).transpose(1, 2)
        if self.rope:
            c, s = cos[:T], sin[:T]
            q = q * c + rotate_half(q) * s
            k = k * c + rotate_half(k) * s
        if KVH != NH:
            # query head h reads K/V head h // (NH/KVH): repeat each K/V head NH/KVH times in place
            k = k.repeat_interleave(NH // KVH, dim=1)
            v = v.repeat_interleave(NH // KVH, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HS))
        att = att.masked_fill(~mask[:T, :T], float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Mlp(nn.Module):
    """GELU (tanh) MLP proj(gelu(fc(x))), or SwiGLU down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg):
        super().__init__()
        C, H, b = cfg["d_model"], cfg["mlp_hidden"], cfg["bias"]
        self.swiglu = cfg["mlp"] == "swiglu"
        self.gate = nn.Linear(C, H, bias=b) if self.swiglu else None
        self.up = nn.Linear(C, H, bias=b)
        self.down = nn.Linear(H, C, bias=b)

    def forward(self, x):
        if self.swiglu:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(F.gelu(self.up(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.parallel = cfg["block"] == "parallel"
        self.norm1 = Norm(cfg["d_model"], cfg["norm"], cfg["bias"])
        self.attn = Attention(cfg)
        self.norm2 = None if self.parallel else Norm(cfg["d_model"], cfg["norm"], cfg["bias"])
        self.mlp = Mlp(cfg)

    def forward(self, x, cos, sin, mask):
        if self.parallel:
            n = self.norm1(x)
            return x + self.attn(n, cos, sin, mask) + self.mlp(n)
        x = x + self.attn(self.norm1(x), cos, sin, mask)
        return x + self.mlp(self.norm2(x))


class Model(nn.Module):
    """The whole model; `named()` maps sixpd's parameter names to this module's tensors."""

    def __init__(self, cfg, dtype=torch.float32):
        super().__init__()
        cfg = dict(cfg)
        if not cfg.get("mlp_hidden"):
            cfg["mlp_hidden"] = default_mlp_hidden(cfg["mlp"], cfg["d_model"])
        self.cfg = cfg
        V, T, C = cfg["vocab"], cfg["context"], cfg["d_model"]
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C) if cfg["pos"] == "learned" else None
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg["layers"])])
        self.norm_f = Norm(C, cfg["norm"], cfg["bias"])
        self.lm_head = None if cfg["tie_head"] else nn.Linear(C, V, bias=False)
        self.to(dtype)
        cos, sin = rope_tables(T, C // cfg["heads"], dtype)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)), persistent=False)

    def named(self):
        """{sixpd name: parameter}, in no particular order; a tied head is the token embedding (one entry)."""
        n = Names(self.cfg)
        out = {n.wte(): self.wte.weight}
        if self.wpe is not None:
            out[n.wpe()] = self.wpe.weight

        def linear(name, mod):
            out[name + ".weight"] = mod.weight
            if mod.bias is not None:
                out[name + ".bias"] = mod.bias

        def norm(name, mod):
            out[name + ".weight"] = mod.weight
            if mod.bias is not None:
                out[name + ".bias"] = mod.bias

        for l, blk in enumerate(self.blocks):
            norm(n.norm1(l), blk.norm1)
            for name, mod in zip(n.qkv(l), blk.attn.projections()):
                linear(name, mod)
            linear(n.attn_proj(l), blk.attn.o_proj)
            if blk.norm2 is not None:
                norm(n.norm2(l), blk.norm2)
            if blk.mlp.gate is not None:
                linear(n.mlp_gate(l), blk.mlp.gate)
            linear(n.mlp_up(l), blk.mlp.up)
            linear(n.mlp_down(l), blk.mlp.down)
        norm(n.norm_f(), self.norm_f)
        if self.lm_head is not None:
            out["lm_head.weight"] = self.lm_head.weight
        return out

    def forward(self, idx, targets):
        """logits [B, T, V] and the mean cross-entropy over the B*T targets."""
        B, T = idx.shape
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T))
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.mask)
        head = self.wte.weight if self.lm_head is None else self.lm_head.weight
        logits = self.norm_f(x) @ head.t()
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


# ---------------------------------------------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def read_safetensors(path):
    """({name: float ndarray}, metadata) of an F32/F64 safetensors file: 8-byte LE header length, JSON, data."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        if h["dtype"] not in _DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {h['dtype']}; this reader takes F32 and F64")
        b, e = h["data_offsets"]
        a = np.frombuffer(buf, dtype=_DTYPES[h["dtype"]], count=(e - b) // _DTYPES[h["dtype"]].itemsize,
                          offset=8 + n + b)
        out[name] = a.reshape(h["shape"])
    return out, meta


def write_safetensors(path, tensors, meta=None):
    """Writes {name: tensor} as F32, in dict order, header padded with spaces to a multiple of 8."""
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().to(torch.float32).numpy(), dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------------- main

def run(inp, out, dtype, dname):
    """Reads the parameters and batch of `inp`, writes loss, logits and gradients to `out`."""
    params, meta = read_safetensors(inp)
    for k in ("config", "batch", "seq", "tokens", "targets"):
        if k not in meta:
            raise SystemExit(f"{inp}: __metadata__ lacks '{k}'")
    cfg = json.loads(meta["config"])
    B, T = int(meta["batch"]), int(meta["seq"])
    idx = torch.tensor(json.loads(meta["tokens"]), dtype=torch.long).view(B, T)
    tgt = torch.tensor(json.loads(meta["targets"]), dtype=torch.long).view(B, T)
    model = Model(cfg, dtype)
    named = model.named()
    missing = sorted(set(named) - set(params))
    extra = sorted(set(params) - set(named))
    if missing or extra:
        raise SystemExit(f"{inp}: parameter names differ from the config's: missing {missing}, unexpected {extra}")
    with torch.no_grad():
        for name, p in named.items():
            if tuple(p.shape) != tuple(params[name].shape):
                raise SystemExit(f"{inp}: {name} has shape {list(params[name].shape)}, the config says"
                                 f" {list(p.shape)}")
            p.copy_(torch.from_numpy(params[name].astype(np.float64)).to(dtype))
    logits, loss = model(idx, tgt)
    loss.backward()
    result = {"loss": loss.detach().reshape(1), "logits": logits.detach()}
    for name in sorted(named):
        result["grad." + name] = named[name].grad
    write_safetensors(out, result, {"torch": torch.__version__, "dtype": dname})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--in", dest="inp", action="append", required=True,
                    help="parameters + metadata (config, batch, seq, tokens, targets); repeat with --out for more")
    ap.add_argument("--out", action="append", required=True,
                    help="loss, logits and grad.NAME for every parameter (F32), one per --in")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if len(a.inp) != len(a.out):
        raise SystemExit(f"{len(a.inp)} --in but {len(a.out)} --out: give one --out per --in")
    torch.set_num_threads(a.threads)
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    for inp, out in zip(a.inp, a.out):
        run(inp, out, dtype, a.dtype)


if __name__ == "__main__":
    main()
