"""``neardup serve``: an index (:class:`neardup.Index`) over HTTP, as a JSON API.

- ``POST /v1/query``: ``{"text": ...}`` or ``{"documents": [{"id", "text"}, ...]}``, and
  ``"explain": true`` for what each match shares with the text. Answers ``{"matches":
  [{"id", "jaccard"}, ...]}`` for a text, ``{"results": [{"id", "matches"}, ...]}`` for
  documents. Nothing is added.
- ``POST /v1/documents``: ``{"documents": [{"id", "text"}, ...]}``. Adds them, and answers
  as ``neardup index add`` prints, with the ids now held: ``{"pairs", "ids", "added",
  "known", "rejected"}``. Additions are serialised: one writer, and requests waiting
  together are committed in one transaction.
- ``GET`` / ``DELETE /v1/documents/{id}``: a stored document (its text), or its removal.
- ``GET /v1/stats``, ``GET /healthz``, the OpenAPI schema at ``/openapi.json``, and at
  ``/`` a page to paste a text or drop a file and see what the index knows like it.

Queries run in each server process as they come, with the process's own read-only
connection; ``workers`` processes answer at once. Every error is ``{"detail": "one
line"}``, and every status is in the schema (:mod:`neardup.serve_models`): a body that is
not JSON gets 400, one that breaks the schema 422, one over ``max_body`` bytes 413, an
unknown id 404. An unexpected error is a 500, logged with its cause in one line, never a
traceback, and the server goes on. With a token, every request but ``/healthz`` needs
``Authorization: Bearer TOKEN``.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the request models from the
# endpoints' annotations at run time, and they are imported inside create_app (pydantic
# comes with the [serve] extra; the rest of this module does without it).
import asyncio
import hmac
import ipaddress
import json
import logging
import os
import threading
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import faults
from .align import explain as explain_texts
from .document import Document, Source
from .errors import NeardupError
from .index import Index, IndexAdded, Match

#: uvicorn's own error log, so that a request's failure reads like the server's others.
_log = logging.getLogger("uvicorn.error")

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
    """The one writer: additions queue here and are committed in groups.

    A failed commit fails the requests of its group and the writer goes on; should the
    writer's task end all the same, :meth:`submit` answers 503 instead of waiting on it."""

    index: Index
    queue: asyncio.Queue[_Pending] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        while True:
            group = [await self.queue.get()]
            while not self.queue.empty() and sum(len(p.docs) for p in group) < MAX_DOCUMENTS:
                group.append(self.queue.get_nowait())
            try:
                added = await asyncio.to_thread(self._add, [d for p in group for d in p.docs])
                parts = _split(added, group)
            except Exception as err:  # noqa: BLE001 - each waiting request gets the error
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_exception(err)
                continue
            for pending, part in zip(group, parts):
                if not pending.done.done():
                    pending.done.set_result(part)

    def _add(self, docs: list[Document]) -> IndexAdded:
        faults.at("serve-commit")
        return self.index.add(docs, batch_size=len(docs) + 1)

    async def submit(self, docs: list[Document]) -> IndexAdded:
        """Queue ``docs`` and wait until they are committed (or refused)."""
        assert self.task is not None
        done: asyncio.Future[IndexAdded] = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(docs, done))
        await asyncio.wait([done, self.task], return_when=asyncio.FIRST_COMPLETED)
        if not done.done():
            raise _WriterStopped("the index writer stopped; restart neardup serve "
                                 "(the server's log says why)")
        return done.result()


class _WriterStopped(RuntimeError):
    """The writer's task ended: additions cannot be committed until a restart."""


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
            cause = f"{type(err).__name__}: {err}"
            frame = traceback.extract_tb(err.__traceback__)[-1]
            _log.error("%s %s answered 500: %s (raised at %s:%d)", scope["method"],
                       scope["path"], cause, Path(frame.filename).name, frame.lineno)
            if not started:
                await _reply(send, 500, f"internal error: {cause}")


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
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from fastapi.routing import APIRoute
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from .serve_models import (
        AddedOut,
        DocumentOut,
        DocumentsAnswer,
        DocumentsIn,
        HealthOut,
        Problem,
        QueryIn,
        RemovedOut,
        StatsOut,
        TextAnswer,
    )

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
        writer.start()
        try:
            yield
        finally:
            assert writer.task is not None
            writer.task.cancel()
            writer.index.close()

    app = FastAPI(title="neardup", summary="A near-duplicate index: what is known like a "
                  "text, with exact Jaccard.", version="1", lifespan=lifespan)

    app.add_middleware(_Guard, token=token, max_body=max_body)
    if token is not None:
        _declare_bearer(app)

    def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
        """The error answers a route gives besides its own: each a :class:`Problem`."""
        why = {400: "The body is not JSON in UTF-8.",
               401: "No valid bearer token (the server was started with one).",
               404: "No document with this id in the index.",
               409: "The index refused the request.",
               413: "The body is over the server's size limit.",
               422: "The request does not match its schema.",
               500: "An unexpected error; the server logs its cause and goes on.",
               503: "The index writer stopped; restart the server."}
        return {s: {"model": Problem, "description": why[s]} for s in statuses}

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in err.errors()[:5])
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(NeardupError)
    async def user_error(request: Request, err: NeardupError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=409)

    @app.exception_handler(_WriterStopped)
    async def writer_stopped(request: Request, err: _WriterStopped) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        headers = dict(err.headers or {})
        if err.status_code == 405:
            # Starlette names the methods of the first route on the path only; a path
            # served by two routes (GET and DELETE a document) allows the methods of both.
            allowed = {m for r in app.routes if isinstance(r, APIRoute)
                       and r.path_regex.match(request.url.path) for m in r.methods}
            headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse({"detail": str(err.detail)}, status_code=err.status_code,
                            headers=headers)

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

    def json_answer(body: dict[str, Any]) -> Response:
        return Response(orjson.dumps(body), media_type="application/json")

    @app.post("/v1/query", responses={
        200: {"model": TextAnswer | DocumentsAnswer, "description": "`matches` for a text, "
              "`results` for documents."}, **problems(400, 401, 413, 422, 500)})
    async def query(body: QueryIn) -> Response:
        """What the index knows like a text, or like each of several documents. Nothing
        is added."""
        # Run here, not in a thread: a query is a fraction of a millisecond of CPU, less
        # than the hop to a thread and back, and it holds the GIL either way.
        if (body.text is None) == (body.documents is None):
            raise HTTPException(422, "give either text or documents")
        index = reader()
        if body.text is not None:
            result = index.query([Document("text", body.text, Source("<request>"))])[0]
            return json_answer(
                {"matches": matches(index, body.text, result.matches, body.explain)})
        docs = [Document(d.id, d.text, Source("<request>", k))
                for k, d in enumerate(body.documents or [])]
        results = index.query(docs)
        return json_answer({"results": [
            {"id": r.id, "matches": matches(index, d.text, r.matches, body.explain)}
            for d, r in zip(docs, results)]})

    @app.post("/v1/documents", responses={
        200: {"model": AddedOut, "description": "Committed: the pairs the new documents "
              "form, and how many were added, known or rejected.", "links": {
                  "GetDocument": {"operationId": "get_document",
                                  "parameters": {"doc_id": "$response.body#/ids/0"}},
                  "DeleteDocument": {"operationId": "delete_document",
                                     "parameters": {"doc_id": "$response.body#/ids/0"}}}},
        409: {"model": AddedOut | Problem, "description": "A document's id is in the index "
              "with another text (the rest are committed), or the index refused the "
              "request."}, **problems(400, 401, 413, 422, 500, 503)})
    async def add(body: DocumentsIn) -> JSONResponse:
        """Add documents; answered once they are committed. Requests that arrive together
        are committed together, by one writer."""
        docs = [Document(d.id, d.text, Source("<request>", k))
                for k, d in enumerate(body.documents)]
        added = await state["writer"].submit(docs)
        refused = {r.id for r in added.rejected}
        return JSONResponse({
            "pairs": [p.to_dict() for p in added.pairs],
            "ids": [d.id for d in docs if d.id not in refused], "added": len(added.added),
            "known": added.known,
            "rejected": [{"id": r.id, "reason": r.reason} for r in added.rejected]},
            status_code=409 if added.conflicts else 200)

    @app.get("/v1/documents/{doc_id}", response_model=DocumentOut, operation_id="get_document",
             responses=problems(401, 404, 422, 500))
    def get_document(doc_id: str) -> dict[str, Any]:
        """A stored document's text."""
        text = reader().text(doc_id)
        if text is None:
            raise HTTPException(404, f"no document {doc_id!r} in the index")
        return {"id": doc_id, "text": text}

    @app.delete("/v1/documents/{doc_id}", response_model=RemovedOut,
                operation_id="delete_document",
                responses=problems(401, 404, 409, 422, 500))
    async def delete_document(doc_id: str) -> dict[str, Any]:
        """Remove a document (a take-down request)."""
        removed = await asyncio.to_thread(state["writer"].index.remove, [doc_id])
        if not removed:
            raise HTTPException(404, f"no document {doc_id!r} in the index")
        return {"removed": doc_id}

    @app.get("/v1/stats", response_model=StatsOut, responses=problems(401, 500))
    def stats() -> dict[str, Any]:
        """The index: documents, settings and size on disk."""
        return reader().stats()

    @app.get("/healthz", response_model=HealthOut, responses=problems(500))
    def healthz() -> dict[str, str]:
        """Whether the server answers (needs no token)."""
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    return app


def _declare_bearer(app: Any) -> None:
    """Say in the schema that every operation but ``/healthz`` needs the bearer token."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        schema: dict[str, Any] = plain()
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"}}
        for route, operations in schema["paths"].items():
            for operation in operations.values():
                if route != "/healthz":
                    operation["security"] = [{"bearer": []}]
        return schema

    app.openapi = openapi


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
