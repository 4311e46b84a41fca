"""HTML and WARC: raw web data to documents, with a maintained extractor.

Extraction (main text and metadata from a page) is delegated to trafilatura (default, in
its precision mode) or to resiliparse (``extractor="resiliparse"``: ~20x faster, leaves more
page furniture for neardup's cleaning to remove). With trafilatura, two rules of neardup's
own run around it: lists of the site's other stories leave the page before extraction
(:mod:`neardup.clean.teasers`), and a lead the extractor left out is put back after it
(:mod:`neardup.clean.lead`). On real pages with gold text (``bench/extraction.py``) the
result has Jaccard >= 0.8 to the gold on 22 of newspaper4k's 23 pages in nine languages and
24 of Mozilla Readability's 26, against 22 and 23 for trafilatura's precision mode alone,
19 and 22 for its default; after ``neardup clean``, 15 of GeneralNewsExtractor's 20 Chinese
pages, which no rule was written from, against 14 and 12. WARC files are read with
fastwarc. All three come with ``pip install neardup[html]``.

Readers yield :class:`~neardup.document.Unparsed` records whose ``parse`` does the
extraction, so it runs in the engine's worker processes, not in the reading one.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Iterator
from functools import partial
from urllib.parse import urlsplit

from ..document import Document, Rejected, Source, Unparsed

EXTRACTORS = ("trafilatura", "resiliparse")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
WARC_SUFFIXES = (".warc", ".warc.gz")


class MissingExtra(ImportError):
    """HTML or WARC input without the optional dependencies installed."""


def _need(module: str) -> None:
    raise MissingExtra(f"reading HTML or WARC needs {module}: pip install 'neardup[html]'")


def check_extractor(extractor: str) -> None:
    """Raise :class:`MissingExtra` now, not per record, if the extractor is not installed."""
    if extractor not in EXTRACTORS:
        raise ValueError(f"unknown extractor {extractor!r}; choose from {', '.join(EXTRACTORS)}")
    try:
        if extractor == "trafilatura":
            import trafilatura  # noqa: F401
        else:
            import resiliparse  # noqa: F401
    except ImportError:
        _need(extractor)


def parse_html(data: bytes, source: Source, doc_id: str, url: str | None = None,
               extractor: str = "trafilatura", max_bytes: int | None = None
               ) -> Document | Rejected:
    """One page as a :class:`Document` (text plus ``meta``: title, date, site, url), or a
    :class:`Rejected` saying why not."""
    if max_bytes is not None and len(data) > max_bytes:
        return Rejected(source, f"page of {len(data):,} bytes is over the limit of "
                                f"{max_bytes:,} (raise it with --max-doc-bytes)", doc_id)
    if b"\x00" in data[:8192] and not data.lstrip().startswith(b"<"):
        return Rejected(source, "binary content, not HTML", doc_id)
    try:
        text, meta = (_trafilatura(data, url) if extractor == "trafilatura"
                      else _resiliparse(data))
    except Exception as err:  # an extractor failing on one page must not stop the run
        return Rejected(source, f"HTML extraction failed: {type(err).__name__}: {err}", doc_id)
    if not text or not text.strip():
        return Rejected(source, "no extractable text in this page", doc_id)
    # Pages may spell an accented letter as letter + combining mark; trafilatura's own
    # text output composes them (NFC), and so does this, so both give the same text.
    text = unicodedata.normalize("NFC", text)
    if url:
        meta["url"] = url
        meta.setdefault("site", urlsplit(url).hostname or "")
    doc = Document(doc_id, text, source, {k: str(v) for k, v in meta.items() if v}, len(data))
    return doc


def _trafilatura(data: bytes, url: str | None) -> tuple[str | None, dict[str, object]]:
    import trafilatura
    from trafilatura.utils import load_html

    from ..clean.lead import with_lead  # both need lxml, which comes with the html extra
    from ..clean.teasers import drop_story_teasers, page_host

    tree = load_html(data)
    page = None
    if tree is not None:  # lists of the site's other stories go first (clean.teasers)
        drop_story_teasers(tree, page_host(tree, url))
        page = copy.deepcopy(tree)  # the extractor prunes its tree; the lead is sought in all
    result = trafilatura.bare_extraction(data if tree is None else tree, url=url,
                                         include_comments=False, with_metadata=True,
                                         favor_precision=True)
    if result is None:
        return None, {}
    get = result.get if isinstance(result, dict) else lambda k: getattr(result, k, None)
    meta = {"title": get("title"), "date": get("date"), "site": get("sitename") or get("hostname")}
    text = get("text")
    if text and page is not None:
        text = with_lead(page, text)
    return text, meta


def _resiliparse(data: bytes) -> tuple[str | None, dict[str, object]]:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(bytes_to_str(data, detect_encoding(data)))
    return extract_plain_text(tree, main_content=True), {"title": tree.title}


def read_html_file(path: str, doc_id: str, extractor: str,
                   max_bytes: int | None) -> Unparsed | Rejected:
    source = Source(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        return Rejected(source, f"cannot read: {err.strerror}", doc_id)
    return Unparsed(source, data, partial(parse_html, doc_id=doc_id, extractor=extractor,
                                          max_bytes=max_bytes))


def read_warc(path: str, extractor: str, max_bytes: int | None) -> Iterator[Unparsed | Rejected]:
    """Every HTML response in a WARC file (gzip too); a record's id is its WARC-Record-ID,
    its URL and site go to ``meta``. A truncated file: what was read stands, the rest is
    reported lost."""
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError:
        _need("fastwarc")
    number = 0
    last_start = 0
    try:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh, record_types=WarcRecordType.response,
                                          parse_http=True):
                number += 1
                last_start = record.stream_pos
                source = Source(path, number)
                content_type = (record.http_headers.get("Content-Type", "")
                                if record.http_headers is not None else "")
                if content_type and "html" not in content_type.lower():
                    continue  # images, PDFs, scripts: not documents
                doc_id = record.record_id
                url = record.headers.get("WARC-Target-URI")
                try:
                    data = record.reader.read()
                except Exception as err:
                    yield Rejected(source, f"unreadable WARC record: {err}", doc_id)
                    continue
                yield Unparsed(source, data, partial(parse_html, doc_id=doc_id, url=url,
                                                     extractor=extractor, max_bytes=max_bytes))
    except Exception as err:  # fastwarc raises several types on a damaged stream
        yield Rejected(Source(path, number + 1),
                       f"cannot read further: {err}; the rest of this file is lost")
        return
    if _truncated(path, last_start):
        yield Rejected(Source(path, number + 1),
                       "the archive ends inside a record (truncated); the rest of this file "
                       "is lost")


def _truncated(path: str, last_start: int) -> bool:
    """fastwarc stops quietly at a cut-off archive, so look at its tail: in a gzipped WARC
    every member from the last record read on must decompress to its end; a plain WARC
    must end with a record's closing blank line."""
    import zlib

    with open(path, "rb") as fh:
        fh.seek(last_start)
        tail = fh.read()
    if not path.lower().endswith(".gz"):
        return bool(tail) and not tail.endswith(b"\r\n\r\n")
    while tail:
        member = zlib.decompressobj(wbits=31)
        try:
            member.decompress(tail)
        except zlib.error:
            return True
        if not member.eof:
            return True
        tail = member.unused_data
    return False
