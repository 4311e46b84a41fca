"""mkdocs hooks: the home page is the README, the HTTP API page is rendered from the
schema the service itself serves, and two renderings of generated references are mended.

The README links into ``docs/`` as a repository shows it; on the site, where ``docs/`` is
the root, those links lose the prefix. For the HTTP page, the app that ``neardup serve``
runs is built over an empty index and asked for its ``/openapi.json``; the page lists every
operation with its request body and every status it answers, then every body schema. The
schema is also published beside the page, as ``reference/openapi.json``, for client
generators. Nothing is fetched.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

MARKER = "<!-- openapi -->"
PAGE = "reference/http.md"
HOME = "index.md"
PYTHON = "reference/python.md"
CLI = "reference/cli.md"
_schema: dict[str, Any] = {}


def service_schema() -> dict[str, Any]:
    """``/openapi.json`` of the service, as ``neardup serve`` would answer it."""
    if not _schema:
        from neardup.index import Index
        from neardup.serve import create_app

        with tempfile.TemporaryDirectory() as tmp:
            Index.create(Path(tmp) / "empty.ndx").close()
            _schema.update(create_app(Path(tmp) / "empty.ndx").openapi())
    return _schema


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _type(schema: dict[str, Any]) -> str:
    """A field's type in words, with links to the schemas it names."""
    if "$ref" in schema:
        name = _name(schema["$ref"])
        return f"[{name}](#{name.lower()})"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        return "object"
    return str(kind)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _body_schema(content: dict[str, Any]) -> str:
    for media, spec in content.items():
        schema = spec.get("schema", {})
        return f"{_type(schema)} (`{media}`)" if schema else f"`{media}`"
    return ""


def _operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    out = [f"### `{method.upper()} {path}`", ""]
    if op.get("description"):
        out += [op["description"].strip(), ""]
    if op.get("security"):
        out += ["Needs `Authorization: Bearer TOKEN` when the server has a token.", ""]
    params = op.get("parameters", [])
    if params:
        out += ["| parameter | in | type | required |", "|---|---|---|---|"]
        out += [f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | "
                f"{'yes' if p.get('required') else 'no'} |" for p in params]
        out.append("")
    body = op.get("requestBody")
    if body:
        out += [f"Request body: {_body_schema(body['content'])}"
                f"{', required' if body.get('required') else ''}.", ""]
    out += ["| status | meaning | body |", "|---|---|---|"]
    for status, answer in op["responses"].items():
        out.append(f"| {status} | {_cell(answer.get('description', ''))} | "
                   f"{_body_schema(answer.get('content', {}))} |")
    out.append("")
    for status, answer in op["responses"].items():
        for name, link in answer.get("links", {}).items():
            params = ", ".join(f"`{k}` = `{v}`" for k, v in link["parameters"].items())
            out += [f"Link `{name}` from a {status}: `{link['operationId']}` with {params}.",
                    ""]
    return out


def _component(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f"### {name}", ""]
    if schema.get("description"):
        out += [_cell(schema["description"]), ""]
    if "oneOf" in schema:
        needs = " or ".join(f"`{r['required'][0]}`" for r in schema["oneOf"])
        out += [f"Exactly one of {needs}.", ""]
    props = schema.get("properties", {})
    if props:
        required = set(schema.get("required", []))
        out += ["| field | type | required | meaning |", "|---|---|---|---|"]
        for field, spec in props.items():
            extra = []
            if "default" in spec and field not in required:
                extra.append(f"default `{json.dumps(spec['default'])}`")
            for key, word in (("minLength", "at least {} characters"),
                              ("maxItems", "at most {:,} items")):
                if key in spec:
                    extra.append(word.format(spec[key]))
            meaning = "; ".join(filter(None, [spec.get("description", "")] + extra))
            out.append(f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'}"
                       f" | {_cell(meaning)} |")
        out.append("")
    return out


def render(schema: dict[str, Any]) -> str:
    """The HTTP reference in Markdown: operations, then body schemas."""
    out = ["## Operations", ""]
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            out += _operation(path, method, op)
    out += ["## Bodies", ""]
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        out += _component(name, component)
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == HOME:
        readme = Path(config["config_file_path"]).parent / "README.md"
        return readme.read_text(encoding="utf-8").replace("](docs/", "](")
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its {MARKER} line, where the operations go")
    return markdown.replace(MARKER, render(service_schema()))


#: A Sphinx role as the docstrings write it (``:func:`x```, ``:class:`~a.B```), once
#: mkdocstrings has made its target code: the role and the ``~`` go, the code stays.
SPHINX_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):(<code>)~?")


#: mkdocs-click 0.9 prints click 8.3's marker for "no default" as a default.
NO_DEFAULT = "<code>Sentinel.UNSET</code>"


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == PYTHON:
        return SPHINX_ROLE.sub(r"\1", html)
    if page.file.src_uri == CLI:
        return html.replace(NO_DEFAULT, "none")
    return html


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, "reference/openapi.json",
                                content=json.dumps(service_schema(), indent=2) + "\n"))
    return files
