"""The command line's document library:

    python -m inference docs add --collection NAME FILE...
    python -m inference docs list --collection NAME
    python -m inference docs remove --collection NAME DOC
    python -m inference run ask "QUESTION" --collection NAME

Each prints one JSON object per line; errors are one line on stderr (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from store import StoreError
from store.documents import Document

from ..errors import InvalidInput
from ..service import InferenceService
from ..settings import InferenceSettings
from .library import add_document, ask, check_collection, open_library

#: The largest file the command line adds (the bot has DOCS_MAX_MB).
MAX_FILE_BYTES = 100 * 1024 * 1024


def add_parser(commands: Any) -> None:
    """The ``docs`` command and its subcommands, on ``python -m inference``'s parser."""
    docs = commands.add_parser("docs", help="add, list or remove documents of a collection")
    actions = docs.add_subparsers(dest="action", required=True)
    for action, what in (
        ("add", "add files (.txt .md .pdf .html) to a collection"),
        ("list", "list a collection's documents"),
        ("remove", "remove a document from a collection"),
    ):
        sub = actions.add_parser(action, help=what)
        sub.add_argument("--collection", required=True, help="the collection's name")
        if action == "add":
            sub.add_argument("files", nargs="+", type=Path, help="files to add")
            sub.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps")
        elif action == "remove":
            sub.add_argument("document", help="the document's name, as `docs list` shows it")


async def run_docs(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run ``docs add|list|remove``; one JSON-safe dict per line of output."""
    settings = InferenceSettings(
        **({"device": args.device} if getattr(args, "device", None) else {})
    )
    collection = check_collection(args.collection)
    library, close = await _open(settings)
    try:
        if args.action == "list":
            documents = await library.documents(collection)
            if not documents:
                raise InvalidInput(f"The collection {collection!r} has no documents.")
            return [_describe(collection, d) for d in documents]
        if args.action == "remove":
            removed = await library.remove(collection, args.document)
            if removed is None:
                raise InvalidInput(f"No document {args.document!r} in {collection!r}.")
            return [{"removed": removed.name, "collection": collection}]
        out = []
        async with InferenceService(settings) as service:
            for path in args.files:
                data = _read(path)

                def shown(done: int, total: int, name: str = path.name) -> None:
                    print(f"{name}: {done}/{total} passages", file=sys.stderr)

                document = await add_document(
                    service,
                    library,
                    collection,
                    path.name,
                    data,
                    progress=shown,
                    meta={"path": path.name},
                )
                out.append(_describe(collection, document))
        return out
    finally:
        await close()


async def run_ask(args: argparse.Namespace, options: dict[str, Any]) -> dict[str, Any]:
    """``run ask "QUESTION" --collection NAME``: the answer, its score and sources."""
    collection = options.pop("collection", None)
    if collection is None or collection is True:
        raise InvalidInput("ask needs --collection NAME (see `docs add`).")
    question = options.pop("question", None) or args.input
    if options:
        raise InvalidInput(f"ask has no option {sorted(options)[0]!r}.")
    settings = InferenceSettings(**({"device": args.device} if args.device else {}))
    models = {"ask": args.model} if args.model else None
    library, close = await _open(settings)
    try:
        async with InferenceService(settings, models=models) as service:
            result = await ask(service, library, collection, question)
    finally:
        await close()
    return result.to_dict()


async def _open(settings: InferenceSettings) -> Any:
    try:
        return await open_library(settings)
    except StoreError as exc:
        raise InvalidInput(str(exc)) from None


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MB.")
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path.name}: {exc.strerror or 'cannot be read'}.") from None


def _describe(collection: str, document: Document) -> dict[str, Any]:
    return {
        "collection": collection,
        "document": document.name,
        "chunks": document.chunks,
        "bytes": document.bytes,
    }


def print_lines(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
