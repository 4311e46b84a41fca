"""Installing the extras the way a user does: a fresh venv, its own pip, no upgrade."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def _installed(tmp_path: Path, extra: str) -> Path:
    """A new venv, with the pip it ships (no upgrade), and neardup[extra] installed in it:
    its bin directory."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_ = venv / "bin"
    # --no-compile: the resolution and the installed files are the user's; writing .pyc
    # files for all of PySpark up front is 10 s of the default test run, and Python
    # writes them on first import anyway.
    installed = subprocess.run([bin_ / "pip", "install", "--quiet", "--no-compile",
                                f"{ROOT}[{extra}]"],
                               capture_output=True, text=True, timeout=1800)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return bin_


def test_html_extra_installs_with_the_pip_a_new_venv_ships(tmp_path: Path) -> None:
    bin_ = _installed(tmp_path, "html")
    pip = subprocess.run([bin_ / "pip", "--version"], capture_output=True, text=True, check=True)
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Titel</title></head><body><article><h1>Titel</h1>"
                    "<p>Dies ist ein ziemlich langer Absatz über die Nachrichten des Tages, der "
                    "genug Wörter enthält, um als Artikel erkannt zu werden.</p></article>"
                    "</body></html>", encoding="utf-8")
    run = subprocess.run([bin_ / "neardup", "clean", str(page), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "1 cleaned, 0 rejected" in run.stderr + run.stdout, (pip.stdout, run.stderr)
    assert "Dies ist ein ziemlich langer Absatz" in (tmp_path / "out" / "cleaned.jsonl").read_text(
        encoding="utf-8")


def test_spark_extra_installs_and_runs_with_the_pip_a_new_venv_ships(tmp_path: Path) -> None:
    """`pip install 'neardup[spark]'` as the README says, then a Spark run that gives the
    local engine's pairs (Java comes from the machine, as `make test` provides it)."""
    bin_ = _installed(tmp_path, "spark")
    news = str(ROOT / "examples" / "news.jsonl")
    runs = {}
    for engine in ("local", "spark"):
        run = subprocess.run([bin_ / "neardup", "pairs", news, "--engine", engine],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        runs[engine] = run.stdout
    assert runs["local"].count("\n") >= 4 and runs["spark"] == runs["local"]


def test_serve_extra_installs_and_serves_with_the_pip_a_new_venv_ships(tmp_path: Path) -> None:
    """`pip install 'neardup[serve]'`, then an index made and served, asked over HTTP (one
    request, bounded), and stopped."""
    import socket
    import time
    import urllib.request

    bin_ = _installed(tmp_path, "serve")
    index = str(tmp_path / "news.ndx")
    for args in (["index", "create", index], ["index", "add", index,
                                              str(ROOT / "examples" / "news.jsonl")]):
        run = subprocess.run([bin_ / "neardup", *args], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([bin_ / "neardup", "serve", index, "--port", str(port)],
                              stderr=subprocess.PIPE)
    try:
        for _ in range(300):  # at most 30 s
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/stats",
                                            timeout=2) as answer:
                    assert b'"documents":44' in answer.read()  # news.jsonl's records
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()  # type: ignore[union-attr]
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not answer in 30 s")
    finally:
        server.terminate()
        server.wait(timeout=30)
