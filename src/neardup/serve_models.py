"""The JSON bodies of ``neardup serve``: what each request carries and each answer holds.

These models are the service's contract. FastAPI validates requests against them and
writes them into ``/openapi.json``; the answers are written by the library's own
``to_dict`` methods and declared here, so that a client generated from the schema reads
what the server really sends (a test fuzzes the running server against the schema).
Imported by :func:`neardup.serve.create_app` only, since pydantic comes with the
``[serve]`` extra.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from .serve import MAX_DOCUMENTS


class DocumentIn(BaseModel):
    """A document sent to the index: its id and its text."""

    # Strict: JSON's types as they are (``"explain": 0`` is not ``false``).
    model_config = ConfigDict(strict=True)

    id: str = Field(min_length=1, description="The document's id, unique in the index.")
    text: str


class QueryIn(BaseModel):
    """A query: one ``text``, or several ``documents``; exactly one of the two."""

    # Exactly one of text and documents: stated in the schema so that a client knows
    # before it sends, and enforced by the endpoint (pydantic has no keyword for it).
    model_config = ConfigDict(strict=True, json_schema_extra={
        "oneOf": [{"required": ["text"]}, {"required": ["documents"]}]})

    # ``SkipJsonSchema[None]``: absent is allowed, null is not (the validator refuses it),
    # and the schema says a string, not "a string or null".
    text: str | SkipJsonSchema[None] = Field(
        default=None, description="One text; the answer is `{\"matches\": [...]}`.")
    documents: list[DocumentIn] | SkipJsonSchema[None] = Field(
        default=None, max_length=MAX_DOCUMENTS,
        description="Several texts; the answer is `{\"results\": [...]}`, one per document.")
    explain: bool = Field(default=False, description="Add what each match shares with the "
                          "text (`explanation`) and the known document's `text`.")

    @field_validator("text", "documents", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave the field out instead of sending null")
        return value


class DocumentsIn(BaseModel):
    """Documents to add to the index."""

    model_config = ConfigDict(strict=True)

    documents: list[DocumentIn] = Field(max_length=MAX_DOCUMENTS)


class Problem(BaseModel):
    """Every error: one line that says what went wrong and what to do."""

    detail: str


class SpanOut(BaseModel):
    """``text[start:end]`` of one document (character offsets), and its token count."""

    start: int
    end: int
    words: int
    text: str
    boilerplate: str | None = Field(description="Why cleaning removes the span, if it does.")


class PassageOut(BaseModel):
    """A passage both texts hold: ``a`` in the known document, ``b`` in the query."""

    a: SpanOut
    b: SpanOut
    identity: float = Field(description="The share of its tokens aligned exactly.")
    words: int


class ExplanationOut(BaseModel):
    """Why a known document matches the text (``a`` is the known one, ``b`` the text)."""

    a: str
    b: str
    ngram: int
    jaccard: float
    containment_a_in_b: float
    containment_b_in_a: float
    shingles_a: int
    shingles_b: int
    shared_shingles: int
    exact: bool
    passages: list[PassageOut]
    only_a: list[SpanOut]
    only_b: list[SpanOut]
    jaccard_cleaned: float | None


class MatchOut(BaseModel):
    """A known document like the text: its id and the exact Jaccard similarity of the two
    texts' shingle sets; ``exact`` (present only when true) when the token sequences are
    equal; ``explanation`` and ``text`` when the query asked to explain."""

    id: str
    jaccard: float
    exact: bool = False
    explanation: ExplanationOut | None = None
    text: str | None = None


class TextAnswer(BaseModel):
    """The answer to a query with ``text``: its matches, best first."""

    matches: list[MatchOut]


class DocumentResult(BaseModel):
    id: str
    matches: list[MatchOut]


class DocumentsAnswer(BaseModel):
    """The answer to a query with ``documents``: one result per document, in order."""

    results: list[DocumentResult]


class PairOut(BaseModel):
    """Two documents that are near duplicates; ``b`` is the newer one."""

    a: str
    b: str
    jaccard: float
    exact: bool = False
    estimated: bool = False


class RejectedOut(BaseModel):
    """A document refused, and why."""

    id: str | None
    reason: str


class AddedOut(BaseModel):
    """What an addition did, as ``neardup index add`` prints it."""

    pairs: list[PairOut]
    ids: list[str] = Field(description="The request's documents the index now holds: "
                           "those added and those it already held with the same text.")
    added: int
    known: int = Field(description="Documents already in the index with the same text.")
    rejected: list[RejectedOut]


class DocumentOut(BaseModel):
    id: str
    text: str


class RemovedOut(BaseModel):
    removed: str


class StatsOut(BaseModel):
    """The index: its documents, its settings (fixed at creation) and its size on disk."""

    path: str
    documents: int
    settings: dict[str, Any]
    bytes: int
    bytes_per_document: int | None


class HealthOut(BaseModel):
    status: str
