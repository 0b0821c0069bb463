"""scripts/install-torch.sh: which torch build `make run` and `make test` install, decided in --dry-run.

Nothing is downloaded: a fake `nvidia-smi` on PATH stands for a GPU, a local HTTP server for the
CPU index that answers and a closed port for one that does not.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import socket
import subprocess
import sys
import threading
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-torch.sh"
PINNED = re.search(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
SYSTEM_PATH = "/usr/bin:/bin"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """The python of a new virtual environment without torch (nor pip: nothing is installed)."""
    where = tmp_path_factory.mktemp("bare-venv")
    venv.create(where, with_pip=False)
    return str(where / "bin" / "python")


@pytest.fixture(scope="module")
def answering_index(tmp_path_factory):
    """A URL that answers HTTP, as the CPU index does where it is reachable."""
    folder = tmp_path_factory.mktemp("index")
    (folder / "torch").mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()


@pytest.fixture(scope="module")
def silent_index() -> str:
    """A URL nobody answers: a loopback port just closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/whl/cpu"


def fake_nvidia_smi(folder: Path, gpu: bool) -> Path:
    """An `nvidia-smi` that lists one GPU, or fails as it does where the driver finds none."""
    folder.mkdir(exist_ok=True)
    tool = folder / "nvidia-smi"
    answer = "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'" if gpu else "echo 'NVIDIA-SMI has failed' >&2; exit 9"
    tool.write_text(f"#!/bin/sh\n{answer}\n")
    tool.chmod(0o755)
    return folder


def dry_run(python: str, index: str, tmp_path: Path, *, path: str = SYSTEM_PATH, **env) -> tuple[int, str]:
    """(exit status, what it printed) of the script in --dry-run for this python, index and PATH."""
    full_env = {
        "PATH": path,
        "HOME": str(tmp_path),
        "TORCH_CPU_INDEX": index,
        "NVIDIA_GPUS_DIR": str(tmp_path / "no-gpus"),
    } | env
    done = subprocess.run(
        ["bash", str(SCRIPT), python, "--dry-run"], env=full_env, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout + done.stderr


def pip_command(output: str) -> str:
    commands = [line.removeprefix("would run: ") for line in output.splitlines() if line.startswith("would run: ")]
    assert len(commands) == 1, output
    assert commands[0].endswith(f" torch=={PINNED}"), commands[0]
    return commands[0]


def no_real_nvidia_smi():
    if shutil.which("nvidia-smi", path=SYSTEM_PATH):
        pytest.skip("this machine has a real nvidia-smi in /usr/bin or /bin")


def test_without_a_gpu_it_takes_the_cpu_index(bare_python, answering_index, tmp_path):
    no_real_nvidia_smi()
    rc, out = dry_run(bare_python, answering_index, tmp_path)
    assert rc == 0, out
    assert pip_command(out) == f"{bare_python} -m pip install -q --index-url {answering_index} torch=={PINNED}"
    assert "no NVIDIA GPU found" in out and "TORCH=cuda" in out  # says why, and the override


def test_an_nvidia_smi_that_finds_no_gpu_is_no_gpu(bare_python, answering_index, tmp_path):
    bin_dir = fake_nvidia_smi(tmp_path / "bin", gpu=False)
    rc, out = dry_run(bare_python, answering_index, tmp_path, path=f"{bin_dir}:{SYSTEM_PATH}")
    assert rc == 0 and f"--index-url {answering_index}" in pip_command(out), out


def test_with_a_gpu_it_takes_the_package_index(bare_python, answering_index, tmp_path):
    bin_dir = fake_nvidia_smi(tmp_path / "bin", gpu=True)
    rc, out = dry_run(bare_python, answering_index, tmp_path, path=f"{bin_dir}:{SYSTEM_PATH}")
    assert rc == 0, out
    assert pip_command(out) == f"{bare_python} -m pip install -q torch=={PINNED}"
    assert "an NVIDIA GPU is present" in out


def test_a_gpu_seen_by_the_driver_alone_counts(bare_python, answering_index, tmp_path):
    no_real_nvidia_smi()
    (tmp_path / "gpus" / "0000:01:00.0").mkdir(parents=True)  # as /proc/driver/nvidia/gpus/<bus id>
    rc, out = dry_run(bare_python, answering_index, tmp_path, NVIDIA_GPUS_DIR=str(tmp_path / "gpus"))
    assert rc == 0 and "--index-url" not in pip_command(out), out


def test_where_the_cpu_index_does_not_answer_it_takes_the_package_index(bare_python, silent_index, tmp_path):
    """CI here: download.pytorch.org is out of reach, and the package index gives a CPU build."""
    no_real_nvidia_smi()
    rc, out = dry_run(bare_python, silent_index, tmp_path)
    assert rc == 0, out
    assert pip_command(out) == f"{bare_python} -m pip install -q torch=={PINNED}"
    assert f"{silent_index} does not answer" in out


@pytest.mark.parametrize("gpu, torch, index_used", [(True, "cpu", True), (False, "cuda", False)])
def test_torch_overrides_what_was_found(bare_python, answering_index, tmp_path, gpu, torch, index_used):
    bin_dir = fake_nvidia_smi(tmp_path / "bin", gpu=gpu)
    rc, out = dry_run(bare_python, answering_index, tmp_path, path=f"{bin_dir}:{SYSTEM_PATH}", TORCH=torch)
    assert rc == 0 and (f"--index-url {answering_index}" in pip_command(out)) == index_used, out
    assert f"TORCH={torch}" in out


def test_an_unknown_choice_is_refused(bare_python, answering_index, tmp_path):
    rc, out = dry_run(bare_python, answering_index, tmp_path, TORCH="rocm")
    assert rc == 2 and "choose auto, cpu or cuda" in out and "would run" not in out


def installed_torch() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return ""


@pytest.mark.skipif(installed_torch() != f"{PINNED}+cpu", reason=f"this environment's torch is not {PINNED}+cpu")
def test_an_installed_build_of_the_wanted_kind_is_kept_and_the_other_replaced(answering_index, tmp_path):
    python = sys.executable
    no_real_nvidia_smi()
    rc, out = dry_run(python, answering_index, tmp_path)
    assert rc == 0 and "already installed" in out and "would run" not in out, out
    rc, out = dry_run(python, answering_index, tmp_path, TORCH="cuda")
    assert rc == 0 and pip_command(out) == f"{python} -m pip install -q --force-reinstall torch=={PINNED}", out


def test_make_installs_torch_before_the_requirements(tmp_path):
    """`make run TORCH=cuda` and `make test` on a new venv: the script runs first, with the choice passed on."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for target, torch in [("run", "cuda"), ("test", "auto")]:
        args = ["make", "-n", target, f"VENV={tmp_path / 'venv'}"] + ([f"TORCH={torch}"] if torch != "auto" else [])
        plan = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
        script = plan.index(f"TORCH={torch} bash scripts/install-torch.sh {tmp_path / 'venv'}/bin/python")
        requirements = plan.index("-m pip install -q -r requirements")
        assert plan.index("-m venv") < script < requirements, plan
