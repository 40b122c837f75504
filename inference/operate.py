"""Operator commands: ``python -m inference download`` and ``python -m inference check``.

``download [TASK ...]`` fetches everything the configuration loads (the models, the
separate safety checker, SpeechT5's vocoder and x-vectors, the TRANSLATE_PRELOAD pairs)
into the Hugging Face cache with ``snapshot_download``: only the files a load reads (no
TensorFlow, Flax, ONNX or single-file checkpoints, no .bin beside .safetensors), with a
progress bar per file. It prints the total size and exits 1 with one line per failure.

``check [TASK ...]`` loads each configured model and runs its known-answer probe
(``probes.py``), then prints a table: task, model, probe, verdict, seconds. It exits 1
when a probe fails. Bad input (an unknown task, a missing model, no network) is one
line, never a traceback.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .device import resolve_placement
from .errors import InferenceError
from .naming import display_name
from .probes import PROBES
from .settings import InferenceSettings
from .tasks import TASKS
from .tasks.base import looks_like_path

EXIT_FAILED, EXIT_USAGE = 1, 2

#: Files no load here reads: other frameworks' weights, exports, single-file checkpoints.
IGNORED = (
    "*.h5", "*.msgpack", "*.ot", "*.onnx", "*.onnx_data", "*.tflite", "*.ckpt", "*.gguf",
    "*.mlmodel", "*.pb", "*.tar.gz", "*.zip", "onnx/*", "openvino/*", "coreml/*",
    "runs/*", "*.md", ".gitattributes", "*.png", "*.jpg",
)  # fmt: skip


@dataclass(frozen=True)
class Download:
    task: str
    repo: str
    repo_type: str = "model"


class UsageError(Exception):
    """A bad command line: one line, exit 2."""


def tasks_named(names: Sequence[str]) -> list[str]:
    """The tasks to work on: those named (any case), or all of them."""
    chosen = [name.strip().lower() for name in names if name.strip()] or list(TASKS)
    unknown = [name for name in chosen if name not in TASKS]
    if unknown:
        raise UsageError(f"unknown task {unknown[0]!r} (one of: {', '.join(TASKS)})")
    return list(dict.fromkeys(chosen))


def planned(settings: InferenceSettings, tasks: Sequence[str]) -> list[Download]:
    """The repositories the configuration of ``tasks`` loads, known before downloading
    (what depends on a downloaded config, ``extras``, comes after)."""
    placement = resolve_placement("cpu", "float32")
    plan: list[Download] = []
    for task in tasks:
        if task == "translate":
            translate = TASKS[task](settings.translate_model, placement, settings)
            plan += [Download(task, model) for model in translate.default_models()]
        else:
            plan.append(Download(task, settings.model_for(task)))
    return plan


def extras(settings: InferenceSettings, item: Download, folder: Path) -> list[Download]:
    """What a downloaded model needs besides itself: the separate safety checker of an
    image model that ships none; the vocoder and x-vectors of a SpeechT5 voice."""
    if item.task == "imagine":
        index = _json(folder / "model_index.json")
        ships_checker = (index.get("safety_checker") or [None])[0] is not None
        checker = settings.imagine_safety_checker.strip()
        return [] if ships_checker or not checker else [Download("imagine", checker)]
    if item.task == "speak" and _json(folder / "config.json").get("model_type") == "speecht5":
        return [
            Download("speak", settings.speak_vocoder),
            Download("speak", settings.speak_xvectors, "dataset"),
        ]
    return []


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def wanted_files(files: dict[str, int], half: bool = False) -> dict[str, int]:
    """The files of a repository a load reads, with their sizes. Diffusers repositories
    (model_index.json) keep only their component folders; .bin weights are left out
    where .safetensors sit beside them; fp16 variants only when ``half``."""
    diffusers = "model_index.json" in files
    kept: dict[str, int] = {}
    for name, size in files.items():
        if any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED):
            continue
        folder = name.rpartition("/")[0]
        if diffusers and not folder and name.endswith((".safetensors", ".bin")):
            continue  # a single-file checkpoint at the root: from_pretrained reads folders
        if name.endswith((".bin", ".pt", ".pth")) and any(
            other.endswith(".safetensors") and other.rpartition("/")[0] == folder for other in files
        ):
            continue
        is_fp16 = ".fp16." in name
        base, _, extension = name.rpartition(".")
        if is_fp16 != half and (is_fp16 or f"{base}.fp16.{extension}" in files):
            continue
        kept[name] = size
    return kept


def download(names: Sequence[str], settings: InferenceSettings | None = None) -> int:
    """``python -m inference download``; the exit status."""
    from huggingface_hub import HfApi, snapshot_download

    settings = settings or InferenceSettings()
    tasks = tasks_named(names)
    # fp16 weights are what /imagine loads on CUDA (DTYPE=auto), where a repository has them
    half = resolve_placement(settings.device, settings.dtype).dtype == torch.float16
    api = HfApi()
    queue, done, failures, total = planned(settings, tasks), set(), [], 0
    while queue:
        item = queue.pop(0)
        if (item.repo, item.repo_type) in done:
            continue
        done.add((item.repo, item.repo_type))
        if looks_like_path(item.repo):
            print(f"{item.task}: {display_name(item.repo)} is a local directory, nothing to fetch")
            folder = Path(item.repo).expanduser()
        else:
            try:
                info = api.repo_info(
                    item.repo, repo_type=item.repo_type, files_metadata=True, token=settings.token()
                )
                files = {s.rfilename: int(s.size or 0) for s in info.siblings or []}
                chosen = wanted_files(files, half) if item.repo_type == "model" else files
                size = sum(chosen.values())
                print(f"{item.task}: {item.repo}: {len(chosen)} files, {_size(size)}", flush=True)
                folder = Path(
                    snapshot_download(
                        item.repo,
                        repo_type=item.repo_type,
                        allow_patterns=list(chosen),
                        token=settings.token(),
                    )
                )
                total += size
            except Exception as exc:  # every failure is one line; the others go on
                failures.append(f"{item.task}: {item.repo}: {hub_error(exc)}")
                continue
        queue += extras(settings, item, folder)
    print(f"total: {_size(total)} in {len(done) - len(failures)} repositories")
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    return EXIT_FAILED if failures else 0


def hub_error(exc: BaseException) -> str:
    """One line for why a download failed."""
    from huggingface_hub import errors

    if isinstance(exc, errors.GatedRepoError):
        return "gated: accept its terms on the Hub and set HF_TOKEN"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return "no such repository on the Hub (or it is private: set HF_TOKEN)"
    if isinstance(exc, (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError)):
        return "cannot reach the Hub (offline: HF_HUB_OFFLINE is set, or no network)"
    if isinstance(exc, (ConnectionError, TimeoutError, OSError)) or "connect" in str(exc).lower():
        return "cannot reach the Hub (no network?)"
    first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return first[:200]


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    return f"{size} B"


# -- check ------------------------------------------------------------------------------


@dataclass
class Row:
    task: str
    model: str
    probe: str
    verdict: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


async def run_probes(settings: InferenceSettings, tasks: Sequence[str]) -> list[Row]:
    """Load each task's model and run its probe; one row per task."""
    from .service import InferenceService

    rows: list[Row] = []
    async with InferenceService(settings.model_copy(update={"preload": ""})) as service:
        for task in tasks:
            probe = PROBES[task]
            model = _model_of(service, task, probe.inputs)
            started = time.perf_counter()
            try:
                result = await service.run(task, **probe.inputs)
                why = probe.check(result)
                verdict = "pass" if why is None else f"FAIL: {why}"
            except InferenceError as exc:
                verdict = f"error: {_first_line(exc) or type(exc).__name__}"
            except Exception as exc:  # a probe must report, never crash the table
                verdict = f"error: {type(exc).__name__}: {_first_line(exc)[:120]}"
            rows.append(Row(task, model, probe.name, verdict, time.perf_counter() - started))
    return rows


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message ("" for an empty one)."""
    return next(iter(str(exc).splitlines()), "")


def _model_of(service: Any, task: str, inputs: dict[str, Any]) -> str:
    if task == "translate":
        try:
            steps = service.task(task).route(inputs["source"], inputs["target"])
            return " > ".join(display_name(step.model) for step in steps)
        except InferenceError:
            return display_name(service.settings.translate_model)
    return display_name(service.settings.model_for(task))


def table(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table."""
    head = ("task", "model", "probe", "verdict", "seconds")
    cells = [head] + [(r.task, r.model, r.probe, r.verdict, f"{r.seconds:.1f}") for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in cells
    )


def add_commands(commands: Any) -> None:
    """The ``download`` and ``check`` subcommands of ``python -m inference``."""
    for name, what in COMMANDS.items():
        sub = commands.add_parser(name, help=what)
        sub.add_argument("tasks", nargs="*", help=f"some of: {', '.join(TASKS)} (default: all)")


def main(args: Any, extra: Sequence[str]) -> int:
    """Run ``download`` or ``check``: bad input is one line on stderr and exit 2."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from .cli import settings_error

    try:
        if extra:
            raise UsageError(f"unexpected argument {extra[0]!r}")
        settings = InferenceSettings()
        command = download if args.command == "download" else check
        return command(args.tasks, settings)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (ValidationError, SettingsError) as exc:
        print(f"error: {settings_error(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
    return EXIT_USAGE


#: The commands this module runs, with their help.
COMMANDS = {
    "download": "fetch every model the configuration loads into the Hugging Face cache",
    "check": "load each configured model, run a known-answer probe, print a table",
}


def check(names: Sequence[str], settings: InferenceSettings | None = None) -> int:
    """``python -m inference check``; the exit status."""
    settings = settings or InferenceSettings()
    tasks = tasks_named(names)
    rows = asyncio.run(run_probes(settings, tasks))
    print(table(rows))
    failed = [row for row in rows if not row.passed]
    print(f"{len(rows) - len(failed)} of {len(rows)} probes passed")
    return EXIT_FAILED if failed else 0
