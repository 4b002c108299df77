#!/usr/bin/env bash
# Measured GPU throughput. On a machine where CUDA works (`deno task setup-gpu`, then
# `deno task xcompare doctor`), runs on CUDA alone (no CPU fallback anywhere):
#   1. doctor, which must open the provider;
#   2. the Scorer benchmark (bench/scorer.ts) on the zoo (or $MODELS);
#   3. the gradient benchmark (bench/grad.ts) on the same models;
#   4. the config's whole DAG from an empty store (`reproduce --require-provider`), and, for the
#      embedded default, a comparison of its results with the CPU's (reports/expected/default.json,
#      its tolerances; bench/compare_to_cpu.ts);
#   5. bench/gpu_throughput.ts, which writes throughput.json for `xcompare plan --throughput`,
#      and that plan.
# Everything lands in $OUT. With PROVIDER=cpu the same runs on the CPU: the stand-in used to test
# this script where there is no GPU.
#
#   bench/gpu.sh
#   PROVIDER=cpu ROUNDS=1 OUT=/tmp/gpu-standin bench/gpu.sh
#
# Environment: PROVIDER (cuda), CONFIG (configs/default.json), OUT (bench/gpu-results), MODELS
# (ONNX files for both benchmarks; default: zoo/models/*.onnx), ROUNDS (4), SECONDS_PER_ROUND
# (0.5, Scorer), BATCH (128, Scorer), DAG (1; 0 skips step 4), KEEP_STORE (0; 1 keeps step 4's
# store), DEVICE (a name for the device; default: nvidia-smi's first GPU, or the CPU), DENO (the
# deno binary; default: deno on PATH, else npx deno@2.9.6).
set -euo pipefail
cd "$(dirname "$0")/.."
PROVIDER=${PROVIDER:-cuda}
CONFIG=${CONFIG:-configs/default.json}
OUT=${OUT:-bench/gpu-results}
ROUNDS=${ROUNDS:-4}
SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-0.5}
BATCH=${BATCH:-128}
DAG=${DAG:-1}
KEEP_STORE=${KEEP_STORE:-0}
DENO=${DENO:-$(command -v deno || true)}
if [ -z "$DENO" ]; then DENO="npx -y deno@2.9.6"; fi
read -r -a models <<<"${MODELS:-$(echo zoo/models/*.onnx)}"
if [ -z "${DEVICE:-}" ]; then
  if [ "$PROVIDER" != cpu ] && command -v nvidia-smi >/dev/null; then
    DEVICE="1x $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)"
  else
    DEVICE="CPU, $(nproc) cores"
  fi
fi
export NO_COLOR=1
mkdir -p "$OUT"
log() { echo "gpu.sh: $*" >&2; }
start=$SECONDS

log "1/5 doctor: $PROVIDER must open"
if ! $DENO task xcompare doctor --json --require-provider "$PROVIDER" >"$OUT/doctor.json"; then
  log "$PROVIDER does not open here: see 'next' in $OUT/doctor.json"
  exit 1
fi

log "2/5 Scorer benchmark on $PROVIDER (${#models[@]} models, $ROUNDS rounds): $OUT/scorer.json"
scorer_models=()
for m in "${models[@]}"; do scorer_models+=(--model "$m"); done
$DENO run -A bench/scorer.ts --provider "$PROVIDER" --only-models "${scorer_models[@]}" \
  --rounds "$ROUNDS" --seconds "$SECONDS_PER_ROUND" --batch "$BATCH" >"$OUT/scorer.json"

log "3/5 gradient benchmark on $PROVIDER: $OUT/grad.jsonl"
$DENO run -A bench/grad.ts --provider "$PROVIDER" --rounds "$ROUNDS" "${models[@]}" \
  >"$OUT/grad.jsonl"

run_args=()
if [ "$DAG" = 1 ]; then
  run_id="gpu-bench-$(date -u +%Y%m%d-%H%M%S)"
  # Under the xcompare task's write permission (artifacts/, reports/), in folders of its own.
  store="artifacts/$run_id" reps="reports/$run_id"
  log "4/5 $CONFIG from an empty store on $PROVIDER (run $run_id): $OUT/dag.log"
  XCOMPARE_ARTIFACTS="$store" XCOMPARE_REPORTS="$reps" $DENO task xcompare reproduce \
    --config "$CONFIG" --require-provider "$PROVIDER" --run-id "$run_id" >"$OUT/dag.log" 2>&1 ||
    { log "the DAG run failed: see $OUT/dag.log"; exit 1; }
  cp "$reps/$run_id/run.json" "$OUT/dag-run.json"
  cp "$reps/$run_id/results.json" "$OUT/dag-results.json"
  run_args=(--run "$OUT/dag-run.json")
  if [ "$CONFIG" = configs/default.json ]; then
    if $DENO run --allow-read bench/compare_to_cpu.ts reports/expected/default.json \
      "$OUT/dag-results.json" >"$OUT/compare.txt" 2>&1; then
      log "    results match the CPU's within the stated tolerances ($OUT/compare.txt)"
    else
      log "    results DIFFER from the CPU's beyond the stated tolerances: see $OUT/compare.txt"
    fi
  fi
  if [ "$KEEP_STORE" != 1 ]; then rm -rf "$store" "$reps"; fi
else
  log "4/5 skipped (DAG=0)"
fi

log "5/5 $OUT/throughput.json and the plan it gives ($OUT/plan.txt)"
$DENO run --allow-read bench/gpu_throughput.ts --config "$CONFIG" --provider "$PROVIDER" \
  --device "$DEVICE" --scorer "$OUT/scorer.json" --grad "$OUT/grad.jsonl" ${run_args[@]+"${run_args[@]}"} \
  >"$OUT/throughput.json"
$DENO task xcompare plan --config "$CONFIG" --throughput "$OUT/throughput.json" --no-measure \
  >"$OUT/plan.txt"
cat "$OUT/plan.txt"
log "done in $((SECONDS - start)) s; $OUT/throughput.json is what \`xcompare plan --throughput\` reads"
