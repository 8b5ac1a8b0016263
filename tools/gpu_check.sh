#!/usr/bin/env bash
# The one prepared GPU check of issue 14: the `gpu` tests, `bench generate` on a random-init 7B LLaVA
# (bf16 / bitsandbytes 8-bit / bitsandbytes nf4 / torchao int4) with batch 1/4/8 throughput, and the
# goals, all inside a hard time budget. Results go to $OUT (default ./gpu-check-out), at most 6 files:
#   gpu_check.log  env.json  bench_generate.json  gpu_tests.txt  summary.json  (and pip.txt on install)
#
# On the lent GPU machine (no registry there; its python3 has torch, transformers and accelerate):
#   here:   bash tools/gpu_wheels.sh          # bitsandbytes + torchao wheels into .whl/ (~46 MB)
#   device: bash tools/gpu_check.sh           # run with carry [".whl"], timeout_s 600
# Anywhere else with network: GPU_CHECK_INSTALL=project bash tools/gpu_check.sh (pip install -e '.[gpu,dev]').
# Without CUDA every step still runs, on the tiny model (the gpu tests then skip with their reason).
#
# Environment: OUT, PYTHON (default python3), GPU_CHECK_BUDGET_S (default 420: inside the device
# tool's 10-minute command limit, and with the machine's start-up it leaves room for a shorter rerun
# in a 15-minute lease), GPU_CHECK_INSTALL (auto|project|0), GPU_CHECK_QUICK=1
# (short runs, for the CPU self-test), GPU_CHECK_MODEL_DIR (where the 7B model is saved, ~14 GB).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="${OUT:-$ROOT/gpu-check-out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
BUDGET_S="${GPU_CHECK_BUDGET_S:-420}"
QUICK="${GPU_CHECK_QUICK:-0}"
MODEL_DIR="${GPU_CHECK_MODEL_DIR:-/tmp/radreview-gpu-check/llava7b}"
START=$(date +%s)
LOG="$OUT/gpu_check.log"
: >"$LOG"

elapsed() { echo $(($(date +%s) - START)); }
left() { echo $((BUDGET_S - $(elapsed))); }
log() { echo "[gpu_check $(elapsed)s/${BUDGET_S}s] $*" | tee -a "$LOG" >&2; }
# run_step NAME SECONDS CMD...: the command under a hard timeout (never past the budget); its status is echoed.
run_step() {
    local name=$1 limit=$2
    shift 2
    local cap
    cap=$(left)
    [ "$limit" -gt "$cap" ] && limit=$cap
    if [ "$limit" -le 5 ]; then
        log "$name: skipped, time budget spent"
        echo 124
        return
    fi
    log "$name: start (limit ${limit}s)"
    timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    local rc=$?
    log "$name: exit $rc"
    echo "$rc"
}

# 1. set-up: only what the machine lacks, never torch itself (the device's CUDA build stays).
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if ls .whl/*.whl >/dev/null 2>&1; then
    log "installing carried wheels: $(ls .whl | tr '\n' ' ')"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/radreview-site .whl/*.whl >"$OUT/pip.txt" 2>&1 || log "wheel install failed (see pip.txt)"
    export PYTHONPATH="$PYTHONPATH:/tmp/radreview-site"
elif [ "${GPU_CHECK_INSTALL:-auto}" = "project" ]; then
    log "installing the project with the gpu and dev extras and torchao"
    "$PY" -m pip install -q -e ".[gpu,dev]" torchao >"$OUT/pip.txt" 2>&1 || log "pip install failed (see pip.txt)"
elif [ "${GPU_CHECK_INSTALL:-auto}" = "auto" ]; then
    missing=$("$PY" - <<'EOF'
import importlib.util
print(" ".join(m for m in ("bitsandbytes", "accelerate", "torchao") if importlib.util.find_spec(m) is None))
EOF
)
    if [ -n "$missing" ]; then
        log "missing: $missing; trying pip (modes that need them are skipped with the reason if this fails)"
        timeout 120 "$PY" -m pip install -q $missing >"$OUT/pip.txt" 2>&1 || log "pip install failed (offline?)"
    fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

# 2. what this machine is.
"$PY" - >"$OUT/env.json" 2>>"$LOG" <<'EOF'
import importlib, json, platform, subprocess
info = {"python": platform.python_version(), "machine": platform.machine()}
for name in ("torch", "transformers", "accelerate", "bitsandbytes", "torchao", "numpy"):
    try:
        info[name] = importlib.import_module(name).__version__
    except Exception as exc:  # report, never stop the check
        info[name] = f"unavailable: {type(exc).__name__}: {exc}"[:200]
try:
    import torch
    info["cuda"] = torch.cuda.is_available()
    if info["cuda"]:
        p = torch.cuda.get_device_properties(0)
        info.update(device=p.name, memory_gb=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}",
                    torch_cuda=torch.version.cuda)
except Exception as exc:
    info["cuda"] = f"unavailable: {exc}"
try:
    info["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.sm",
                                         "--format=csv,noheader"], capture_output=True, text=True,
                                        timeout=20).stdout.strip()
except Exception as exc:
    info["nvidia_smi"] = f"unavailable: {exc}"
print(json.dumps(info, indent=1))
EOF
log "env: $(tr -d '\n' <"$OUT/env.json" | tr -s ' ')"
CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)

BENCH_ARGS=()
TEST_LIMIT=120
if [ "$CUDA" = "1" ]; then
    # 3. the 7B model, built on the GPU and saved once; the bench and the gpu tests both load it.
    if [ ! -f "$MODEL_DIR/config.json" ]; then
        rc=$(run_step "build 7B" 150 "$PY" -m bench.generate --build "$MODEL_DIR")
        [ "$rc" = 0 ] || log "the 7B build failed; the bench builds its own if time is left"
    fi
    [ -f "$MODEL_DIR/config.json" ] && BENCH_ARGS+=(--model-dir "$MODEL_DIR") && export RADREVIEW_LLAVA7B_DIR="$MODEL_DIR"
else
    log "no CUDA: tiny model, the gpu tests will skip with their reason"
    BENCH_ARGS+=(--tiny)
fi
[ "$QUICK" = 1 ] && BENCH_ARGS+=(--quick --draft-tokens 8 --batch-sizes 1,2) && TEST_LIMIT=60

# 4. bench generate: bf16 first (the ratios' baseline), the 4-bit paths, 8-bit last; no new mode
#    starts once the bench's own budget is spent (leaving time for the gpu tests), and the JSON is
#    rewritten after each mode, so a run cut by the timeout still returns the modes it finished.
BENCH_LIMIT=$(($(left) - TEST_LIMIT))
rc_bench=$(run_step "bench generate" "$BENCH_LIMIT" "$PY" -m bench.generate "${BENCH_ARGS[@]}" \
    --modes none,4bit,torchao-int4,8bit --budget-s $((BENCH_LIMIT - 80 > 30 ? BENCH_LIMIT - 80 : 30)) \
    --out "$OUT/bench_generate.json")

# 5. the gpu-marked tests (7B 4-bit/8-bit load and generate; 4-bit attention maps; batched generation on CUDA).
rc_tests=$(run_step "gpu tests" "$(left)" "$PY" -m pytest -m gpu -q -rs -p no:cacheprovider \
    tests/inference/test_gpu.py tests/inference/test_batch.py)
grep -E "passed|failed|skipped|error|PASSED|FAILED|SKIPPED|ERROR" "$LOG" | tail -40 >"$OUT/gpu_tests.txt"

# 6. summary: exit codes, goals, the table the README gets.
RC_BENCH=$rc_bench RC_TESTS=$rc_tests ELAPSED=$(elapsed) "$PY" - "$OUT" <<'EOF' | tee -a "$LOG"
import json, os, sys
out = sys.argv[1]
summary = {"bench_exit": int(os.environ["RC_BENCH"]), "gpu_tests_exit": int(os.environ["RC_TESTS"]),
           "elapsed_s": int(os.environ["ELAPSED"])}
try:
    summary["env"] = json.load(open(os.path.join(out, "env.json")))
except Exception as exc:
    summary["env"] = f"unreadable: {exc}"
try:
    bench = json.load(open(os.path.join(out, "bench_generate.json")))
    summary["goals"] = bench["goals"]
    from bench.report import table
    summary["table"] = table(bench["measures"])
except Exception as exc:
    summary["goals"] = f"no bench results: {exc}"
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
print(summary.get("table", ""))
for g in summary["goals"] if isinstance(summary["goals"], list) else []:
    value = "not measured" if g["value"] is None else f"{g['value']:.3g}"
    print(f"goal {'MET ' if g['met'] else 'MISS' if g['met'] is False else '----'} {g['goal']}: {value} (target {g['target']})")
print(f"bench exit {summary['bench_exit']}, gpu tests exit {summary['gpu_tests_exit']}, {summary['elapsed_s']} s")
EOF
[ "$rc_bench" = 0 ] && { [ "$rc_tests" = 0 ] || [ "$rc_tests" = 5 ]; }
