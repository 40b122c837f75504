"""A loaded diffusers pipeline, for the imagine task: the defaults of its family, the
separate safety checker of a model that ships none, and what the task reads off it
(its native size, how much of a prompt its text encoder reads, the PNG metadata)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from .imagine import ImagineResult


class SafetyChecker:
    """Stable Diffusion's safety checker on its own, for pipelines that ship none: a CLIP
    image encoder whose embedding is compared with embeddings of unsafe concepts."""

    def __init__(
        self, model_id: str, device: torch.device, dtype: torch.dtype, **kwargs: Any
    ) -> None:
        from diffusers.pipelines.stable_diffusion.safety_checker import (
            StableDiffusionSafetyChecker,
        )
        from transformers import CLIPImageProcessor

        self.processor = CLIPImageProcessor.from_pretrained(model_id, **kwargs)
        self.model = StableDiffusionSafetyChecker.from_pretrained(
            model_id, dtype=dtype, use_safetensors=True, **kwargs
        ).to(device)
        self.device, self.dtype = device, dtype

    def flags(self, images: Sequence[Any]) -> list[bool]:
        """For each PIL image, whether it shows something unsafe."""
        pixels = self.processor(list(images), return_tensors="pt").pixel_values
        # The checker blacks out flagged images in ``images``; only its flags are read.
        placeholders = np.zeros((len(images), 1, 1, 3), dtype=np.float32)
        with torch.inference_mode():
            _, flagged = self.model(
                images=placeholders, clip_input=pixels.to(self.device, self.dtype)
            )
        return [bool(flag) for flag in flagged]


@dataclass
class ImagePipeline:
    """A loaded diffusers pipeline and the defaults of its model family."""

    pipe: Any
    name: str
    steps: int
    guidance: float
    width: int
    height: int
    #: Whether images are checked: by the pipeline's own checker or by ``checker``.
    safety_checker: bool
    #: Where the initial noise is drawn (the GPU's generator on CUDA, as most front ends).
    generator_device: torch.device
    #: The separate checker (IMAGINE_SAFETY_CHECKER) of a pipeline that ships none.
    checker: SafetyChecker | None = None


def unet_sample_size(pipe: Any) -> int | None:
    for name in ("unet", "transformer"):
        config = getattr(getattr(pipe, name, None), "config", None)
        size = getattr(config, "sample_size", None)
        if isinstance(size, int):
            return size
    return None


def prompt_truncated(pipe: Any, prompt: str) -> bool:
    """Whether the text encoder reads only the start of ``prompt``."""
    tokenizer = getattr(pipe, "tokenizer", None)
    limit = getattr(tokenizer, "model_max_length", None)
    if tokenizer is None or not isinstance(limit, int) or limit > 100_000:
        return False
    return len(tokenizer(prompt, verbose=False)["input_ids"]) > limit


def png_metadata(result: ImagineResult, pipe: Any) -> dict[str, str]:
    """PNG text chunks: ``parameters`` as AUTOMATIC1111 writes it (so image tools and
    front ends that read it show the settings), plus one key per parameter. Nothing
    that changes from run to run (no time), so the same request gives the same bytes."""
    sampler = type(getattr(pipe, "scheduler", None)).__name__
    lines = [result.prompt]
    if result.negative_prompt:
        lines.append(f"Negative prompt: {result.negative_prompt}")
    lines.append(
        f"Steps: {result.steps}, Sampler: {sampler}, CFG scale: {result.guidance:g}, "
        f"Seed: {result.seed}, Size: {result.size}, Model: {result.model}"
    )
    text = {
        "parameters": "\n".join(lines),
        "prompt": result.prompt,
        "seed": str(result.seed),
        "steps": str(result.steps),
        "guidance": f"{result.guidance:g}",
        "size": result.size,
        "model": result.model,
        "sampler": sampler,
        "software": "pipeline-bot",
    }
    if result.negative_prompt:
        text["negative_prompt"] = result.negative_prompt
    return text
