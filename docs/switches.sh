#!/usr/bin/env bash
# One row per switch: small's size, 600 steps on the default data, ledger JSON + log per run.
cd "$(dirname "$0")/.."   # the repository root
mkdir -p "${OUT:-/tmp/switches}"
S=600
run() { name=$1; shift; ./sixpd train --steps $S --sample-tokens 0 --eval-every 600 --out ${OUT:-/tmp/switches}/ck-$name --log ${OUT:-/tmp/switches}/$name.jsonl --ledger-json ${OUT:-/tmp/switches}/$name.ledger.json "$@" > ${OUT:-/tmp/switches}/$name.txt 2>&1; }
run gpt2 --preset small
run rmsnorm --preset small --norm rmsnorm
run rope --preset small --pos rope
run swiglu --preset small --mlp swiglu
run gqa2 --preset small --kv-heads 2
run mqa --preset small --kv-heads 1
run parallel --preset small --block parallel
run nobias --preset small --no-bias
run untied --preset small --no-tie-head
run llama --preset llama-small
echo ALLDONE > ${OUT:-/tmp/switches}/done
