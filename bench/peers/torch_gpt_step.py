#!/usr/bin/python3
"""PyTorch peer for sixpd's training-step benchmark: the same architecture (GPT-2 or LLaMA), shapes and optimizer.

Measures tokens/s of one full training step (forward, cross-entropy loss, backward, AdamW) in FP32 eager mode,
so `./sixpd bench step` can be compared side by side. Run with Debian's python3 (python3-torch 1.13) and pin
the thread pools, or PyTorch oversubscribes the cores:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
        /usr/bin/python3 bench/peers/torch_gpt_step.py --preset medium --threads 1

The LLaMA presets (llama-tiny, llama-small: tiny's and small's sizes with RMSNorm, RoPE, SwiGLU of 8C/3 rounded up
to 32, half as many K/V heads as query heads, no biases, untied head) use the model of torch_llama.py beside this
script, the one nn's TorchReferenceTest checks sixpd against.

Prints one JSON object: preset, threads, tokens_per_s (median over the timed steps), step_ms, params, autocast, blas.

blas is the BLAS library the process loaded (from /proc/self/maps). Debian's torch calls libblas.so.3, which is
the slow reference BLAS (/usr/lib/x86_64-linux-gnu/blas/libblas.so.3) unless an optimised one is installed:
apt-get install libopenblas0-pthread makes it OpenBLAS (on this machine a tiny step went from 430 ms to 77 ms).

--autocast bf16 runs the forward pass (and the loss) under torch.autocast("cpu", dtype=torch.bfloat16): matmuls in
bf16 through oneDNN, which uses the CPU's bf16 instructions where it has them (AVX512_BF16, AMX) and emulates them
otherwise. Not comparable FP32-with-FP32: `sixpd bench step --torch-bf16` reports it as a separate row.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # layers, d_model, heads, context, batch -- the same as sixpd's GptConfig presets and bench defaults
    "tiny": (2, 64, 4, 64, 16),
    "small": (4, 128, 4, 128, 16),
    "medium": (6, 384, 6, 256, 8),
    "llama-tiny": (2, 64, 4, 64, 16),
    "llama-small": (4, 128, 4, 128, 16),
}
KV_HEADS = {"llama-tiny": 2, "llama-small": 2}  # GptConfig.PRESETS: llama(..., heads 4, kvHeads 2)


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)
        self.NH = NH

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        hs = C // self.NH
        q = q.view(B, T, self.NH, hs).transpose(1, 2)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x


class GPT(nn.Module):
    def __init__(self, V, T, L, C, NH):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList([Block(C, NH) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.register_buffer("mask", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for blk in self.h:
            x = blk(x, self.mask)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied LM head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


class Llama(nn.Module):
    """torch_llama.Model with the (idx, targets) -> loss interface of GPT above."""

    def __init__(self, V, T, L, C, NH, KVH):
        super().__init__()
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch_llama
        self.model = torch_llama.Model(torch_llama.llama_config(V, T, L, C, NH, KVH))

    def forward(self, idx, targets):
        return self.model(idx, targets)[1]


def loaded_blas():
    """The path of the BLAS shared library this process mapped, or "?" (not Linux, or none loaded)."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if "blas" in os.path.basename(path) and ".so" in path:
                    return os.path.realpath(path)
    except OSError:
        pass
    return "?"


def build(preset, V):
    """The preset's model: GPT above, or the LLaMA of torch_llama.py."""
    L, C, NH, T, _ = PRESETS[preset]
    if preset in KV_HEADS:
        return Llama(V, T, L, C, NH, KV_HEADS[preset])
    return GPT(V, T, L, C, NH)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="medium", choices=sorted(PRESETS))
    ap.add_argument("--vocab", type=int, default=65, help="vocabulary size (65: a character vocabulary)")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default: the preset's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--autocast", default="none", choices=["none", "bf16"],
                    help="bf16: forward under torch.autocast('cpu', dtype=torch.bfloat16)")
    ap.add_argument("--list", action="store_true",
                    help="print each preset's shapes and parameter count, one JSON object per line, and stop")
    a = ap.parse_args()
    if a.list:
        for p in PRESETS:
            L, C, NH, T, B = PRESETS[p]
            m = build(p, a.vocab)
            print(json.dumps({"preset": p, "layers": L, "d_model": C, "heads": NH, "kv_heads": KV_HEADS.get(p, NH),
                              "context": T, "batch": B, "params": sum(q.numel() for q in m.parameters())}))
        return
    L, C, NH, T, B = PRESETS[a.preset]
    B = a.batch or B
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(a.preset, a.vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), weight_decay=0.1)
    idx = torch.randint(0, a.vocab, (B, T))
    tgt = torch.randint(0, a.vocab, (B, T))
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if a.autocast == "bf16":
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                loss = model(idx, tgt)
        else:
            loss = model(idx, tgt)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if i >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print(json.dumps({
        "peer": "pytorch", "version": torch.__version__, "preset": a.preset, "threads": a.threads,
        "batch": B, "context": T, "params": sum(p.numel() for p in model.parameters()),
        "step_ms": round(med * 1e3, 2), "tokens_per_s": round(B * T / med, 1), "autocast": a.autocast,
        "blas": loaded_blas(),
    }))


if __name__ == "__main__":
    main()
