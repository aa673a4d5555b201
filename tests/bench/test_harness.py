"""The benchmarks' shared helpers (``bench/harness.py``) and the layout of ``bench/``:
short modules, and ``bench/speed.py`` free of the project's packages (it serves old
commits, whose packages differ)."""

from __future__ import annotations

import ast
import socket
import subprocess
import sys

import numpy as np
import pytest

from bench.harness import free_port, log, percentile, wait_for
from tests.conftest import REPO

#: ``bench/speed.py`` and the modules it imports: never the project's packages.
PROJECT_FREE = ("speed.py", "tree_service.py", "harness.py")
PROJECT_PACKAGES = {"core", "api", "serve_app", "plugins"}


@pytest.mark.parametrize("q", [0, 1, 25, 50, 95, 99, 100])
def test_percentile_is_numpys_linear_interpolation(q):
    values = [0.31, 0.02, 1.7, 0.5, 0.5, 0.09, 3.2]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_one_value_is_that_value():
    assert percentile([0.25], 99) == 0.25


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_for_returns_the_first_truthy_value_and_polls_through_exceptions():
    calls = iter([ConnectionError("not up"), None, 0, "ready"])

    def probe():
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_for(probe, 10, "probe") == "ready"


def test_wait_for_names_what_it_waited_for_on_timeout():
    with pytest.raises(TimeoutError, match="redis answering"):
        wait_for(lambda: False, 0.3, "redis answering")


def test_log_goes_to_stderr_with_its_tag(capsys):
    log("hello", "speed")
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("[speed ") and err.endswith("] hello\n")


def test_no_bench_module_over_400_lines():
    long = {
        path.name: count
        for path in (REPO / "bench").glob("*.py")
        if (count := len(path.read_text().splitlines())) > 400
    }
    assert long == {}


@pytest.mark.parametrize("name", PROJECT_FREE)
def test_speed_and_its_modules_import_nothing_from_the_project(name):
    path = REPO / "bench" / name
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("bench."):
                assert f"{node.module.split('.')[1]}.py" in PROJECT_FREE, node.module
    assert roots & PROJECT_PACKAGES == set()


@pytest.mark.parametrize("command", [["-m", "bench.speed"], ["bench/speed.py"]])
def test_speed_runs_as_a_module_and_as_a_script(command):
    # --help only: parsing the arguments starts nothing.
    result = subprocess.run([sys.executable, *command, "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--base" in result.stdout
