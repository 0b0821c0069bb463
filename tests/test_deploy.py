"""The deployment files, checked as far as this machine allows (it has no Docker daemon and no cluster).

- The Dockerfile lints clean (hadolint), the Kubernetes manifests too (yamllint), HAProxy accepts
  deploy/haproxy.cfg and the config ``scripts/replicas.py`` derives from it.
- The Dockerfile's own steps, read from the file and run in a fresh virtual environment on a copy
  of the tree filtered by .dockerignore, give an environment that runs the app, serves
  /_stcore/health, and passes the image's HEALTHCHECK command. Not checked here: the base image,
  the non-root user, the build itself, the bytecode pip writes (see below).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scripts.replicas import free_ports, haproxy_config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(str(BIN / name))
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_the_dockerfile_lints_clean():
    result = subprocess.run([tool("hadolint"), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_has_what_a_host_needs():
    instructions = [line for line in DOCKERFILE.splitlines() if line and not line.startswith((" ", "#"))]
    base = next(line for line in instructions if line.startswith("FROM "))
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim-\w+", base), base  # pinned to a patch version
    assert "torch==2.13.0" in DOCKERFILE and "download.pytorch.org/whl/cpu" in DOCKERFILE
    assert any(line.startswith("USER ") and line.split()[1] != "0" for line in instructions)
    assert "EXPOSE 8501" in instructions and "/_stcore/health" in DOCKERFILE
    cmd = json.loads(next(line for line in instructions if line.startswith("CMD ")).removeprefix("CMD "))
    assert cmd[:4] == ["python", "-m", "streamlit", "run"] and "--server.address=0.0.0.0" in cmd


def test_the_kubernetes_manifests_lint_clean():
    result = subprocess.run([tool("yamllint"), "-s", "deploy/k8s", ".yamllint.yaml"], cwd=ROOT, capture_output=True,
                            text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    deployment = (ROOT / "deploy" / "k8s" / "deployment.yaml").read_text()
    assert deployment.count("path: /_stcore/health") == 2  # readiness and liveness
    ingress = (ROOT / "deploy" / "k8s" / "ingress.yaml").read_text()
    assert 'affinity: "cookie"' in ingress


@pytest.mark.parametrize("n", [1, 3, 5])
def test_haproxy_accepts_its_config_for_any_number_of_replicas(tmp_path, n):
    haproxy = tool("haproxy")
    derived = haproxy_config(list(range(9001, 9001 + n)), 9000, str(tmp_path / "s.sock"))
    for name, text in [("as-written", (ROOT / "deploy" / "haproxy.cfg").read_text()), ("derived", derived)]:
        config = tmp_path / f"{name}.cfg"
        config.write_text(text)
        result = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    derived = haproxy_config(list(range(9001, 9001 + n)), 9000, "s.sock")
    assert derived.count(" check cookie app") == n and "cookie VPE_REPLICA insert" in derived
    assert "balance source" not in derived and "option redispatch" in derived


def dockerignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule, as far as .dockerignore uses it: a pattern matches the path or a parent of it."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p, pattern.removeprefix("**/"))
               or fnmatch.fnmatch(parts[i], pattern.removeprefix("**/"))
               for pattern in patterns for i, p in enumerate(prefixes))  # fmt: skip


# Run in the fresh venv while the image's CMD starts: the packages are the ones asked for, and the page runs with them.
IN_THE_VENV = """
import torch
cpu_build = torch.__version__.startswith("2.13.0") and torch.version.cuda is None
assert cpu_build, (torch.__version__, torch.version.cuda)
from vizlib import weights
assert weights.shipped_model_path() is not None  # the offline real model is there
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception and not at.error and len(at.get("plotly_chart")) >= 2, at.exception
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/opt/wheels").exists() and not os.environ.get("PIP_INDEX_URL"),
                    reason="needs a package index reachable without download.pytorch.org")  # fmt: skip
def test_the_images_install_steps_serve_the_app(tmp_path):
    """The Dockerfile's RUN pip lines, verbatim but for the torch index (a mirror, as its build
    argument allows: download.pytorch.org is not reachable here) and ``--no-compile``, in a fresh
    venv; then its CMD and HEALTHCHECK.

    ``--no-compile`` skips pip's byte-compiling of the ~11,000 modules it installs, about half of the
    install steps' time; it checks nothing (pip installs the same files either way and only logs a
    module that does not compile). Here Python compiles what the app imports as it imports it."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]  # fmt: skip
    app = tmp_path / "app"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for relative in tracked:
        if not dockerignored(relative, patterns) and (ROOT / relative).exists():
            (app / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, app / relative)
    assert (app / "app.py").exists() and (app / "assets").is_dir() and not (app / "tests").exists()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    runs = re.findall(r"(?m)^RUN (pip install .*)$", DOCKERFILE)
    assert len(runs) == 3, runs
    mirror = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple")
    for line in runs:
        args = shlex.split(line.replace('"$TORCH_INDEX"', mirror))
        subprocess.run([python, "-m", *args, "--no-compile"], cwd=app, check=True, capture_output=True, timeout=900,
                       env={**os.environ, "PIP_NO_CACHE_DIR": "1"})  # fmt: skip
    cmd = json.loads(re.search(r"(?m)^CMD (.*)$", DOCKERFILE).group(1))
    (port,) = free_ports(1)
    cmd = [python if c == "python" else c.replace("8501", str(port)) for c in cmd]
    server = subprocess.Popen(cmd, cwd=app, stdout=open(tmp_path / "server.log", "w"), stderr=subprocess.STDOUT)
    try:
        subprocess.run([python, "-c", IN_THE_VENV], cwd=app, check=True, timeout=300)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the image's CMD did not serve /_stcore/health: " + (tmp_path / "server.log").read_text())
        check = json.loads(re.search(r"(?m)^    CMD (\[.*\])$", DOCKERFILE).group(1))
        check = [python if c == "python" else c.replace("8501", str(port)) for c in check]
        assert subprocess.run(check, timeout=10).returncode == 0  # the HEALTHCHECK, verbatim but the port
    finally:
        server.terminate()
        server.wait(timeout=20)
