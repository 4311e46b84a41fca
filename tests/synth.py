"""Corpora with planted duplicates, built from real prose, and their brute-force truth.

For tests and benchmarks: documents are recombined from real sentences (with
a share of words swapped for other corpus words, so unrelated documents share
little), and copies are planted at varied similarity: exact, reformatted
(case, line breaks, punctuation), wrapped in headers and footers, and edited
word by word. :func:`exact_pairs` finds the true pairs by exact Jaccard over
all pairs that share any shingle, independently of neardup's hashing.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neardup.text import DEFAULT_NGRAM, shingles, tokens

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")

HEADERS = ["BREAKING NEWS", "Updated {n} minutes ago", "Share this article on social media",
           "From our correspondent in {place}"]
FOOTERS = ["All rights reserved. Copyright {n} News Agency.",
           "Leave a Comment\n\n{n} + {n} =", "Read more stories like this on our website.",
           "Subscribe to our newsletter for daily updates."]


def sentences(texts: Iterable[str]) -> list[str]:
    """Sentences of ``texts`` (a simple split at ., ! or ? before a capital)."""
    out: list[str] = []
    for text in texts:
        out.extend(s.strip() for s in _SENTENCE.split(text) if len(s.split()) >= 4)
    return out


@dataclass
class PlantedCorpus:
    ids: list[str]
    texts: list[str]
    origin: list[int]  # index of the base document a copy derives from (itself for a base)
    kind: list[str]  # "base", "exact", "format", "wrap", "edit"


def generate(source_texts: list[str], n_docs: int, dup_fraction: float = 0.3,
             target_chars: int = 2000, seed: int = 0) -> PlantedCorpus:
    """``n_docs`` documents, about ``dup_fraction`` of them planted copies of others."""
    rng = np.random.default_rng(seed)
    pool = sentences(source_texts)
    vocab = [w for t in source_texts for w in t.split() if w.isalpha()]
    mean_len = float(np.mean([len(s) for s in pool]))
    per_doc = max(1, int(target_chars / (mean_len + 1)))
    ids: list[str] = []
    texts: list[str] = []
    origin: list[int] = []
    kind: list[str] = []
    for i in range(n_docs):
        if texts and rng.random() < dup_fraction:
            base = int(rng.integers(len(texts)))
            k = str(rng.choice(["exact", "format", "wrap", "edit", "edit"]))
            texts.append(_variant(texts[base], k, rng, vocab))
            origin.append(origin[base])
            kind.append(k)
        else:
            words = " ".join(pool[j] for j in rng.integers(0, len(pool), per_doc)).split()
            swap = rng.random(len(words)) < 0.15
            for w in np.flatnonzero(swap).tolist():
                words[w] = vocab[int(rng.integers(len(vocab)))]
            texts.append(" ".join(words))
            origin.append(i)
            kind.append("base")
        ids.append(f"doc{i:07d}")
    return PlantedCorpus(ids, texts, origin, kind)


def _variant(text: str, kind: str, rng: np.random.Generator, vocab: list[str]) -> str:
    if kind == "exact":
        return text
    if kind == "format":
        # Same tokens after normalisation: case, spacing, line breaks, punctuation.
        words = text.split()
        cut = sorted(set(rng.integers(1, max(2, len(words)), 4).tolist()))
        parts = [" ".join(words[a:b]) for a, b in zip([0] + cut, cut + [len(words)])]
        return "\n\n".join(parts).upper() if rng.random() < 0.5 else "  \n".join(parts)
    if kind == "wrap":
        n = int(rng.integers(2, 60))
        head = str(rng.choice(HEADERS)).format(n=n, place="Sydney")
        foot = str(rng.choice(FOOTERS)).format(n=n)
        return f"{head}\n\n{text}\n\n{foot}"
    words = text.split()
    rate = float(rng.uniform(0.002, 0.06))
    out: list[str] = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue
        if r < 2 * rate / 3:
            out.append(vocab[int(rng.integers(len(vocab)))])
        elif r < rate:
            out.extend([w, vocab[int(rng.integers(len(vocab)))]])
        else:
            out.append(w)
    return " ".join(out)


def exact_pairs(texts: list[str], threshold: float,
                ngram: int = DEFAULT_NGRAM) -> dict[tuple[int, int], float]:
    """All pairs ``(i, j)``, ``i < j``, with shingle-set Jaccard >= ``threshold``, and
    their Jaccard: the brute-force truth (exact on the token shingles themselves; only
    pairs sharing no shingle, whose Jaccard is 0, are skipped)."""
    sets = [shingles(tokens(t), ngram) for t in texts]
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for sh in s:
            postings[sh].append(i)
    common: dict[tuple[int, int], int] = defaultdict(int)
    for docs in postings.values():
        for x in range(len(docs)):
            for y in range(x + 1, len(docs)):
                common[(docs[x], docs[y])] += 1
    out = {}
    for (i, j), c in common.items():
        score = c / (len(sets[i]) + len(sets[j]) - c)
        if score >= threshold:
            out[(i, j)] = score
    return out


# --- Partial reuse: passages planted inside unrelated articles -------------------------------

_WORD_RUN = re.compile(r"\S+")


def similar_pairs(texts: list[str], threshold: float, ngram: int = DEFAULT_NGRAM
                  ) -> dict[tuple[int, int], float]:
    """What :func:`exact_pairs` gives, for corpora too large for it: every pair with
    Jaccard >= ``threshold``, found by prefix filtering (Bayardo et al., "Scaling up all
    pairs similarity search", 2007) and then scored exactly.

    Shingles are ordered rarest first; a set ``x`` is indexed by its first
    ``|x| - ceil(t |x|) + 1`` shingles. Two sets with Jaccard >= t share a shingle within
    those prefixes, so no such pair is missed. Shingles are 64-bit hashes (xxh3) of the
    reference tokens, so the scores are exact unless two distinct shingles collide.
    """
    import xxhash

    sets = [np.unique(np.array([xxhash.xxh3_64_intdigest("\x1f".join(sh).encode())
                                for sh in shingles(tokens(t), ngram)], dtype=np.uint64))
            for t in texts]
    sizes = np.array([len(x) for x in sets], dtype=np.int64)
    flat = np.concatenate(sets) if sets else np.empty(0, np.uint64)
    values, rank_of, counts = np.unique(flat, return_inverse=True, return_counts=True)
    order_key = counts[rank_of] * len(values) + rank_of  # rarest first, ties by value
    owner = np.repeat(np.arange(len(sets)), sizes)
    by_doc = np.lexsort((order_key, owner))
    position = np.empty(len(flat), np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    position[by_doc] = np.arange(len(flat)) - np.repeat(starts, sizes)
    prefix = sizes - np.ceil(threshold * sizes - 1e-9).astype(np.int64) + 1
    indexed = position < prefix[owner]
    keys, docs = rank_of[indexed], owner[indexed]
    grouping = np.lexsort((docs, keys))
    keys, docs = keys[grouping], docs[grouping]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    candidates: set[tuple[int, int]] = set()
    for group in np.split(docs, bounds):
        if len(group) > 1:
            members = group.tolist()
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    candidates.add((members[x], members[y]))
    out = {}
    for i, j in candidates:
        common = len(np.intersect1d(sets[i], sets[j], assume_unique=True))
        union = len(sets[i]) + len(sets[j]) - common
        if union and common / union >= threshold:
            out[(i, j)] = common / union
    return out


def chain_articles(source_texts: list[str], n_docs: int, words: int = 330,
                   seed: int = 0) -> list[str]:
    """``n_docs`` unrelated articles of about ``words`` words, drawn from a first-order word
    chain over ``source_texts``: real vocabulary and word frequencies, and stock phrases
    recur as they do in news, but two articles share no long passage by chance."""
    rng = np.random.default_rng(seed)
    stream = [w for t in source_texts for w in t.split()]
    vocab, ids = np.unique(np.array(stream, dtype=object), return_inverse=True)
    order = np.argsort(ids[:-1], kind="stable")
    successors = ids[1:][order]  # successors of each word, grouped by word
    offsets = np.searchsorted(ids[:-1][order], np.arange(len(vocab) + 1))
    degree = np.diff(offsets)
    state = rng.choice(ids[:-1], n_docs)
    out = np.empty((n_docs, words), dtype=np.int64)
    for step in range(words):
        dead = degree[state] == 0  # the corpus's last word: start afresh
        state[dead] = rng.choice(ids[:-1], int(dead.sum()))
        pick = (rng.random(n_docs) * degree[state]).astype(np.int64)
        state = successors[offsets[state] + pick]
        out[:, step] = state
    texts = []
    for row in out:
        tokens_ = vocab[row].tolist()
        paras = [" ".join(tokens_[k:k + 60]) for k in range(0, len(tokens_), 60)]
        texts.append("\n\n".join(paras))
    return texts


def distinct_texts(texts: list[str], ngram: int = 8) -> list[str]:
    """``texts`` without any that shares an ``ngram``-token run with one kept before it (real
    corpora repeat stories; planted reuse must be the only reuse there is)."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for text in texts:
        own = shingles(tokens(text), ngram)
        if not own & seen:
            kept.append(text)
            seen |= own
    return kept


@dataclass(frozen=True)
class PlantedPassage:
    """One copy of a passage: source document, copy document, and the passage's
    ``[start, end)`` token positions (:func:`neardup.text.tokens`) in each."""

    passage: int  # which planted passage (several copies share it)
    source: str
    source_tokens: tuple[int, int]
    copy: str
    copy_tokens: tuple[int, int]


@dataclass
class PlantedReuse:
    docs: list[tuple[str, str]]  # (id, text), wires first
    planted: list[PlantedPassage]


def plant_reuse(wire_texts: list[str], host_texts: list[str], n_passages: int,
                min_words: int = 40, max_words: int = 500, copies: int = 3,
                edit_rate: float = 0.02, seed: int = 0) -> PlantedReuse:
    """Passages of ``min_words``..``max_words`` words cut from wire documents and pasted, with
    edits, into hosts (each host takes at most one). Each passage goes to 1..``copies`` hosts.

    Wire documents are ``wire_texts`` joined three at a time (so long passages fit).
    Edits per copy: whitespace reflowed (line breaks), punctuation changed, and about
    ``edit_rate`` of the words each substituted, deleted or doubled, never in the first
    and last ``ngram`` words (an edit there moves the true boundary itself).
    """
    rng = np.random.default_rng(seed)
    wires = [" ".join(wire_texts[k:k + 3]) for k in range(0, len(wire_texts) - 2, 3)]
    wire_words = [w.split() for w in wires]
    vocab = [w for t in wire_texts for w in t.split() if w.isalpha()]
    hosts = [h.split() for h in host_texts]
    free = list(rng.permutation(len(hosts)))
    planted: list[PlantedPassage] = []
    host_text: dict[int, str] = {}
    for p in range(n_passages):
        w = int(rng.integers(len(wires)))
        words = wire_words[w]
        length = int(min(len(words) - 1, rng.integers(min_words, max_words + 1)))
        start = int(rng.integers(0, len(words) - length + 1))
        passage = words[start:start + length]
        src_span = _token_span(words, start, start + length)
        for _ in range(int(rng.integers(1, copies + 1))):
            if not free:
                break
            h = int(free.pop())
            copy = _edit(passage, rng, vocab, edit_rate)
            host = hosts[h]
            at = int(rng.integers(0, len(host) + 1))
            glued = host[:at] + ["\n\n"] + copy + ["\n\n"] + host[at:]
            host_text[h] = " ".join(glued)
            planted.append(PlantedPassage(
                p, f"wire{w}", src_span, f"host{h}",
                _token_span([x for x in glued if x != "\n\n"], at, at + len(copy))))
    docs = [(f"wire{w}", t) for w, t in enumerate(wires)]
    docs += [(f"host{h}", host_text.get(h, " ".join(words))) for h, words in enumerate(hosts)]
    return PlantedReuse(docs, planted)


def _token_span(words: list[str], start: int, end: int) -> tuple[int, int]:
    """Token positions of whitespace words ``start..end`` (words may hold several tokens)."""
    before = len(tokens(" ".join(words[:start])))
    return before, before + len(tokens(" ".join(words[start:end])))


def _edit(passage: list[str], rng: np.random.Generator, vocab: list[str],
          rate: float, keep: int = DEFAULT_NGRAM) -> list[str]:
    out = list(passage[:keep])
    for word in passage[keep:len(passage) - keep]:
        r = rng.random()
        if r < rate / 3:
            out.append(vocab[int(rng.integers(len(vocab)))])
        elif r < 2 * rate / 3:
            continue
        elif r < rate:
            out += [word, word]
        elif r < rate + 0.05:
            out.append(word.rstrip(".,;:") if word[-1:] in ".,;:" else word + ",")
        elif r < rate + 0.08:
            out.append(word + "\n")
        else:
            out.append(word)
    return out + passage[len(passage) - keep:]


def score_reuse(corpus: PlantedReuse, pairs: Iterable[Any], tolerance: int = 5
                ) -> dict[str, float]:
    """Planted passages found (``recall``), found with both boundaries on both sides within
    ``tolerance`` tokens (``boundary_recall``), and reported passages that match no planted
    copy (``false_passages``, a share of all reported). ``pairs`` are
    :class:`neardup.reuse.ReusePair` s."""
    from neardup.align import tokenize_with_offsets

    texts = dict(corpus.docs)
    starts: dict[str, list[int]] = {}

    def position(doc: str, char: int) -> int:
        if doc not in starts:
            starts[doc] = tokenize_with_offsets(texts[doc]).starts
        return bisect.bisect_left(starts[doc], char)

    # Where each document holds wire text: (its span, the wire, the span in the wire).
    # Two planted passages of one wire may overlap, so their copies share text too.
    instances: dict[str, list[tuple[tuple[int, int], str, tuple[int, int]]]] = defaultdict(list)
    for p in corpus.planted:
        instances[p.source].append((p.source_tokens, p.source, p.source_tokens))
        instances[p.copy].append((p.copy_tokens, p.source, p.source_tokens))
    reported: dict[tuple[str, str], list[tuple[tuple[int, int], tuple[int, int]]]] = \
        defaultdict(list)
    false = total = 0
    for pair in pairs:
        for passage in pair.passages:
            total += 1
            a = (position(pair.a, passage.a.start), position(pair.a, passage.a.end))
            b = (position(pair.b, passage.b.start), position(pair.b, passage.b.end))
            reported[(pair.a, pair.b)].append((a, b))
            reported[(pair.b, pair.a)].append((b, a))
            in_a = [(w, s) for span, w, s in instances.get(pair.a, []) if _overlaps(span, a)]
            in_b = [(w, s) for span, w, s in instances.get(pair.b, []) if _overlaps(span, b)]
            false += not any(wa == wb and _overlaps(sa, sb) for wa, sa in in_a for wb, sb in in_b)
    found = exact = 0
    for p in corpus.planted:
        hits = [(a, b) for a, b in reported.get((p.source, p.copy), [])
                if _overlaps(a, p.source_tokens) and _overlaps(b, p.copy_tokens)]
        if not hits:
            continue
        found += 1
        a = (min(h[0][0] for h in hits), max(h[0][1] for h in hits))
        b = (min(h[1][0] for h in hits), max(h[1][1] for h in hits))
        truth = p.source_tokens + p.copy_tokens
        exact += all(abs(x - y) <= tolerance for x, y in zip(a + b, truth))
    n = len(corpus.planted)
    return {"planted": n, "recall": found / n if n else 1.0,
            "boundary_recall": exact / n if n else 1.0, "reported": total,
            "false_passages": false / total if total else 0.0}


def _overlaps(x: tuple[int, int], y: tuple[int, int]) -> bool:
    return x[0] < y[1] and y[0] < x[1]
