"""N Streamlit replicas of the app on loopback behind HAProxy with cookie affinity, until Ctrl-C.

    make replicas N=3                      # or: python -m scripts.replicas 3 [--port 8500] [--first 8601]

Each replica is ``streamlit run app.py`` on 127.0.0.1 (ports first … first + N − 1); HAProxy runs
``deploy/haproxy.cfg`` with its server lines rewritten for those N replicas, in the foreground,
serving http://127.0.0.1:PORT. Where Debian's ``redis-server`` is installed (``make redis-deps``), one
Redis on loopback holds the classes students follow, so a class spans the replicas (``REDIS_URL``).
The failover test (``tests/browser/test_replicas.py``) starts the same :class:`Cluster`. Needs
Debian's ``haproxy`` (``make proxy-deps``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "haproxy.cfg"
HEALTH = "/_stcore/health"


def haproxy_config(ports: list[int], port: int, socket_path: str, template: str | None = None) -> str:
    """``deploy/haproxy.cfg`` for replicas on ``ports``: one ``server appK`` line each (cookie appK),
    the frontend on 127.0.0.1:``port`` and the admin socket at ``socket_path``."""
    text = template if template is not None else CONFIG.read_text()
    servers = "".join(f"    server app{k} 127.0.0.1:{p} check cookie app{k}\n" for k, p in enumerate(ports, start=1))
    text = re.sub(r"(?m)^    server app\d+ .*\n", "", text)
    text = re.sub(r"(?m)^(    # replicas:.*\n)", lambda m: m.group(1) + servers, text)
    text = re.sub(r"(?m)^    bind 127\.0\.0\.1:\d+$", f"    bind 127.0.0.1:{port}", text)
    return re.sub(r"stats socket \S+", f"stats socket {socket_path}", text)


def wait_healthy(url: str, timeout: float = 120.0) -> None:
    """Until ``url`` + /_stcore/health answers 200; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + HEALTH, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} was not healthy within {timeout:.0f} s")


def free_ports(n: int) -> list[int]:
    """``n`` free TCP ports on loopback (bound and released; free when asked)."""
    import socket

    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class Cluster:
    """Replicas and HAProxy, started by :meth:`start`; :meth:`close` stops them all."""

    url: str  # HAProxy's frontend
    ports: list[int]  # replica k (1-based name appK) listens on ports[k - 1]
    folder: Path  # the generated config, HAProxy's log and each replica's log
    replicas: dict[str, subprocess.Popen] = field(default_factory=dict)
    haproxy: subprocess.Popen | None = None
    redis: subprocess.Popen | None = None  # the classes' store, shared by the replicas (None: each its own)
    redis_url: str | None = None

    @classmethod
    def start(cls, n: int, port: int | None = None, first: int | None = None, folder: Path | None = None) -> Cluster:
        """Start ``n`` replicas, wait until each is healthy, then HAProxy in front of them."""
        if shutil.which("haproxy") is None:
            raise RuntimeError("haproxy is not installed: `make proxy-deps` (Debian's haproxy 2.6)")
        ports = list(range(first, first + n)) if first else free_ports(n)
        port = port or free_ports(1)[0]
        folder = Path(folder or tempfile.mkdtemp(prefix="vpe-replicas-"))
        folder.mkdir(parents=True, exist_ok=True)
        cluster = cls(f"http://127.0.0.1:{port}", ports, folder)
        try:
            env = dict(os.environ)
            if shutil.which("redis-server"):  # a class spans the replicas (vizlib/classroom.py's RedisStore)
                redis_port = free_ports(1)[0]
                cluster.redis = subprocess.Popen(
                    ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no"], stdout=open(folder / "redis.log", "w"), stderr=subprocess.STDOUT,
                )  # fmt: skip
                cluster.redis_url = env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            for k, p in enumerate(ports, start=1):
                cluster.replicas[f"app{k}"] = subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
                     f"--server.port={p}", "--server.address=127.0.0.1", "--browser.gatherUsageStats=false"],
                    cwd=ROOT, stdout=open(folder / f"app{k}.log", "w"), stderr=subprocess.STDOUT, env=env,
                )  # fmt: skip
            for p in ports:
                wait_healthy(f"http://127.0.0.1:{p}")
            config = folder / "haproxy.cfg"
            config.write_text(haproxy_config(ports, port, str(folder / "haproxy.sock")))
            cluster.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=open(
                folder / "haproxy.log", "w"), stderr=subprocess.STDOUT)  # fmt: skip
            wait_healthy(cluster.url, timeout=30)
        except BaseException:
            cluster.close()
            raise
        return cluster

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop replica ``name`` (``app1`` …) and wait for it to exit."""
        process = self.replicas[name]
        process.send_signal(sig)
        process.wait(timeout=30)

    def log(self) -> str:
        """HAProxy's request log so far (one line per request, with the replica that served it)."""
        return (self.folder / "haproxy.log").read_text(errors="replace")

    def close(self) -> None:
        for process in [self.haproxy, *self.replicas.values(), self.redis]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [self.haproxy, *self.replicas.values(), self.redis]:
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=int(os.environ.get("N", 3)), help="replicas (default 3)")
    parser.add_argument("--port", type=int, default=8500, help="HAProxy's port (default 8500)")
    parser.add_argument("--first", type=int, default=8601, help="first replica's port (default 8601)")
    args = parser.parse_args()
    cluster = Cluster.start(args.n, args.port, args.first, ROOT / "bench-results" / "replicas")
    print(f"{args.n} replicas on ports {cluster.ports[0]}–{cluster.ports[-1]} behind HAProxy: {cluster.url}")
    print(f"logs and the generated haproxy.cfg: {cluster.folder}; Ctrl-C stops everything")
    try:
        while all(p.poll() is None for p in [cluster.haproxy, *cluster.replicas.values()]):
            time.sleep(1)
        print("a process exited; stopping the rest")
    except KeyboardInterrupt:
        pass
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
