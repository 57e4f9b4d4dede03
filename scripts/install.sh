#!/usr/bin/env bash
# Install skvae, and torch first, into the active Python environment.
#
#   bash scripts/install.sh            # the package and its runtime dependencies
#   bash scripts/install.sh test       # ... plus an extra (test, docs, benchmarks)
#
# torch comes first because PyPI's default Linux build bundles CUDA (several GB):
# - torch already importable: kept as it is;
# - a GPU (nvidia-smi sees one): the default build, which has CUDA;
# - otherwise a CPU-only build when pip can see one (a local wheelhouse or an
#   extra index in PIP_EXTRA_INDEX_URL), else the default build, which runs on
#   the CPU too. SKVAE_TORCH_VERSION picks the CPU release (default 2.13.0).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}

if "$PY" -c "import torch" 2>/dev/null; then
  echo "install.sh: keeping torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "install.sh: GPU found, installing torch with CUDA"
  "$PY" -m pip install "torch>=2.2"
else
  cpu="torch==${SKVAE_TORCH_VERSION:-2.13.0}+cpu"
  echo "install.sh: no GPU, looking for a CPU-only build ($cpu)"
  if ! "$PY" -m pip install "$cpu" 2>/dev/null; then
    echo "install.sh: no CPU-only build at hand, installing PyPI's default torch"
    "$PY" -m pip install "torch>=2.2"
  fi
fi

if [ -n "${1:-}" ]; then
  "$PY" -m pip install -e ".[$1]"
else
  "$PY" -m pip install -e .
fi
