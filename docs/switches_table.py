#!/usr/bin/env python3
"""Tabulates $OUT/*.ledger.json and *.jsonl (docs/switches.sh, OUT default /tmp/switches) into the README's
'From GPT-2 to LLaMA' table."""
import json, os
OUT = os.environ.get("OUT", "/tmp/switches")
rows = [("gpt2", "`small` (GPT-2: LayerNorm, learned positions, GELU 4C, 4 heads, biases, tied head)"),
        ("rmsnorm", "`--norm rmsnorm`"), ("rope", "`--pos rope`"), ("swiglu", "`--mlp swiglu` (H = 352)"),
        ("gqa2", "`--kv-heads 2`"), ("mqa", "`--kv-heads 1`"), ("parallel", "`--block parallel`"),
        ("nobias", "`--no-bias`"), ("untied", "`--no-tie-head`"),
        ("llama", "`llama-small` (all of the above but parallel: RMSNorm, RoPE, SwiGLU, 2 K/V heads, no bias, untied)")]
print("| model | P | FLOPs/token (train) | ÷ 6·P | activations saved | KV cache / token | val loss @ 600 |")
print("|---|---:|---:|---:|---:|---:|---:|")
for key, label in rows:
    f = f"{OUT}/{key}.ledger.json"
    if not os.path.exists(f):
        continue
    d = json.load(open(f))
    c = d["config"]
    hs = c["d_model"] // c["heads"]
    kv = 2 * c["layers"] * c["kv_heads"] * hs * 4
    mem = d["memory_bytes"]["activations"]
    act = mem["measured"] if isinstance(mem, dict) else mem
    val = None
    for line in open(f"{OUT}/{key}.jsonl"):
        o = json.loads(line)
        if "val_loss" in o:
            val = o["val_loss"]
    print(f"| {label} | {d['parameters']:,} | {d['total_flops_per_token']:,.0f} | {d['ratio_to_6pd']:.3f} | "
          f"{act/1e6:,.1f} MB | {kv:,} B | {val:.4f} |")
