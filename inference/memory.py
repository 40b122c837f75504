"""Loaded models within a memory budget: measured, pinned while in use, unloaded LRU.

Every loaded model is measured (the bytes of its weights and buffers). Before a load,
room is made for an estimate of its size (its weight files on disk, scaled to the
dtype it will run in, or what it measured last time): the least recently used models
that no batch is using are unloaded until the estimate fits. A model in use is never
unloaded; a load that cannot fit until some batch finishes waits for it. A model
larger than the whole budget is refused with ``ModelUnavailable``.

Unloading drops the cache's reference, collects garbage, empties the CUDA cache and
asks the C allocator to hand freed pages back to the system, so the memory is really
given back rather than kept by the process.

Imports and preloaded models are kept out of the garbage collector's way (``settle_heap``):
a full collection walks every tracked object, and torch, transformers and a model are
some 400,000 of them: 200 ms pauses that hold the GIL and so stall the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import itertools
import json
import logging
import struct
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import torch

from .device import Placement

log = logging.getLogger(__name__)

MB = 1024 * 1024
#: MODEL_MEMORY_MB=auto: this share of the GPU's memory (the rest is for activations),
#: or of the machine's RAM on a CPU (the rest is for the process, the OS and others).
AUTO_SHARE = {"cuda": 0.8, "cpu": 0.5}

_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1}


def resolve_budget(setting: str | float | None, placement: Placement) -> int | None:
    """MODEL_MEMORY_MB as bytes: a number of MB, ``auto`` (a share of the device's
    memory), or ``off``/``none`` for no budget."""
    text = str(setting if setting is not None else "auto").strip().lower()
    if text in {"off", "none", "0", "unlimited"}:
        return None
    if text != "auto":
        return int(float(text) * MB)
    if placement.is_cuda:
        total = torch.cuda.get_device_properties(placement.device).total_memory
        return int(total * AUTO_SHARE["cuda"])
    return int(psutil.virtual_memory().total * AUTO_SHARE["cpu"])


def measure_bytes(obj: Any) -> int:
    """Bytes of every torch parameter and buffer reachable from a loaded model: a
    module, a pipeline's components, or a dataclass / dict / list holding them. Tensors
    shared by several modules (tied weights) count once."""
    seen: set[int] = set()
    total = 0
    for module in _modules(obj, depth=4):
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            key = tensor.data_ptr()
            if key and key not in seen:
                seen.add(key)
                total += tensor.numel() * tensor.element_size()
    return total


def _modules(obj: Any, depth: int) -> Iterable[torch.nn.Module]:
    if isinstance(obj, torch.nn.Module):
        yield obj
        return
    if depth == 0 or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return
    if isinstance(obj, dict):
        children: Iterable[Any] = obj.values()
    elif isinstance(obj, (list, tuple)):
        children = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        children = (getattr(obj, f.name) for f in dataclasses.fields(obj))
    elif isinstance(getattr(obj, "components", None), dict):  # a diffusers pipeline
        children = obj.components.values()
    else:
        children = (v for v in vars(obj).values()) if hasattr(obj, "__dict__") else ()
    for child in children:
        yield from _modules(child, depth - 1)


def estimate_bytes(directory: Path, dtype: torch.dtype) -> int | None:
    """The size a model directory's weights will take in ``dtype``, from the headers of
    its safetensors files (or the size of its .bin files); None when it has none."""
    target = torch.empty((), dtype=dtype).element_size()
    total = 0
    files = [p for p in directory.rglob("*.safetensors") if ".fp16." not in p.name]
    for path in files:
        try:
            with path.open("rb") as file:
                (length,) = struct.unpack("<Q", file.read(8))
                header = json.loads(file.read(length))
        except (OSError, ValueError, struct.error):
            total += path.stat().st_size
            continue
        for name, info in header.items():
            if name == "__metadata__":
                continue
            stored = _DTYPE_BYTES.get(info.get("dtype"), 4)
            begin, end = info.get("data_offsets", (0, 0))
            # Floating weights are cast to the run dtype; integer tensors stay as they are.
            scale = target / stored if info.get("dtype") in {"F32", "F16", "BF16", "F64"} else 1
            total += int((end - begin) * scale)
    if not files:
        total = sum(p.stat().st_size for p in directory.rglob("*.bin"))
    return total or None


def local_directory(model_id: str) -> Path | None:
    """Where a model's files are on this machine: the directory itself, or its snapshot
    in the local Hugging Face cache; None when it is not here (yet)."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:  # not cached, not a valid id: the load itself will say why
        return None


def estimate_model_bytes(model_id: str, dtype: torch.dtype) -> int:
    """The bytes a load of ``model_id`` in ``dtype`` should make room for, from its files
    on this machine; 0 when they are not here (a Hub model not downloaded yet).
    Blocking (it reads file headers): run it in a thread."""
    directory = local_directory(model_id)
    return (estimate_bytes(directory, dtype) or 0) if directory is not None else 0


@dataclass
class Entry:
    model: Any
    bytes: int
    pins: int = 0


class TooBig(Exception):
    """Models that cannot fit in the budget even with nothing else loaded."""

    def __init__(self, size: int, budget: int) -> None:
        super().__init__(
            f"it needs about {size / MB:,.0f} MB, more than the memory budget of "
            f"{budget / MB:,.0f} MB (MODEL_MEMORY_MB)"
        )


#: Loads a model: (model, measured bytes). Blocking work belongs in a thread.
Loader = Callable[[Hashable], Awaitable[tuple[Any, int]]]
#: The bytes a load should make room for (0 when unknown).
Estimator = Callable[[Hashable], Awaitable[int]]


class ModelCache:
    """Loaded models by key, within ``budget`` bytes (None: no budget).

    ``acquire(keys)`` returns the models a batch needs, loading the missing ones, and
    pins them until ``release(keys)``. A batch holds no pins while it waits for room,
    so batches waiting for memory can never block each other for good.
    """

    def __init__(self, budget: int | None, placement: Placement) -> None:
        self.budget = budget
        self.placement = placement
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()  # least recent first
        self._loading: dict[Hashable, asyncio.Future[None]] = {}
        self._reserved = 0  # bytes set aside for loads under way
        self._freed = asyncio.Condition()
        self._unloaded = 0  # models forgotten since memory was last given back
        #: Measured bytes of every model loaded so far: the estimate for its next load.
        self.sizes: dict[Hashable, int] = {}
        #: Called with (key, bytes) after each load and unload (metrics, logs).
        self.on_load: Callable[[Hashable, int], None] | None = None
        self.on_unload: Callable[[Hashable, int], None] | None = None

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def loaded(self) -> list[Hashable]:
        """The keys of the loaded models, least recently used first."""
        return list(self._entries)

    def models(self) -> dict[Hashable, Any]:
        return {key: entry.model for key, entry in self._entries.items()}

    def loading(self, key: Hashable) -> bool:
        return key in self._loading

    @property
    def used(self) -> int:
        """Bytes of the loaded models plus room set aside for loads under way."""
        return sum(e.bytes for e in self._entries.values()) + self._reserved

    async def acquire(
        self, keys: Sequence[Hashable], load: Loader, estimate: Estimator
    ) -> list[Any]:
        """The models of ``keys``, loaded where missing, pinned until ``release``.
        Raises ``TooBig``, or whatever ``load`` raised."""
        keys = list(dict.fromkeys(keys))
        while True:
            busy = [self._loading[k] for k in keys if k in self._loading]
            if busy:  # someone else loads one of them: wait, then look again
                await asyncio.wait(busy)
                for future in busy:
                    if not future.cancelled() and future.exception() is not None:
                        raise future.exception()  # type: ignore[misc]
                continue
            missing = [k for k in keys if k not in self._entries]
            sizes = {k: await estimate(k) for k in missing}
            need = sum(sizes.values())
            if self.budget is not None and need > self.budget:
                raise TooBig(need, self.budget)
            async with self._freed:
                # Estimating and waiting yield to others: start over if anything moved.
                if any(k in self._loading for k in keys) or missing != [
                    k for k in keys if k not in self._entries
                ]:
                    continue
                if not self._make_room(need, keep=keys):
                    await self._freed.wait()
                    continue
                for key in keys:
                    if key in self._entries:
                        self._pin(key)
                for key in missing:
                    self._loading[key] = asyncio.get_running_loop().create_future()
                self._reserved += need
            break
        await self._give_back()
        try:
            for key in missing:
                await self._load_one(key, load, sizes[key])
        except BaseException:
            self._reserved -= sum(sizes[k] for k in missing if k in self._loading)
            for key in missing:
                if key in self._loading:
                    self._loading.pop(key).cancel()
            await self.release([k for k in keys if k in self._entries])
            raise
        return [self._entries[k].model for k in keys]

    async def _load_one(self, key: Hashable, load: Loader, estimate: int) -> None:
        future = self._loading[key]
        try:
            model, size = await load(key)
        except BaseException as exc:
            self._loading.pop(key, None)
            self._reserved -= estimate
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: waiters re-raise their own copy
            raise
        self._reserved -= estimate
        self._loading.pop(key, None)
        self.sizes[key] = size
        if self.budget is not None and size > self.budget:
            future.set_exception(TooBig(size, self.budget))
            future.exception()
            raise TooBig(size, self.budget)
        if not self._make_room(size, keep=[key]):
            log.warning("model %s is over the memory budget until a batch ends", key)
        self._entries[key] = Entry(model, size, pins=1)
        future.set_result(None)
        if self.on_load is not None:
            self.on_load(key, size)

    async def release(self, keys: Iterable[Hashable]) -> None:
        """Unpin models a batch has finished with."""
        for key in dict.fromkeys(keys):
            entry = self._entries.get(key)
            if entry is not None and entry.pins > 0:
                entry.pins -= 1
        async with self._freed:
            self._freed.notify_all()

    def _pin(self, key: Hashable) -> None:
        self._entries[key].pins += 1
        self._entries.move_to_end(key)

    def _make_room(self, size: int, keep: Sequence[Hashable] = ()) -> bool:
        """Unload idle models, least recently used first (never those in ``keep``),
        until ``size`` more bytes fit. Returns whether they fit."""
        if self.budget is None:
            return True
        for key in list(self._entries):
            if self.used + size <= self.budget:
                break
            if self._entries[key].pins == 0 and key not in keep:
                self._unload(key)
        return self.used + size <= self.budget

    def _unload(self, key: Hashable) -> None:
        """Forget a model; ``_give_back`` returns its memory to the system."""
        entry = self._entries.pop(key)
        size, entry.model = entry.bytes, None
        self._unloaded += 1
        log.info("unloaded model %s (%.0f MB) to stay within the memory budget", key, size / MB)
        if self.on_unload is not None:
            self.on_unload(key, size)

    async def _give_back(self) -> None:
        if self._unloaded:
            self._unloaded = 0
            await asyncio.to_thread(release_memory, self.placement)

    def clear(self) -> None:
        """Forget every model (the service is closing)."""
        for future in self._loading.values():
            future.cancel()
        self._loading.clear()
        self._entries.clear()
        self._reserved = 0


def settle_heap() -> None:
    """Once per process (nothing frozen yet): collect garbage, then freeze what survives
    (``gc.freeze``), so that later collections skip those objects (imports, preloaded
    models) instead of walking them all each time. Objects alive then that become cyclic
    garbage later wait for the next unload (``release_memory``)."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def release_memory(placement: Placement) -> None:
    """Give freed model memory back: collect garbage, empty torch's CUDA cache, and
    trim the C heap so the pages go back to the system."""
    gc.unfreeze()  # an unloaded model may be in the frozen heap: let the collector see it
    settle_heap()
    if placement.is_cuda:
        torch.cuda.empty_cache()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
