"""`neardup serve`, started as a user starts it, on 127.0.0.1: the JSON API against the
index's own answers, every error case, the token, concurrent clients, and the page a
person sees in Chromium."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from neardup.index import Index

from . import synth

CORPUS_DOCS = 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`neardup serve INDEX` in a subprocess, stopped at the end; its stderr kept."""

    def __init__(self, index: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = index.parent / f"serve-{self.port}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "neardup", "serve", str(index), "--port", str(self.port),
             *args], stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
            env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # bounded: 30 s, 0.1 s apart
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
            assert self.proc.poll() is None, self.log.read_text()
        raise AssertionError(f"the server did not start: {self.log.read_text()}")

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        return self.log.read_text()


@pytest.fixture(scope="module")
def corpus(lee_texts: list[str]) -> list[tuple[str, str]]:
    planted = synth.generate(lee_texts, CORPUS_DOCS, dup_fraction=0.3, seed=9)
    return list(zip(planted.ids, planted.texts))


@pytest.fixture(scope="module")
def server(corpus: list[tuple[str, str]], tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    index = tmp_path_factory.mktemp("serve") / "news.ndx"
    with Index.create(index) as ix:
        ix.add(corpus[:400])
    running = Server(index, "--max-body", "200000")
    yield running
    log = running.stop()
    assert "Traceback" not in log  # no request made the server print one


def test_queries_answer_what_the_index_knows(server: Server, corpus: list[tuple[str, str]],
                                             tmp_path: Path) -> None:
    index = Path(server.log).parent / "news.ndx"
    with Index(index, readonly=True) as ix:
        expected = ix.query(corpus[380:460])
    one = httpx.post(f"{server.url}/v1/query", json={"text": corpus[390][1]}, timeout=30)
    assert one.status_code == 200
    assert one.json()["matches"] == [m.to_dict() for m in expected[10].matches]
    many = httpx.post(f"{server.url}/v1/query", timeout=30, json={
        "documents": [{"id": i, "text": t} for i, t in corpus[380:460]]})
    assert many.json()["results"] == [r.to_dict() for r in expected]
    assert sum(bool(r.matches) for r in expected) >= 20
    explained = httpx.post(f"{server.url}/v1/query", timeout=30,
                           json={"text": corpus[390][1], "explain": True}).json()["matches"]
    assert explained[0]["text"] == dict(corpus)[explained[0]["id"]]
    assert explained[0]["explanation"]["jaccard"] == pytest.approx(explained[0]["jaccard"],
                                                                   abs=1e-6)


def test_documents_are_added_read_and_removed(server: Server,
                                              corpus: list[tuple[str, str]]) -> None:
    new = corpus[400:450]
    added = httpx.post(f"{server.url}/v1/documents", timeout=60,
                       json={"documents": [{"id": i, "text": t} for i, t in new]})
    assert added.status_code == 200
    body = added.json()
    assert body["added"] == 50 and body["known"] == 0 and body["rejected"] == []
    with Index.create(Path(server.log).parent / "check.ndx") as ix:  # the same, in Python
        ix.add(corpus[:400])
        expected = ix.add(new)
    assert sorted(map(json.dumps, body["pairs"])) == sorted(
        json.dumps(p.to_dict()) for p in expected.pairs)
    doc_id, text = new[0]
    assert httpx.get(f"{server.url}/v1/documents/{doc_id}").json() == {"id": doc_id,
                                                                        "text": text}
    again = httpx.post(f"{server.url}/v1/documents",
                       json={"documents": [{"id": doc_id, "text": text}]}).json()
    assert again["added"] == 0 and again["known"] == 1
    clash = httpx.post(f"{server.url}/v1/documents",
                       json={"documents": [{"id": doc_id, "text": "other words entirely"}]})
    assert clash.status_code == 409
    assert "id already in the index" in clash.json()["rejected"][0]["reason"]
    assert httpx.delete(f"{server.url}/v1/documents/{doc_id}").json() == {"removed": doc_id}
    assert httpx.get(f"{server.url}/v1/documents/{doc_id}").status_code == 404
    stats = httpx.get(f"{server.url}/v1/stats").json()
    assert stats["documents"] == 449 and stats["settings"]["threshold"] == 0.8


@pytest.mark.parametrize("request_, status", [
    (("POST", "/v1/query", b"{not json", "application/json"), 422),
    (("POST", "/v1/query", b'{"text": 5}', "application/json"), 422),
    (("POST", "/v1/query", b"{}", "application/json"), 422),
    (("POST", "/v1/query", b'{"text": "a", "documents": []}', "application/json"), 422),
    (("POST", "/v1/documents", b'{"documents": [{"id": ""}]}', "application/json"), 422),
    (("POST", "/v1/documents", b"[1, 2]", "application/json"), 422),
    (("POST", "/v1/query", b'{"text": "' + b"x" * 300_000 + b'"}', "application/json"), 413),
    (("GET", "/v1/documents/no-such-id", b"", None), 404),
    (("DELETE", "/v1/documents/no-such-id", b"", None), 404),
    (("GET", "/v2/nothing", b"", None), 404),
])
def test_bad_requests_get_a_status_and_one_line(server: Server, request_: tuple,
                                                status: int) -> None:
    method, path, body, kind = request_
    headers = {"content-type": kind} if kind else {}
    got = httpx.request(method, server.url + path, content=body, headers=headers, timeout=30)
    assert got.status_code == status
    detail = got.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # still serving


def test_a_body_without_a_length_is_cut_at_the_limit(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(30):
            yield b"y" * 10_000
        yield b'"}'

    got = httpx.post(f"{server.url}/v1/query", content=chunks(),
                     headers={"content-type": "application/json"}, timeout=30)
    assert got.status_code == 413

    def small() -> Iterator[bytes]:  # under the limit, it is read as any other body
        yield b'{"text": "a short text'
        yield b' in two pieces"}'

    got = httpx.post(f"{server.url}/v1/query", content=small(),
                     headers={"content-type": "application/json"}, timeout=30)
    assert got.status_code == 200 and got.json() == {"matches": []}


def test_eight_clients_at_once_all_answered(server: Server,
                                            corpus: list[tuple[str, str]]) -> None:
    """Queries from eight threads while documents are added: a bounded run (400 requests,
    60 s at most), every answer a 200."""
    texts = [t for _, t in corpus[450:600]]

    def client(k: int) -> list[int]:
        codes = []
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for j in range(50):
                if k == 0 and j % 10 == 0:
                    r = http.post("/v1/documents", json={"documents": [
                        {"id": f"burst-{j}", "text": texts[j]}]})
                else:
                    r = http.post("/v1/query", json={"text": texts[(k * 50 + j) % len(texts)]})
                codes.append(r.status_code)
        return codes

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = [c for part in pool.map(client, range(8)) for c in part]
    assert time.monotonic() - started < 60
    assert codes == [200] * 400


def test_a_token_guards_every_request(corpus: list[tuple[str, str]], tmp_path: Path) -> None:
    index = tmp_path / "guarded.ndx"
    with Index.create(index) as ix:
        ix.add(corpus[:20])
    server = Server(index, "--token", "s3cret")
    try:
        assert httpx.get(f"{server.url}/v1/stats").status_code == 401
        assert httpx.get(f"{server.url}/v1/stats",
                         headers={"authorization": "Bearer wrong"}).status_code == 401
        ok = httpx.get(f"{server.url}/v1/stats", headers={"authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["documents"] == 20
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        schema = httpx.get(f"{server.url}/openapi.json",
                           headers={"authorization": "Bearer s3cret"}).json()
        assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert schema["paths"]["/v1/stats"]["get"]["security"] == [{"bearer": []}]
        assert "security" not in schema["paths"]["/healthz"]["get"]
    finally:
        server.stop()


def test_a_failed_commit_is_logged_and_the_writer_goes_on(corpus: list[tuple[str, str]],
                                                         tmp_path: Path) -> None:
    """The commit of one addition raises (a named test hook): that request gets a 500
    in one line, the server logs the cause in one line, nothing of it is stored, and the
    next addition is committed."""
    index = tmp_path / "faulty.ndx"
    with Index.create(index) as ix:
        ix.add(corpus[:20])
    marker = tmp_path / "fault-hit"
    server = Server(index, env={"NEARDUP_FAULT": "serve-commit:raise",
                                "NEARDUP_FAULT_MARKER": str(marker)})
    try:
        (first_id, first), (second_id, second) = corpus[20], corpus[21]
        failed = httpx.post(f"{server.url}/v1/documents", timeout=30,
                            json={"documents": [{"id": first_id, "text": first}]})
        assert marker.read_text().startswith("serve-commit raise ")  # the window was hit
        assert failed.status_code == 500
        assert failed.json() == {"detail": "internal error: InjectedFault: fault injected at "
                                           "serve-commit"}
        assert httpx.get(f"{server.url}/v1/documents/{first_id}").status_code == 404
        ok = httpx.post(f"{server.url}/v1/documents", timeout=30,
                        json={"documents": [{"id": second_id, "text": second}]})
        assert ok.status_code == 200 and ok.json()["added"] == 1
        assert httpx.get(f"{server.url}/v1/documents/{second_id}").json()["text"] == second
    finally:
        log = server.stop()
    errors = [line for line in log.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "Traceback" not in log, log
    assert errors[0].startswith("ERROR:    POST /v1/documents answered 500: InjectedFault: "
                                "fault injected at serve-commit (raised at faults.py:")


def test_schemathesis_finds_nothing_the_schema_does_not_say(
        corpus: list[tuple[str, str]], tmp_path: Path) -> None:
    """A third-party fuzzer, schemathesis, generates requests from `/openapi.json` and
    checks every answer against it (statuses, bodies, headers, required fields, links
    between operations), bounded: 25 examples an operation, one seed, 5 minutes at most."""
    index = tmp_path / "fuzzed.ndx"
    with Index.create(index) as ix:
        ix.add(corpus[:200])
    server = Server(index)
    try:
        run = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "--no-color", "run",
             f"{server.url}/openapi.json", "--checks", "all", "--max-examples", "25",
             "--seed", "23", "--report-dir", str(tmp_path / "report")],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    finally:
        log = server.stop()
    assert run.returncode == 0, run.stdout[-4000:]
    assert "No issues found" in run.stdout
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", run.stdout), run.stdout[-2000:]
    assert "Traceback" not in log and "ERROR" not in log


def test_serving_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    index = tmp_path / "x.ndx"
    Index.create(index).close()
    run = subprocess.run([sys.executable, "-m", "neardup", "serve", str(index), "--host",
                          "0.0.0.0", "--port", str(_free_port())], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "Error: 0.0.0.0: serving beyond this machine needs --token (every request must then "
        "carry it); or serve on 127.0.0.1"]
    missing = subprocess.run([sys.executable, "-m", "neardup", "serve",
                              str(tmp_path / "none.ndx")], capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 1 and "no index here" in missing.stderr


def test_the_page_shows_a_person_what_matches(server: Server, browser: Any,
                                              corpus: list[tuple[str, str]]) -> None:
    """Paste a known story with a line added: the page lists the known copy with its
    score, numbers the shared passage on both sides, and marks the added line."""
    known_id, known = corpus[5]
    pasted = known + "\n\nThis line was added by the copying site."
    page = browser.new_page()
    try:
        page.goto(server.url + "/")
        page.fill("#text", pasted)
        page.click("#go")
        page.wait_for_selector(".match", timeout=20_000)
        best = page.locator(".match").first  # the known story itself, best score first
        assert best.locator("h2").inner_text().startswith(f"{known_id}: Jaccard 0.9")
        assert page.inner_text("#status").endswith("match")
        shared = best.locator(".yours .shared")
        assert shared.count() >= 1 and shared.first.get_attribute("data-n") == "1"
        assert best.locator(".known .shared").first.get_attribute("data-n") == "1"
        extra = best.locator(".yours .extra")
        assert extra.all_inner_texts() == ["This line was added by the copying site."]
        assert best.locator(".known .extra").count() == 0  # nothing only in the known one
        assert best.locator(".known").inner_text().count(known[:60]) == 1
        page.fill("#text", "Nothing in the index reads like this sentence about turnips.")
        page.click("#go")
        page.wait_for_function("document.querySelector('#status').textContent"
                               ".startsWith('nothing')", timeout=20_000)
        assert page.locator(".match").count() == 0
    finally:
        page.close()


def test_a_stopped_writer_answers_503_instead_of_waiting(corpus: list[tuple[str, str]],
                                                         tmp_path: Path) -> None:
    """Should the writer's task end (here: cancelled, as at shutdown), an addition is
    refused at once with the one-line reason, not left waiting forever."""
    from neardup.document import Document, Source
    from neardup.serve import _Writer, _WriterStopped

    async def scenario() -> str:
        with Index.create(tmp_path / "stopped.ndx") as index:
            writer = _Writer(index)
            writer.start()
            assert writer.task is not None
            writer.task.cancel()
            doc_id, text = corpus[0]
            try:
                await asyncio.wait_for(writer.submit([Document(doc_id, text, Source("t"))]),
                                       timeout=10)
            except _WriterStopped as err:
                return str(err)
            return "committed"

    # In a thread of its own: the browser fixture's event loop may run in this one.
    with ThreadPoolExecutor(1) as thread:
        said = thread.submit(asyncio.run, scenario()).result(timeout=60)
    assert said == "the index writer stopped; restart neardup serve (the server's log says why)"


def test_the_schema_of_an_explanation_is_the_explanation_sent() -> None:
    """serve_models restates align's Explanation as the HTTP contract: the fields must stay
    the ones `to_dict` sends, or a generated client misses one."""
    from dataclasses import fields

    from neardup.align import Explanation, Passage, Span
    from neardup.serve_models import ExplanationOut, PassageOut, SpanOut

    assert set(ExplanationOut.model_fields) == {f.name for f in fields(Explanation)}
    assert set(PassageOut.model_fields) == {f.name for f in fields(Passage)} | {"words"}
    assert set(SpanOut.model_fields) == {f.name for f in fields(Span)}
