"""``neardup serve``: an index (:class:`neardup.Index`) over HTTP, as a JSON API.

- ``POST /v1/query``: ``{"text": ...}`` or ``{"documents": [{"id", "text"}, ...]}``, and
  ``"explain": true`` for what each match shares with the text. Answers ``{"matches":
  [{"id", "jaccard"}, ...]}`` for a text, ``{"results": [{"id", "matches"}, ...]}`` for
  documents. Nothing is added.
- ``POST /v1/documents``: ``{"documents": [{"id", "text"}, ...]}``. Adds them, and answers
  as ``neardup index add`` prints: ``{"pairs", "added", "known", "rejected"}``. Additions are
  serialised: one writer, and requests waiting together are committed in one transaction.
- ``GET`` / ``DELETE /v1/documents/{id}``: a stored document (its text), or its removal.
- ``GET /v1/stats``, ``GET /healthz``, the OpenAPI schema at ``/openapi.json``, and at
  ``/`` a page to paste a text or drop a file and see what the index knows like it.

Queries run in each server process as they come, with the process's own read-only
connection; ``workers`` processes answer at once. Malformed
JSON gets 422, a body over ``max_body`` bytes 413, an unknown id 404; an unexpected error is
a 500 with a one-line message, never a traceback, and the server goes on. With a token,
every request but ``/healthz`` needs ``Authorization: Bearer TOKEN``.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the request models from the
# endpoints' annotations at run time, and they are defined inside create_app.
import asyncio
import hmac
import ipaddress
import json
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .align import explain as explain_texts
from .document import Document, Source
from .errors import NeardupError
from .index import Index, IndexAdded, Match

#: The largest request body accepted unless told otherwise.
DEFAULT_MAX_BODY = 16 << 20
#: Documents one request may carry.
MAX_DOCUMENTS = 10_000


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _Pending:
    docs: list[Document]
    done: asyncio.Future[IndexAdded]


@dataclass
class _Writer:
    """The one writer: additions queue here and are committed in groups."""

    index: Index
    queue: asyncio.Queue[_Pending] = field(default_factory=asyncio.Queue)

    async def run(self) -> None:
        while True:
            first = await self.queue.get()
            group = [first]
            while not self.queue.empty() and sum(len(p.docs) for p in group) < MAX_DOCUMENTS:
                group.append(self.queue.get_nowait())
            try:
                added = await asyncio.to_thread(self._add, [d for p in group for d in p.docs])
            except Exception as err:  # noqa: BLE001 - each waiting request gets the error
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_exception(err)
                continue
            for pending, part in zip(group, _split(added, group)):
                if not pending.done.done():
                    pending.done.set_result(part)

    def _add(self, docs: list[Document]) -> IndexAdded:
        return self.index.add(docs, batch_size=len(docs) + 1)


def _split(added: IndexAdded, group: list[_Pending]) -> list[IndexAdded]:
    """What one group commit did, by the request each document came in (a pair belongs
    to the request of its newer document, ``b``)."""
    owner: dict[str, int] = {}
    for k, pending in enumerate(group):
        for doc in pending.docs:
            owner.setdefault(doc.id, k)
    parts = [IndexAdded() for _ in group]
    for pair in added.pairs:
        parts[owner.get(pair.b, 0)].pairs.append(pair)
    for doc_id in added.added:
        parts[owner[doc_id]].added.append(doc_id)
    for rejected in added.rejected:
        parts[owner.get(rejected.id or "", 0)].rejected.append(rejected)
    for k, pending in enumerate(group):
        parts[k].known = len(pending.docs) - len(parts[k].added) - len(parts[k].rejected)
    return parts


class _Guard:
    """ASGI middleware before every request: the token (when one is set; ``/healthz``
    needs none) and the body limit, by ``Content-Length`` or, for a body sent without
    one, by counting as it arrives."""

    def __init__(self, app: Any, token: str | None, max_body: int) -> None:
        self.app, self.token, self.max_body = app, token, max_body
        self.expected = f"Bearer {token}".encode() if token is not None else b""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.token is not None and scope["path"] != "/healthz" and not hmac.compare_digest(
                headers.get(b"authorization", b""), self.expected):
            await _reply(send, 401, "a valid 'Authorization: Bearer TOKEN' header is needed")
            return
        too_big = f"request body over {self.max_body:,} bytes; send fewer documents at a time"
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _reply(send, 413, too_big)
            return
        if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
            # A body sent without a length is read here, up to the limit, then handed on.
            chunks, size, more = [], 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                more = message.get("more_body", False)
                if size > self.max_body:
                    await _reply(send, 413, too_big)
                    return
            whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

            async def replay() -> dict:
                nonlocal whole
                message, whole = whole, {"type": "http.disconnect"}
                return message

            receive = replay
        started = False

        async def watched(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as err:  # noqa: BLE001 - one line, never a traceback
            if not started:
                await _reply(send, 500, f"internal error: {type(err).__name__}: {err}")


async def _reply(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(index_path: str | Path, token: str | None = None,
               max_body: int = DEFAULT_MAX_BODY) -> Any:
    """The ASGI application serving the index at ``index_path``."""
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, ORJSONResponse
    from pydantic import BaseModel, Field

    class DocumentIn(BaseModel):
        id: str = Field(min_length=1)
        text: str

    class QueryIn(BaseModel):
        text: str | None = None
        documents: list[DocumentIn] | None = Field(default=None, max_length=MAX_DOCUMENTS)
        explain: bool = False

    class DocumentsIn(BaseModel):
        documents: list[DocumentIn] = Field(max_length=MAX_DOCUMENTS)

    path = Path(index_path)
    Index(path, readonly=True).close()  # a missing or foreign file fails here, at start
    readers = threading.local()
    state: dict[str, Any] = {}

    def reader() -> Index:
        if not hasattr(readers, "index"):
            readers.index = Index(path, readonly=True)
        return readers.index  # type: ignore[no-any-return]

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        writer = _Writer(Index(path))
        state["writer"] = writer
        task = asyncio.create_task(writer.run())
        try:
            yield
        finally:
            task.cancel()
            writer.index.close()

    app = FastAPI(title="neardup", summary="A near-duplicate index: what is known like a "
                  "text, with exact Jaccard.", version="1", lifespan=lifespan)

    app.add_middleware(_Guard, token=token, max_body=max_body)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in err.errors()[:5])
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(NeardupError)
    async def user_error(request: Request, err: NeardupError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=409)

    def matches(index: Index, text: str, found: list[Match], explain: bool
                ) -> list[dict[str, Any]]:
        rows = []
        for match in found:
            row = match.to_dict()
            known = index.text(match.id) if explain else None
            if known is not None:
                row["explanation"] = explain_texts(known, text).to_dict()
                row["text"] = known
            rows.append(row)
        return rows

    @app.post("/v1/query", response_class=ORJSONResponse)
    async def query(body: QueryIn) -> ORJSONResponse:
        # Run here, not in a thread: a query is a fraction of a millisecond of CPU, less
        # than the hop to a thread and back, and it holds the GIL either way.
        if (body.text is None) == (body.documents is None):
            raise HTTPException(422, "give either text or documents")
        index = reader()
        if body.text is not None:
            result = index.query([Document("text", body.text, Source("<request>"))])[0]
            return ORJSONResponse(
                {"matches": matches(index, body.text, result.matches, body.explain)})
        docs = [Document(d.id, d.text, Source("<request>", k))
                for k, d in enumerate(body.documents or [])]
        results = index.query(docs)
        return ORJSONResponse({"results": [
            {"id": r.id, "matches": matches(index, d.text, r.matches, body.explain)}
            for d, r in zip(docs, results)]})

    @app.post("/v1/documents")
    async def add(body: DocumentsIn) -> JSONResponse:
        docs = [Document(d.id, d.text, Source("<request>", k))
                for k, d in enumerate(body.documents)]
        done: asyncio.Future[IndexAdded] = asyncio.get_running_loop().create_future()
        await state["writer"].queue.put(_Pending(docs, done))
        added = await done  # committed when it returns
        return JSONResponse({
            "pairs": [p.to_dict() for p in added.pairs], "added": len(added.added),
            "known": added.known,
            "rejected": [{"id": r.id, "reason": r.reason} for r in added.rejected]},
            status_code=409 if added.conflicts else 200)

    @app.get("/v1/documents/{doc_id}")
    def get_document(doc_id: str) -> dict[str, Any]:
        text = reader().text(doc_id)
        if text is None:
            raise HTTPException(404, f"no document {doc_id!r} in the index")
        return {"id": doc_id, "text": text}

    @app.delete("/v1/documents/{doc_id}")
    async def delete_document(doc_id: str) -> dict[str, Any]:
        removed = await asyncio.to_thread(state["writer"].index.remove, [doc_id])
        if not removed:
            raise HTTPException(404, f"no document {doc_id!r} in the index")
        return {"removed": doc_id}

    @app.get("/v1/stats")
    def stats() -> dict[str, Any]:
        return reader().stats()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    return app


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise NeardupError(f"{host}: serving beyond this machine needs --token (every request "
                           "must then carry it); or serve on 127.0.0.1")


def serve(index_path: str | Path, host: str = "127.0.0.1", port: int = 8750,
          token: str | None = None, max_body: int = DEFAULT_MAX_BODY,
          workers: int = 1) -> None:
    """Serve the index until interrupted, in ``workers`` processes (each answers queries
    with its own connections; additions from all of them take the index's one write lock
    in turn). A non-loopback ``host`` needs a ``token``."""
    check_bind(host, token)
    import uvicorn

    if workers == 1:
        app = create_app(index_path, token, max_body)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
        return
    # Worker processes build the app themselves, from the settings passed in the
    # environment (uvicorn starts them from an import string).
    os.environ[_SETTINGS_VARIABLE] = json.dumps(
        {"index": str(index_path), "token": token, "max_body": max_body})
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False)


_SETTINGS_VARIABLE = "NEARDUP_SERVE_SETTINGS"


def app_from_environment() -> Any:
    """The app of one worker process of :func:`serve`."""
    settings = json.loads(os.environ[_SETTINGS_VARIABLE])
    return create_app(settings["index"], settings["token"], settings["max_body"])


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>neardup: is this text known?</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}
textarea{width:100%;height:10rem;font:inherit}
#drop{border:2px dashed #999;padding:1rem;text-align:center;margin:.5rem 0}
.match{border-top:1px solid #ccc;padding:.5rem 0}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1rem;white-space:pre-wrap}
.shared{background:#fe9}.shared::before{content:'[' attr(data-n) ']';font-size:70%;color:#850}
.extra{background:#fcc}
</style></head><body>
<h1>Is this text already known?</h1>
<p>Paste a text or drop a file; the index answers with the documents it knows like it,
each with its exact Jaccard similarity and what the two share.</p>
<textarea id="text" aria-label="text"></textarea>
<div id="drop">drop a text file here</div>
<button id="go">Find matches</button>
<p id="status" role="status"></p>
<div id="matches"></div>
<script>
const $ = (id) => document.getElementById(id);
const esc = (s) => s.replace(/[&<>]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;'}[c]));
// A text with its spans marked: [start, end, class, label], in order, not overlapping.
function marked(text, spans) {
  let out = '', at = 0;
  for (const [start, end, cls, label] of spans.sort((x, y) => x[0] - y[0])) {
    out += esc(text.slice(at, start)) + `<span class="${cls}" data-n="${label}">` +
           esc(text.slice(start, end)) + '</span>';
    at = end;
  }
  return out + esc(text.slice(at));
}
function side(text, passages, extras, key) {
  return marked(text, passages.map((p, k) => [p[key].start, p[key].end, 'shared', k + 1])
    .concat(extras.map((s) => [s.start, s.end, 'extra', '+'])));
}
async function find() {
  const text = $('text').value;
  $('status').textContent = 'searching…';
  const r = await fetch('/v1/query', {method: 'POST', body: JSON.stringify({text, explain: true}),
                                      headers: {'content-type': 'application/json'}});
  const body = await r.json();
  if (!r.ok) { $('status').textContent = 'error: ' + body.detail; return; }
  const found = body.matches;
  $('status').textContent = found.length ? `${found.length} known document(s) match` :
    'nothing known matches this text';
  $('matches').innerHTML = found.map((m) => {
    const x = m.explanation;
    return `<div class="match"><h2>${esc(m.id)}: Jaccard ${m.jaccard.toFixed(3)}` +
      `${m.exact ? ' (exact copy)' : ''}</h2><p>${x.passages.length} shared passage(s); ` +
      `${x.only_a.length} span(s) only in the known document, ${x.only_b.length} only in ` +
      `yours.</p><div class="cols"><div class="known"><h3>known: ${esc(m.id)}</h3>` +
      side(m.text, x.passages, x.only_a, 'a') + '</div><div class="yours"><h3>your text</h3>' +
      side(text, x.passages, x.only_b, 'b') + '</div></div></div>';
  }).join('');
}
$('go').onclick = find;
$('drop').ondragover = (e) => e.preventDefault();
$('drop').ondrop = async (e) => {
  e.preventDefault();
  $('text').value = await e.dataTransfer.files[0].text();
  find();
};
</script></body></html>
"""
