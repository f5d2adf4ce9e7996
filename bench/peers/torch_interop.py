#!/usr/bin/python3
"""Interop with PyTorch both ways: a sixpd checkpoint into plain torch modules, and a Hugging Face GPT-2 directory out.

1. --sixpd STEP_DIR: builds a plain torch model whose state_dict keys are sixpd's parameter names (GPT-2 as
   nanoGPT writes it: wte.weight, h.0.attn.c_attn.weight, ...; LLaMA as Hugging Face's LlamaForCausalLM:
   model.layers.0.self_attn.q_proj.weight, ...), loads STEP_DIR/model.safetensors with
   load_state_dict(strict=True) -- every key present, none extra, shapes equal -- and prints the mean cross-entropy
   of --tokens/--targets (JSON lists, one row) in float32.

2. --write-hf DIR: builds a GPT-2 as Hugging Face's GPT2LMHeadModel lays it out (transformer.wte, transformer.h.0.
   attn.c_attn as Conv1D with weight [in, out] and y = x W + b, the causal-mask buffer h.0.attn.bias, tied head),
   draws its weights from --seed, rounds them to bfloat16 and writes DIR/config.json, DIR/model.safetensors (BF16,
   written by hand: 8-byte little-endian header length, JSON header, raw data; Debian packages no safetensors) and
   a byte-level vocab.json + merges.txt (GPT-2's bytes_to_unicode, no merges); prints the loss of --tokens/--targets
   in float64 and the token ids of --text under that vocabulary.

Prints one JSON object. Run with Debian's python3-torch, threads pinned:

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_interop.py --sixpd out/step-00000010 \\
        --tokens '[1, 2, 3]' --targets '[2, 3, 4]'
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_llama import NORM_EPS, read_safetensors, rope_tables, rotate_half  # noqa: E402


# ---------------------------------------------------------------------------------------------------- GPT-2

class CausalSelfAttention(nn.Module):
    """q, k, v from one fused projection (Linear [3C, C], or GPT-2's Conv1D [C, 3C]), causal softmax, projection."""

    def __init__(self, C, NH, T, linear):
        super().__init__()
        self.NH = NH
        self.c_attn = linear(C, 3 * C)
        self.c_proj = linear(C, C)
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T),
                             persistent=linear is Conv1D)  # Hugging Face's old files carry the mask

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        hs = C // self.NH
        q, k, v = (t.view(B, T, self.NH, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Conv1D(nn.Module):
    """Hugging Face's GPT-2 linear layer: weight [in, out], y = x W + b."""

    def __init__(self, nx, nf):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return x @ self.weight + self.bias


class Mlp(nn.Module):
    def __init__(self, C, H, linear):
        super().__init__()
        self.c_fc = linear(C, H)
        self.c_proj = linear(H, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Gpt2Block(nn.Module):
    def __init__(self, C, NH, T, H, linear):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C, eps=NORM_EPS)
        self.attn = CausalSelfAttention(C, NH, T, linear)
        self.ln_2 = nn.LayerNorm(C, eps=NORM_EPS)
        self.mlp = Mlp(C, H, linear)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Gpt2(nn.Module):
    """GPT-2 with nanoGPT's names (no 'transformer.'), nn.Linear layers [out, in]: sixpd's GPT-2 checkpoint keys."""

    def __init__(self, V, T, L, C, NH, H, tied, linear=nn.Linear):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Gpt2Block(C, NH, T, H, linear) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C, eps=NORM_EPS)
        self.lm_head = None if tied else nn.Linear(C, V, bias=False)

    def forward(self, idx):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        head = self.wte.weight if self.lm_head is None else self.lm_head.weight
        return self.ln_f(x) @ head.t()


class HfGpt2(nn.Module):
    """GPT2LMHeadModel's layout: everything under 'transformer.', Conv1D layers, head tied to wte (not saved)."""

    def __init__(self, V, T, L, C, NH):
        super().__init__()
        self.transformer = Gpt2(V, T, L, C, NH, 4 * C, True, Conv1D)

    def forward(self, idx):
        return self.transformer(idx)


# ---------------------------------------------------------------------------------------------------- LLaMA

class RmsNorm(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(C))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * self.weight


class LlamaAttention(nn.Module):
    def __init__(self, C, NH, KVH, bias):
        super().__init__()
        self.NH, self.KVH, self.HS = NH, KVH, C // NH
        self.q_proj = nn.Linear(C, C, bias=bias)
        self.k_proj = nn.Linear(C, KVH * self.HS, bias=bias)
        self.v_proj = nn.Linear(C, KVH * self.HS, bias=bias)
        self.o_proj = nn.Linear(C, C, bias=bias)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.NH, self.HS).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.KVH, self.HS).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.KVH, self.HS).transpose(1, 2)
        q = q * cos[:T] + rotate_half(q) * sin[:T]
        k = k * cos[:T] + rotate_half(k) * sin[:T]
        k = k.repeat_interleave(self.NH // self.KVH, dim=1)
        v = v.repeat_interleave(self.NH // self.KVH, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.HS))
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        return self.o_proj((F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C))


class LlamaMlp(nn.Module):
    def __init__(self, C, H, bias):
        super().__init__()
        self.gate_proj = nn.Linear(C, H, bias=bias)
        self.up_proj = nn.Linear(C, H, bias=bias)
        self.down_proj = nn.Linear(H, C, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self, C, NH, KVH, H, bias):
        super().__init__()
        self.input_layernorm = RmsNorm(C)
        self.self_attn = LlamaAttention(C, NH, KVH, bias)
        self.post_attention_layernorm = RmsNorm(C)
        self.mlp = LlamaMlp(C, H, bias)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, V, L, C, NH, KVH, H, bias):
        super().__init__()
        self.embed_tokens = nn.Embedding(V, C)
        self.layers = nn.ModuleList([LlamaLayer(C, NH, KVH, H, bias) for _ in range(L)])
        self.norm = RmsNorm(C)


class Llama(nn.Module):
    """LlamaForCausalLM's names: model.embed_tokens, model.layers.{i}..., model.norm, lm_head (unless tied)."""

    def __init__(self, V, T, L, C, NH, KVH, H, bias, tied):
        super().__init__()
        self.model = LlamaModel(V, L, C, NH, KVH, H, bias)
        self.lm_head = None if tied else nn.Linear(C, V, bias=False)
        cos, sin = rope_tables(T, C // NH, torch.float32)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, idx):
        x = self.model.embed_tokens(idx)
        for layer in self.model.layers:
            x = layer(x, self.cos, self.sin)
        head = self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight
        return self.model.norm(x) @ head.t()


# ---------------------------------------------------------------------------------------------------- the two ways

def from_sixpd(step_dir, tokens, targets):
    """sixpd's checkpoint into a plain torch model, strictly; the loss in float32."""
    with open(os.path.join(step_dir, "state.json")) as f:
        c = json.load(f)["config"]
    V, T, L, C, NH = c["vocab"], c["context"], c["layers"], c["d_model"], c["heads"]
    if c.get("family", "gpt2") == "gpt2":
        plain = (c.get("norm", "layernorm"), c.get("pos", "learned"), c.get("mlp", "gelu"), c.get("bias", True),
                 c.get("kv_heads", NH), c.get("block", "sequential"))
        if plain != ("layernorm", "learned", "gelu", True, NH, "sequential"):
            raise SystemExit(f"this script's GPT-2 has GPT-2's parts only; the checkpoint's config is {c}")
        model = Gpt2(V, T, L, C, NH, c.get("mlp_hidden") or 4 * C, c.get("tie_head", True))
    else:
        if (c["norm"], c["pos"], c["mlp"], c["block"]) != ("rmsnorm", "rope", "swiglu", "sequential"):
            raise SystemExit(f"this script's LLaMA has LLaMA's parts only; the checkpoint's config is {c}")
        model = Llama(V, T, L, C, NH, c["kv_heads"], c["mlp_hidden"], c["bias"], c["tie_head"])
    params, _ = read_safetensors(os.path.join(step_dir, "model.safetensors"))
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in params.items()}
    result = model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key, or wrong shape
    with torch.no_grad():
        logits = model(torch.tensor([tokens]))
        loss = F.cross_entropy(logits.view(-1, V), torch.tensor(targets))
    return {"loss": loss.item(), "keys": len(state), "missing": list(result.missing_keys),
            "unexpected": list(result.unexpected_keys)}


def bytes_to_unicode():
    """GPT-2's encoder.py: printable bytes stand for themselves, the others get chr(256 + n)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(n) for n in cs]))


def write_hf(out, V, T, L, C, NH, seed, tokens, targets, text):
    """A GPT2LMHeadModel-layout directory with BF16 weights; its float64 loss and a text's ids."""
    torch.manual_seed(seed)
    model = HfGpt2(V, T, L, C, NH)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # random, gains away from 1, then rounded to bfloat16 (what the file stores)
            p.copy_((torch.randn_like(p) * (0.2 if p.dim() == 1 else 0.05) + (1.0 if name.endswith("ln_1.weight")
                     or name.endswith("ln_2.weight") or name.endswith("ln_f.weight") else 0.0))
                    .to(torch.bfloat16).to(torch.float32))
    os.makedirs(out, exist_ok=True)
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in model.state_dict().items():
        if name.endswith(".attn.bias"):
            raw = t.to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
            dtype = "F32"  # the mask buffer, as old GPT-2 files carry it
        else:
            raw = t.to(torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
            dtype = "BF16"
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
              "layer_norm_epsilon": 1e-5, "n_ctx": T, "n_positions": T, "n_embd": C, "n_head": NH, "n_layer": L,
              "n_inner": None, "vocab_size": V, "tie_word_embeddings": True, "torch_dtype": "bfloat16"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    # the byte-level vocabulary in GPT-2's order (byte b's character gets the next id), no merges
    b2u = bytes_to_unicode()
    vocab = {ch: i for i, ch in enumerate(b2u.values())}
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
    ids = [vocab[b2u[b]] for b in text.encode("utf-8")]
    with torch.no_grad():
        logits = model.double()(torch.tensor([tokens]))
        loss = F.cross_entropy(logits.view(-1, V), torch.tensor(targets))
    return {"loss": loss.item(), "text_ids": ids, "tensors": len(header) - 1}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sixpd", metavar="STEP_DIR", help="a sixpd checkpoint's step directory to load strictly")
    ap.add_argument("--write-hf", metavar="DIR", help="write a GPT-2-layout Hugging Face directory here")
    ap.add_argument("--shape", default="260,9,2,16,4", help="V,T,L,C,NH of --write-hf")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tokens", required=True, help="JSON list of token ids, one row")
    ap.add_argument("--targets", required=True, help="JSON list of target ids, as long as --tokens")
    ap.add_argument("--text", default="", help="--write-hf: also print this text's ids in the written vocabulary")
    a = ap.parse_args()
    torch.set_num_threads(1)
    tokens, targets = json.loads(a.tokens), json.loads(a.targets)
    if a.sixpd:
        print(json.dumps(from_sixpd(a.sixpd, tokens, targets)))
    elif a.write_hf:
        V, T, L, C, NH = (int(x) for x in a.shape.split(","))
        print(json.dumps(write_hf(a.write_hf, V, T, L, C, NH, a.seed, tokens, targets, a.text)))
    else:
        raise SystemExit("give --sixpd STEP_DIR or --write-hf DIR")


if __name__ == "__main__":
    main()
