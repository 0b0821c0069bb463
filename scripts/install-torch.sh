#!/usr/bin/env bash
# Install requirements.txt's torch into a virtual environment before the rest of requirements.txt:
# the CPU build (about 200 MB) where there is no NVIDIA GPU, rather than the index's several-GB CUDA build.
#
#   scripts/install-torch.sh PYTHON [--dry-run]      (the Makefile runs it with the venv's python)
#
# TORCH=auto (default): cuda where `nvidia-smi -L` lists a GPU or NVIDIA_GPUS_DIR (default
#                       /proc/driver/nvidia/gpus) is not empty, else cpu on Linux; elsewhere the package
#                       index's build (its macOS and Windows wheels hold no CUDA).
# TORCH=cpu             the CPU build from TORCH_CPU_INDEX (default https://download.pytorch.org/whl/cpu),
#                       or the package index's build where that index does not answer within 10 s
#                       (as in CI here, whose package index gives a CPU build).
# TORCH=cuda            the package index's build: CUDA on Linux.
# --dry-run             say what it would do and print the pip command instead of running it.
#
# A torch of the pinned version and the wanted kind already installed is kept; the other kind is replaced.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${1:?usage: scripts/install-torch.sh PYTHON [--dry-run]}
DRY_RUN=${2:-}
WANT=${TORCH:-auto}
CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
GPUS_DIR=${NVIDIA_GPUS_DIR:-/proc/driver/nvidia/gpus}
VERSION=$(sed -n 's/^torch==\([^ ;#]*\).*/\1/p' requirements.txt)
[ -n "$VERSION" ] || { echo "install-torch: requirements.txt pins no torch==VERSION" >&2; exit 2; }

has_nvidia_gpu() {
    { command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; } ||
        [ -n "$(ls -A "$GPUS_DIR" 2>/dev/null)" ]
}

# The torch installed now: "cpu", "cuda" (it needs nvidia-* packages or says +cu…) or "none"
# (none, or another version than requirements.txt's).
installed_kind() {
    "$PY" - "$VERSION" <<'PYTHON'
import importlib.metadata as md
import sys

try:
    version, requires = md.version("torch"), md.requires("torch") or []
except md.PackageNotFoundError:
    version, requires = "", []
public, _, local = version.partition("+")
cuda = local.startswith("cu") or any(r.startswith("nvidia-") for r in requires)
print("none" if public != sys.argv[1] else "cuda" if cuda else "cpu")
PYTHON
}

answers() {  # does this index answer at all (any HTTP status) within 10 s?
    "$PY" - "$1" <<'PYTHON'
import sys
import urllib.error
import urllib.request

try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=10)
except urllib.error.HTTPError:
    pass  # it answered
except (OSError, ValueError):
    sys.exit(1)
PYTHON
}

pip_install() {  # pip install torch==VERSION with these options; under --dry-run only print the command
    if [ "$DRY_RUN" = --dry-run ]; then
        echo "would run: $PY -m pip install -q${*:+ $*} torch==$VERSION"
    else
        "$PY" -m pip install -q "$@" "torch==$VERSION"
    fi
}

case "$WANT" in
    auto)
        if has_nvidia_gpu; then KIND=cuda WHY="an NVIDIA GPU is present"
        elif [ "$(uname -s)" = Linux ]; then KIND=cpu WHY="no NVIDIA GPU found"
        else KIND=index WHY="the package index's $(uname -s) wheels hold no CUDA"; fi ;;
    cpu) KIND=cpu WHY="TORCH=cpu" ;;
    cuda) KIND=cuda WHY="TORCH=cuda" ;;
    *) echo "install-torch: TORCH=$WANT: choose auto, cpu or cuda" >&2; exit 2 ;;
esac

HAVE=$(installed_kind)
if [ "$HAVE" = "$KIND" ] || { [ "$KIND" = index ] && [ "$HAVE" != none ]; }; then
    echo "install-torch: torch $VERSION ($HAVE build) is already installed ($WHY)"
    exit 0
fi
FORCE=""
[ "$HAVE" = none ] || FORCE=--force-reinstall  # the same version of the other kind satisfies ==VERSION

if [ "$KIND" != cpu ]; then
    echo "install-torch: torch $VERSION from the package index ($WHY)"
    pip_install $FORCE
    exit 0
fi
if answers "$CPU_INDEX"; then
    echo "install-torch: torch $VERSION, CPU build from $CPU_INDEX ($WHY; TORCH=cuda for the CUDA build)"
    # Replacing a CUDA build: keep its dependencies, the CPU build needs no more.
    pip_install $FORCE ${FORCE:+--no-deps} --index-url "$CPU_INDEX" && exit 0
    echo "install-torch: the CPU index failed; torch $VERSION from the package index instead" >&2
else
    echo "install-torch: $CPU_INDEX does not answer: torch $VERSION from the package index" \
        "(a CPU build only where the index has one; PyPI's for Linux is the CUDA build, several GB)"
fi
pip_install $FORCE
