#!/usr/bin/env bash
# GPU checks of the GPT-NeoX classifier (issue 3), meant to be sourced by scripts/gpu/smoke.sh
# after env.sh has been eval'ed (it uses smoke.sh's step/run helpers, $bin and $PYTHON):
#   1. HF transformers parity: w2st predict on CUDA vs GPTNeoXForSequenceClassification (float64,
#      CPU) on random HF-saved checkpoints, and HF from_pretrained of `w2st model export`;
#   2. pythia-410m shape forward+backward on CUDA (tokens/s), from the neox test binary, built
#      on a Go machine with:  go test -c -o bin/neox.test ./accel/neox
#   3. pythia-410m shape forward (w2st predict on a random preset) as a fallback needing only w2st.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
neox_test="${NEOX_TEST:-$(dirname "$bin")/neox.test}"

step "neox: logits vs transformers GPTNeoXForSequenceClassification, export loads in transformers"
run "$PYTHON" "$here/neox_check.py" --w2st "$bin" --backend cuda

step "neox: pythia-410m shape forward+backward on CUDA (batch 8, seq 512)"
if [ -x "$neox_test" ]; then
	run env W2ST_BACKEND=cuda "$neox_test" -test.run '^$' -test.bench 'ForwardBackward/pythia-410m$' -test.benchtime 3x
else
	echo "!! $neox_test missing (build it with: go test -c -o bin/neox.test ./accel/neox)"; fails=$((fails+1))
fi

step "neox: pythia-410m shape forward via w2st predict on CUDA"
tmpd=$(mktemp -d)
"$PYTHON" -c 'import json,random; r=random.Random(0); [print(json.dumps({"input_ids":[r.randrange(50277) for _ in range(r.randrange(129,257))]})) for _ in range(32)]' >"$tmpd/in.jsonl"
run "$bin" predict --model pythia-410m --input "$tmpd/in.jsonl" --out "$tmpd/out.jsonl" --backend cuda --batch-size 8
rm -rf "$tmpd"
