"""The documentation cannot drift from the code: the site builds strict (every link and
page resolves), every ``sh`` and ``python`` block of the README and the site runs as written
on a copy of ``examples/`` (a ``console`` transcript prints what it shows), and every
command line shown in a ``text`` block (a synopsis, a cluster command, a benchmark) names
commands, options, extras and scripts that exist.

The Spark page's commands are ``text`` blocks: a JVM's start and a plan of stages take
about 40 s even on ``examples/``, and ``tests/test_spark.py`` runs the same command lines
(``neardup dedup ... --engine spark``, ``pairs``, ``clean``, ``find``) and checks what they
write against the local engine."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib.metadata import metadata
from pathlib import Path

import click
import pytest

from neardup.cli import main as neardup_command

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BIN = Path(sys.executable).parent
#: What a ``sh`` block shows its commands print: a comment line that starts with a JSON
#: value or a count (``# {"id": ...}``, ``# 3 queries ...``) is a line of the output; one
#: that ends in ``...`` is the start of one (a time follows).
EXPECTED = re.compile(r"^# ([\[{0-9].*)$", re.M)
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


def blocks(page: Path) -> list[tuple[str, str]]:
    """The fenced code blocks of a page: (language, code), in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text("utf-8"))]


def runnable(page: Path) -> bool:
    return any(lang in ("sh", "python", "console") for lang, _ in blocks(page))


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def _offline() -> list[str]:
    """A prefix that runs a command with no network (a new network namespace holding only
    loopback), where this machine allows one; under CI it must."""
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    assert os.environ.get("CI") != "true", "unshare -rn cannot make a network namespace here"
    return []


def test_the_site_builds_strict_and_offline(tmp_path: Path) -> None:
    """`mkdocs build --strict`, as `make docs` runs it, with no network: a broken link, a
    page missing from the navigation, a reference that does not resolve or a plugin that
    fetches fails the build."""
    site = tmp_path / "site"
    run = subprocess.run([*_offline(), str(BIN / "mkdocs"), "build", "--strict", "-q", "-d",
                          str(site)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    for page in site.rglob("*.html"):  # and a reader's browser fetches nothing either
        assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="https?://',
                             page.read_text("utf-8")), page
    cli = (site / "reference/cli/index.html").read_text("utf-8")
    for name in neardup_command.commands:  # type: ignore[attr-defined]
        assert f"neardup {name}" in cli
    http = (site / "reference/http/index.html").read_text("utf-8")
    assert "POST /v1/query" in http and "Exactly one of" in http
    assert (site / "reference/openapi.json").stat().st_size > 1000
    python = (site / "reference/python/index.html").read_text("utf-8")
    assert "find_texts" in python and "DedupOptions" in python


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)], ids=_name)
def test_the_pages_commands_run_as_written(page: Path, tmp_path: Path) -> None:
    """Each ``sh`` block runs in bash (``-e``: every command must succeed), each
    ``python`` block in Python, and each ``console`` transcript command by command, its
    output compared line by line with what the page shows; in the page's order, in a
    directory holding a copy of ``examples/``, with this environment's ``neardup`` first
    on the path."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for k, (lang, code) in enumerate(blocks(page)):
        if lang == "console":
            for command, shown in transcript(code):
                run = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=tmp_path,
                                     env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, timeout=300)
                printed = [line.rstrip() for line in run.stdout.splitlines() if line.strip()]
                assert run.returncode == 0 and _same(shown, printed), (
                    f"{_name(page)}, block {k + 1}: `{command}` printed (status "
                    f"{run.returncode}):\n" + "\n".join(printed) + "\n--- the page shows:\n"
                    + "\n".join(shown))
            continue
        if lang == "sh":
            command = ["bash", "-euo", "pipefail", "-c", code]
        elif lang == "python":
            command = [sys.executable, "-c", code]
        else:
            continue
        run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, (
            f"{_name(page)}, block {k + 1} ({lang}) failed with status {run.returncode}:\n"
            f"{code}\n--- stderr:\n{run.stderr[-3000:]}")
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        printed = {line.strip() for line in (run.stdout + run.stderr).splitlines()}
        for shown in EXPECTED.findall(code) if lang == "sh" else []:
            elided = shown.endswith("...") and any(p.startswith(shown[:-3]) for p in printed)
            assert shown in printed or elided, f"{_name(page)}, block {k + 1} shows {shown!r}, " \
                f"which it does not print:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"


def transcript(code: str) -> list[tuple[str, list[str]]]:
    """A ``console`` block: each ``$ command`` (continued by a trailing backslash) and the
    non-empty lines shown after it."""
    steps: list[tuple[str, list[str]]] = []
    lines = code.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        k += 1
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\") and k < len(lines):
                command, k = command[:-1] + lines[k], k + 1
            steps.append((command, []))
        elif line.strip() and steps:
            steps[-1][1].append(line.rstrip())
    return steps


def _same(shown: list[str], printed: list[str]) -> bool:
    """The lines shown are the lines printed; a shown line ending in ``...`` (a time
    follows, or an elided tail) stands for any line that starts with the rest."""
    return len(shown) == len(printed) and all(
        p == s or (s.endswith("...") and p.startswith(s[:-3])) for s, p in zip(shown, printed))


def _commands(code: str) -> list[list[str]]:
    """The command lines of a block: continuations joined, comments and output dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    lines = []
    for line in joined.splitlines():
        line = line.split(" # ", 1)[0].strip()
        if line.startswith("$ "):
            line = line[2:]
        if line and not line.startswith("#"):
            lines.append(line)
    out = []
    for line in lines:
        try:
            out.append(shlex.split(line))
        except ValueError:
            continue  # output, not a command
    return out


def _options(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in param.opts + param.secondary_opts}


def _check_neardup(words: list[str], where: str) -> None:
    command: click.Command = neardup_command
    for word in words[1:]:
        if isinstance(command, click.Group) and word in command.commands:
            command = command.commands[word]
    # A group alone (`neardup index`, `neardup COMMAND --help`) takes --help only.
    known = _options(command) | {"-h", "--help"}
    for word in words:
        for option in re.findall(r"(?:^|[\[|])(--?[a-z][\w-]*)", word):
            assert option in known, f"{where}: `neardup {command.name}` has no {option}"


def _check_bench(words: list[str], where: str) -> None:
    script = ROOT / words[1]
    assert script.is_file(), f"{where}: no {words[1]}"
    source = script.read_text("utf-8")
    for option in (w.split("=")[0] for w in words[2:] if w.startswith("--")):
        assert f'"{option}"' in source, f"{where}: {words[1]} takes no {option}"


def _check_extras(words: list[str], where: str) -> None:
    extras = metadata("neardup").get_all("Provides-Extra") or []
    for word in words:
        for group in re.findall(r"neardup\[([\w,]+)\]", word):
            for extra in group.split(","):
                assert extra in extras, f"{where}: no extra [{extra}] in neardup"


#: A command in running text: `neardup dedup ... --raw`, `python bench/find.py --docs 10`.
INLINE = re.compile(r"`((?:neardup [a-z]|python3? bench/|pip install )[^`]*)`")


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_the_command_lines_shown_exist(page: Path) -> None:
    """In every block, run or not, and in running text: each `neardup` command names a
    real command and real options, each `python bench/...` a script that takes the
    options shown, each `pip install 'neardup[...]'` extras that exist."""
    text = page.read_text("utf-8")
    shown = [*blocks(page), *(("inline", m) for m in INLINE.findall(FENCE.sub("", text)))]
    for k, (lang, code) in enumerate(shown):
        where = f"{_name(page)}, {lang} {k + 1}"
        for words in _commands(code):
            words = [w for w in words if w not in ("env/bin/pip", "sudo")]
            if words[0].endswith("neardup") and len(words) > 1:
                _check_neardup(words, where)
            elif words[0] in ("python", "python3") and words[1:2] and words[1].startswith(
                    "bench/"):
                _check_bench(words, where)
            elif "install" in words:
                _check_extras(words, where)
            else:
                continue



def test_every_command_is_run_somewhere() -> None:
    """Each command of `neardup` (and of `neardup index`) appears in a block that runs."""
    run = " ".join(code for page in PAGES for lang, code in blocks(page)
                   if lang in ("sh", "console"))
    names = [name for name, command in neardup_command.commands.items()  # type: ignore
             if not isinstance(command, click.Group)]
    names += [f"index {name}" for name in neardup_command.commands["index"].commands]  # type: ignore
    missing = [name for name in names if f"neardup {name} " not in run]
    assert not missing, f"no page runs: {missing}"
