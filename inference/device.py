"""Choosing the device and dtype models run on."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .errors import InvalidInput

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


@dataclass(frozen=True)
class Placement:
    """Where a model runs: a torch device and the dtype of its weights."""

    device: torch.device
    dtype: torch.dtype
    #: Whether DTYPE=auto chose ``dtype`` (then a task may choose another, see
    #: ``Task.half_precision``) rather than the operator.
    dtype_is_auto: bool = False

    def in_dtype(self, dtype: torch.dtype) -> Placement:
        """The same device with another dtype."""
        return replace(self, dtype=dtype)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def describe(self) -> str:
        name = str(self.device)
        if self.is_cuda:
            name += f" ({torch.cuda.get_device_name(self.device)})"
        return f"{name}, {str(self.dtype).removeprefix('torch.')}"


def resolve_placement(device: str = "auto", dtype: str = "auto") -> Placement:
    """Resolve the DEVICE and DTYPE settings.

    ``auto`` picks CUDA, then Apple MPS, then CPU; the ``auto`` dtype is fp16 on
    CUDA (half the memory, tensor cores) and fp32 elsewhere, where half precision
    is slow or unsupported. Tasks whose models misbehave in fp16 keep fp32 under
    ``auto`` (``Task.half_precision``).
    """
    device = (device or "auto").strip().lower()
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    try:
        torch_device = torch.device(device)
    except RuntimeError as exc:
        raise InvalidInput(
            f"Unknown DEVICE {device!r}: use auto, cpu, cuda, cuda:N or mps."
        ) from exc
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInput("DEVICE asks for CUDA, but torch sees no CUDA GPU.")

    dtype = (dtype or "auto").strip().lower()
    if dtype == "auto":
        torch_dtype = torch.float16 if torch_device.type == "cuda" else torch.float32
    elif dtype in _DTYPES:
        torch_dtype = _DTYPES[dtype]
    else:
        raise InvalidInput(f"Unknown DTYPE {dtype!r}: use auto, float32, float16 or bfloat16.")
    return Placement(torch_device, torch_dtype, dtype_is_auto=dtype == "auto")
