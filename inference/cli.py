"""``python -m inference``: run a task once from a shell and print its result as JSON.

    python -m inference run sentiment "I love this" [--model DIR] [--top-k]
    python -m inference run imagine "a red fox" --steps 20 --out fox.png
    python -m inference tasks
    python -m inference download [TASK ...]   # see operate.py
    python -m inference check [TASK ...]
    python -m inference docs add|list|remove --collection NAME ...   (see inference/docs/cli.py)
    python -m inference run ask "QUESTION" --collection NAME
    python -m inference serve [--host 127.0.0.1] [--port 8765]

Options after the task are the slash command's options (``--context``, ``--target``,
``--labels``...); a flag without a value means "yes". Exit status: 0 on success, 2 with
one line on stderr for bad input or a model that cannot be loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import transformers
from pydantic import ValidationError
from pydantic_settings import SettingsError

from . import operate
from .docs import cli as docs_cli
from .errors import InferenceError
from .service import InferenceService
from .settings import InferenceSettings
from .tasks import TASKS
from .tasks.translate import asks_for_detection

EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one task once and print JSON")
    run.add_argument("task", help=f"one of: {', '.join(TASKS)}")
    run.add_argument("input", nargs="?", help="the main text (text, prompt or question)")
    run.add_argument("--model", help="a Hub id or local directory instead of the setting")
    run.add_argument("--out", type=Path, help="where to write an image or recording")
    run.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (default: DEVICE)")

    commands.add_parser("tasks", help="list the tasks and their models")
    operate.add_commands(commands)  # download, check
    docs_cli.add_parser(commands)

    from .server import runner as server_runner  # the HTTP server (inference/server/)

    server_runner.add_arguments(commands.add_parser("serve", help="serve the HTTP API"))

    args, extra = parser.parse_known_args(argv)
    if args.command in operate.COMMANDS:
        return operate.main(args, extra)
    if args.command == "serve":
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        try:
            return server_runner.main(args, InferenceSettings())
        except (ValidationError, SettingsError) as exc:
            print(f"error: {settings_error(exc)}", file=sys.stderr)
            return EXIT_USAGE
    if args.command == "tasks":
        try:
            settings = InferenceSettings()
        except (ValidationError, SettingsError) as exc:
            print(f"error: {settings_error(exc)}", file=sys.stderr)
            return EXIT_USAGE
        for name, cls in TASKS.items():
            print(f"{name:<10} {cls.summary}  [{settings.model_for(name)}]")
        return 0
    if args.command == "docs" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        options = _parse_options(extra)
    except ValueError as exc:
        parser.error(str(exc))

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    _quiet_libraries()
    try:
        if args.command == "docs":
            docs_cli.print_lines(asyncio.run(docs_cli.run_docs(args)))
            return 0
        if args.task.strip().lower() == "ask":  # retrieval from a collection, then reading
            payload = asyncio.run(docs_cli.run_ask(args, options))
        else:
            payload = asyncio.run(_run_once(args, options))
    except InferenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValidationError, SettingsError) as exc:  # a setting in the environment or .env
        print(f"error: {settings_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # --out could not be written
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(payload, ensure_ascii=False))
    return 0


async def _run_once(args: argparse.Namespace, options: dict[str, Any]) -> dict[str, Any]:
    settings = InferenceSettings(**({"device": args.device} if args.device else {}))
    task = args.task.strip().lower()
    models = {task: args.model} if args.model and task in TASKS else None
    async with InferenceService(settings, models=models) as service:
        if args.input is not None:
            options[service.task(task).main_input] = args.input
        if task == "translate" and asks_for_detection(options.get("source")):
            detect = service.task(task).detect_source
            options["source"] = await asyncio.to_thread(detect, options.get("text") or "")
        started = time.perf_counter()
        result = await service.run(task, **options)
        elapsed = time.perf_counter() - started

    payload = result.to_dict()
    attachment = result.attachment()
    if attachment is not None:
        name, data = attachment
        path = args.out or Path(name)
        path.write_bytes(data)
        payload["path"] = str(path)
    payload.setdefault("seconds", round(elapsed, 3))
    return payload


def settings_error(exc: ValidationError | SettingsError) -> str:
    """One line from pydantic's report: ``setting MAX_QUEUE: Input should be ...``."""
    if isinstance(exc, SettingsError):  # a JSON setting that is not JSON, say
        return f"{exc} ({exc.__cause__})" if exc.__cause__ else str(exc)
    first = exc.errors()[0]
    name, *inside = [str(part) for part in first["loc"]] or ["?"]
    where = f" ({'.'.join(inside)})" if inside else ""
    return f"setting {name.upper()}{where}: {first['msg']}"


def _quiet_libraries() -> None:
    """Only our one line of JSON (or error) should reach the operator's terminal."""
    import datasets
    import diffusers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def _parse_options(words: list[str]) -> dict[str, Any]:
    """``--max-tokens 40 --multi-label`` -> ``{"max_tokens": "40", "multi_label": True}``."""
    options: dict[str, Any] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--") or len(word) < 3:
            raise ValueError(f"unexpected argument {word!r}")
        name, sep, value = word[2:].partition("=")
        name = name.replace("-", "_")
        if sep:
            options[name] = value
        elif i + 1 < len(words) and not words[i + 1].startswith("--"):
            options[name] = words[i + 1]
            i += 1
        else:
            options[name] = True
        i += 1
    return options
