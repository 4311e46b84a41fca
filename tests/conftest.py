from __future__ import annotations

from pathlib import Path

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
