#!/usr/bin/env bash
# Download the wheels tools/gpu_check.sh installs on the GPU machine, which reaches no registry:
# bitsandbytes (8-bit / nf4) and torchao (int4 weight-only), for its Python 3.12 on x86-64 (~46 MB).
# Run here (where PyPI is reachable), then call the device tool with carry [".whl"].
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
for wheel in "bitsandbytes==0.50.2" "torchao==0.17.0"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${PLATFORMS[@]}" -d .whl "$wheel"
done
du -ch .whl/*.whl | tail -1
