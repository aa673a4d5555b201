"""The service of a source tree, run in its own processes, for ``bench/speed.py``.

A tree (this checkout, or a git worktree of an old commit) is served as users run it:
``serve run configs/serve.yaml`` with the tree as the working directory, on free loopback
ports, with a throwaway Redis and Ray cluster of its own. Every process it starts carries
a marker in its environment, so that its CPU time can be read and its leftovers stopped
by pid, never by name (other Ray clusters on the machine are not ours).

Like ``bench/speed.py``, this module imports nothing from the project's packages: it must
serve old commits whose modules differ.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

from bench.harness import free_port, log, wait_for

REPO = Path(__file__).resolve().parents[1]


# --- git -----------------------------------------------------------------------------


def git(*args: str, cwd: Path = REPO) -> str:
    """``git -C cwd args...``'s stdout, stripped; raises if git fails."""
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def worktree(rev: str) -> Path:
    """A detached worktree of ``rev`` with this repository's venv linked in (reused)."""
    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    path = Path(f"/tmp/fmr-speed-{sha}")
    if not path.exists():
        log(f"creating worktree {path}")
        git("worktree", "add", "--detach", str(path), sha)
    elif git("rev-parse", "HEAD", cwd=path) != sha:
        raise RuntimeError(f"{path} exists but is not at {sha}")
    venv = path / ".venv"
    if not venv.exists():
        venv.symlink_to(REPO / ".venv")
    return path


# --- this run's processes ------------------------------------------------------------


def redis_ping(port: int) -> bool:
    """Whether the Redis on 127.0.0.1:``port`` answers PING (1 s socket timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


def marked_pids(marker: str) -> list[int]:
    """Processes whose environment carries this run's marker: everything the service
    started, whatever process group or session Ray moved it to."""
    needle = f"FMR_SPEED_RUN={marker}".encode()
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def kill_marked(marker: str, grace_s: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after ``grace_s``, the processes this run started (by pid:
    never by name, other Ray clusters on the machine are not ours)."""
    pids = marked_pids(marker)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and marked_pids(marker):
            time.sleep(0.2)
        pids = marked_pids(marker)
        if not pids:
            break
    return len(pids)


def cpu_seconds(marker: str) -> dict[str, float]:
    """CPU time (user + system, with exited children's, seconds) of each of this run's
    processes, summed by process title (``ray::ServeReplica:<app>:<deployment>``)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for pid in marked_pids(marker):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            title = raw.split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        name = title.rsplit("/", 1)[-1][:60] or "?"
        # utime, stime, and the waited-for children's (ffmpeg cutting audio).
        totals[name] = totals.get(name, 0.0) + sum(int(f) for f in fields[11:15]) / tick
    return totals


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent between two :func:`cpu_seconds` snapshots, largest first."""
    used = {name: round(after[name] - before.get(name, 0.0), 2) for name in after}
    return dict(sorted(used.items(), key=lambda kv: -kv[1])[:12])


# --- the service ---------------------------------------------------------------------


class Service:
    """Redis + ``serve run`` of a tree's ``configs/serve.yaml`` on free loopback ports.

    Ready once constructed (``ready_timeout_s`` seconds at most): ``url`` is the HTTP
    API, ``marker`` finds its processes (:func:`cpu_seconds`), ``startup_s`` is the
    seconds ``serve run`` took to answer readiness. ``close()`` stops everything.
    """

    def __init__(
        self, tree: Path, ready_timeout_s: float, extra_env: dict[str, str] | None = None
    ) -> None:
        self.tree = tree
        self.extra_env = extra_env or {}
        # Short path: Ray's Unix sockets live under it (107-byte limit).
        self.work = Path(tempfile.mkdtemp(prefix="fmrs-", dir="/tmp"))
        self.marker = uuid.uuid4().hex
        self.redis: subprocess.Popen | None = None
        self.serve: subprocess.Popen | None = None
        self.serve_log = self.work / "serve.log"
        self.replicas_checked = 0
        try:
            self._start(ready_timeout_s)
        except BaseException:
            self.close()
            raise

    def _env(self, redis_port: int) -> dict[str, str]:
        # Nothing inherited may point the service elsewhere (another Redis, a running
        # Ray cluster, another data folder).
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FMR_", "RAY_", "REDIS_")) and k != "PYTHONPATH"}
        env.update({
            "FMR_SPEED_RUN": self.marker,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "FMR_DATA_DIR": str(self.work / "files"),
            "FMR_RATE_LIMIT_ENABLED": "false",
            "FMR_JWT_SECRET": secrets.token_hex(32),
            "FORWARDED_ALLOW_IPS": "",  # as scripts/serve.sh
            # Ray's own temp dir: its address file, sockets and logs stay this run's, so
            # `serve run` starts a new local cluster instead of joining another one.
            "RAY_TMPDIR": str(self.work),
            "RAY_USAGE_STATS_ENABLED": "0",
            # Replicas import the tree's code even though the venv's editable install
            # points at the main checkout (its finder comes after sys.path).
            "PYTHONPATH": str(self.tree),
        })
        env.update(self.extra_env)  # --env: e.g. Ray Serve's tuning variables
        return env

    def _config(self, port: int) -> Path:
        """The tree's ``configs/serve.yaml`` on ``port``; same applications and imports."""
        config = yaml.safe_load((self.tree / "configs" / "serve.yaml").read_text())
        config.setdefault("http_options", {}).update({"host": "127.0.0.1", "port": port})
        path = self.work / "serve.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def _check_imports(self, config: Path, env: dict[str, str]) -> None:
        """Each application's module resolves to a file of the tree, as Ray imports it."""
        modules = sorted({app["import_path"].split(":")[0]
                          for app in yaml.safe_load(config.read_text())["applications"]})
        code = ("import importlib.util, sys\n"
                "for m in sys.argv[1:]: print(importlib.util.find_spec(m).origin)")
        origins = subprocess.run(
            [str(self.tree / ".venv" / "bin" / "python"), "-c", code, *modules],
            cwd=self.tree, env=env, check=True, capture_output=True, text=True,
        ).stdout.split()
        for module, origin in zip(modules, origins, strict=True):
            if not Path(origin).resolve().is_relative_to(self.tree.resolve()):
                raise RuntimeError(f"{module} resolves to {origin}, outside {self.tree}")

    def _start(self, ready_timeout_s: float) -> None:
        serve_bin = self.tree / ".venv" / "bin" / "serve"
        if not serve_bin.exists():
            raise FileNotFoundError(f"{serve_bin} missing: link a venv into the tree as .venv")
        redis_port = free_port()
        env = self._env(redis_port)
        self.redis = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
             "--bind", "127.0.0.1", "--dir", str(self.work), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, env=env, start_new_session=True,
        )
        wait_for(lambda: redis_ping(redis_port), 30, "redis answering")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = self._config(self.port)
        self._check_imports(config, env)
        log(f"serve run {self.tree}/configs/serve.yaml on port {self.port} (log {self.serve_log})")
        started = time.monotonic()
        with self.serve_log.open("wb") as out:
            self.serve = subprocess.Popen(
                [str(serve_bin), "run", str(config)], cwd=self.tree, env=env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, for SIGINT
            )
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if self.serve.poll() is not None:
                raise RuntimeError(f"serve run exited {self.serve.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/v1/health/readiness", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready in {ready_timeout_s} s:\n{self.log_tail()}")
            time.sleep(0.5)
        self.startup_s = round(time.monotonic() - started, 1)
        self._check_replicas()
        log(f"ready in {self.startup_s} s")

    def _check_replicas(self) -> None:
        """Each running replica has the tree first on its import path."""
        for pid in marked_pids(self.marker):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if not cmdline.startswith(b"ray::ServeReplica"):
                continue
            paths = [e[len(b"PYTHONPATH="):] for e in environ if e.startswith(b"PYTHONPATH=")]
            first = paths[0].decode().split(":")[0] if paths else ""
            if first != str(self.tree):
                raise RuntimeError(f"replica {pid} imports from {first!r}, not {self.tree}")
            self.replicas_checked += 1
        if not self.replicas_checked:
            raise RuntimeError("no Serve replica process found to check its import path")

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of ``serve run``'s output ("" if unreadable)."""
        try:
            return "\n".join(self.serve_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def error_lines(self) -> list[str]:
        """ERROR lines and tracebacks in ``serve run``'s output and Ray's Serve logs."""
        files = [self.serve_log, *sorted(self.work.glob("ray/session_*/logs/serve/*.log"))]
        found = []
        for path in files:
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            # Serve's own logs start a line with the level; `serve run` prefixes the
            # worker, as in "(ServeReplica:... pid=1) ERROR ...".
            found += [f"{path.name}: {line.strip()}" for line in text.splitlines()
                      if re.search(r"(^|\s)ERROR\s", line) or line.startswith("Traceback")]
        return found

    def keep_logs(self, folder: Path) -> None:
        """Copy ``serve run``'s output and Ray's Serve logs before the temp dir goes."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.serve_log.exists():
            shutil.copy(self.serve_log, folder / "serve_run.log")
        for logs in self.work.glob("ray/session_*/logs/serve"):
            shutil.copytree(logs, folder / "serve", dirs_exist_ok=True)

    def close(self) -> None:
        """Stop ``serve run`` (SIGINT, then harder), Redis and any leftover process of
        this run; remove its temp dir."""
        if self.serve is not None and self.serve.poll() is None:
            # What Ctrl-C does; then harder signals if it hangs.
            for sig, wait_s in ((signal.SIGINT, 20), (signal.SIGTERM, 15), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.serve.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.serve.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    log(f"serve run still up {wait_s} s after {sig.name}")
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
        # Instead of `ray stop --force`, which would also stop other Ray clusters here.
        left = marked_pids(self.marker)
        if left:
            log(f"stopping {len(left)} leftover processes of this run")
            if kill_marked(self.marker):
                log(f"WARNING: processes of this run survive SIGKILL: {marked_pids(self.marker)}")
        shutil.rmtree(self.work, ignore_errors=True)

