from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import synth

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "examples" / "seeds"
SEED_A = SEEDS / "000_b4a537f1d5559298.txt"
SEED_B = SEEDS / "004_c9d478177cad84c5.txt"
LEE = Path(__file__).parent / "data" / "lee_background.cor"


@pytest.fixture(scope="session")
def seed_texts() -> tuple[str, str]:
    return SEED_A.read_text(encoding="utf-8"), SEED_B.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def lee_texts() -> list[str]:
    return LEE.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def planted(lee_texts: list[str]) -> synth.PlantedCorpus:
    return synth.generate(lee_texts, 2500, dup_fraction=0.3, seed=7)


@pytest.fixture(scope="session")
def planted_truth(planted: synth.PlantedCorpus) -> dict[tuple[int, int], float]:
    return synth.exact_pairs(planted.texts, 0.5)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "no Chromium: `make test` installs Debian's chromium where it can"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), driven by Playwright."""
    try:
        from playwright import sync_api
    except ImportError:
        message = "playwright is not installed: `make test` installs it with the test extra"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


