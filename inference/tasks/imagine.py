"""Imagine: text to image with a diffusers pipeline (SD 1.x / 2.x / SDXL, turbo or not).

The pipeline class comes from the model's ``model_index.json`` (``DiffusionPipeline``
auto class), so every family loads through the same code. Defaults that depend on the
family (steps, guidance, size) are settled when the model is loaded, see ``_defaults``.

The model's own safety checker is kept when it has one; a model that ships none (sd-turbo,
the SDXL family) gets the one IMAGINE_SAFETY_CHECKER names (``SafetyChecker``), run on
each image after the pipeline. Whether a loaded model's images are checked is reported on
every result (``safety_checker``) and by ``ImagineTask.safety_checker_active()``, so that
a chat front end can keep unchecked images to age-restricted channels. A flagged image is
withheld: the result says ``nsfw=True`` and carries no PNG (the pipeline blacks such
images out; a black square tells the user nothing a message cannot).
"""

from __future__ import annotations

import inspect
import logging
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import InferenceError, InvalidInput, JobCancelled
from ..images import encode_png, slug
from ..naming import display_name
from ..results import Result
from .base import (
    BatchContext,
    Task,
    as_float,
    as_int,
    clean_text,
    reject_unknown,
)
from .imagine_family import check_negative_prompt, check_steps, family_of
from .imagine_pipeline import (
    ImagePipeline,
    SafetyChecker,
    png_metadata,
    prompt_truncated,
    unet_sample_size,
)

log = logging.getLogger(__name__)

#: Characters of a prompt or negative prompt at most (CLIP reads 77 tokens anyway).
MAX_PROMPT_CHARS = 500
#: Steps a request may ask for.
MIN_STEPS, MAX_STEPS = 1, 50
#: Guidance scales a request may ask for (0 turns classifier-free guidance off).
MIN_GUIDANCE, MAX_GUIDANCE = 0.0, 20.0
#: The smallest width or height; the largest is the IMAGINE_MAX_SIZE setting.
MIN_SIDE = 64
#: Seeds are 32-bit, as in most Stable Diffusion front ends, so they are easy to retype.
MAX_SEED = 2**32 - 1

_SIZE = re.compile(r"^\s*(\d+)\s*(?:[x×*,]\s*(\d+))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ImagineRequest:
    prompt: str
    seed: int
    negative_prompt: str | None = None
    #: None: the model's default (see ``_defaults``), settled when the batch runs.
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class ImagineResult(Result):
    prompt: str
    negative_prompt: str | None
    seed: int
    width: int
    height: int
    steps: int
    guidance: float
    #: Seconds the batch that made this image took (loading excluded).
    seconds: float
    #: The safety checker flagged the image: it is withheld (``png`` is None).
    nsfw: bool
    #: Whether the model has an active safety checker (False: images are unchecked).
    safety_checker: bool
    #: The model's Hub id, or a local directory's name (paths stay private).
    model: str
    #: True when the prompt was longer than the text encoder reads (77 tokens for
    #: CLIP) and its end was ignored.
    truncated: bool = False
    #: The PNG, with the prompt and parameters in its text chunks; None when withheld.
    png: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def filename(self) -> str:
        return f"{slug(self.prompt)}-{self.seed}.png"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.pop("png", None)  # bytes are left out already; a withheld None too
        data["size"] = self.size
        return data

    def attachment(self) -> tuple[str, bytes] | None:
        return (self.filename, self.png) if self.png is not None else None


class _Interrupted(Exception):
    """Raised from the step callback when every request of the batch was cancelled."""


class ImagineTask(Task[ImagineRequest, ImagineResult]):
    name = "imagine"
    summary = "Make an image from a text prompt."
    main_input = "prompt"
    #: Images of one batch share size, steps and guidance and run as one pipeline call;
    #: each keeps its own seed. Small GPUs can lower it with TASK_LIMITS.
    max_batch_size = 4
    timeout_s = 600.0
    long_running = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._safety: dict[str, bool] = {}

    # -- requests -----------------------------------------------------------------

    def parse(
        self,
        prompt: Any = None,
        negative_prompt: Any = None,
        steps: Any = None,
        guidance: Any = None,
        seed: Any = None,
        width: Any = None,
        height: Any = None,
        size: Any = None,
        **extra: Any,
    ) -> ImagineRequest:
        reject_unknown(self.name, extra)
        prompt = clean_text(prompt, "prompt", max_chars=MAX_PROMPT_CHARS)
        if isinstance(negative_prompt, str) and not negative_prompt.strip():
            negative_prompt = None  # an empty optional field is no negative prompt
        if negative_prompt is not None:
            negative_prompt = clean_text(
                negative_prompt, "negative prompt", max_chars=MAX_PROMPT_CHARS
            )
        width, height = self._parse_size(size, width, height)
        family = family_of(self.model, self.settings)
        if steps is not None:
            steps = as_int(steps, "steps", low=MIN_STEPS, high=MAX_STEPS)
            check_steps(steps, family, self.model)
        if guidance is not None:
            guidance = as_float(
                guidance, "guidance", low=MIN_GUIDANCE, high=MAX_GUIDANCE, default=0
            )
        if negative_prompt is not None:
            check_negative_prompt(guidance, family, self.model)
        return ImagineRequest(
            prompt=prompt,
            negative_prompt=negative_prompt,
            steps=steps,
            guidance=guidance,
            seed=secrets.randbelow(MAX_SEED + 1)
            if seed is None
            else as_int(seed, "seed", low=0, high=MAX_SEED),
            width=width,
            height=height,
        )

    def _parse_size(self, size: Any, width: Any, height: Any) -> tuple[int | None, int | None]:
        """Width and height from ``size="512x512"`` (or ``"512"``) and/or the two options."""
        if size is not None:
            match = _SIZE.match(str(size))
            if not match:
                raise InvalidInput("size must look like 512x512.")
            if width is not None or height is not None:
                raise InvalidInput("Give either size or width and height, not both.")
            width, height = int(match[1]), int(match[2] or match[1])
        return self._side(width, "width"), self._side(height, "height")

    def _side(self, value: Any, name: str) -> int | None:
        if value is None:
            return None
        side = as_int(value, name, low=MIN_SIDE, high=family_of(self.model, self.settings).max_side)
        if side % 8:
            raise InvalidInput(f"{name} must be a multiple of 8 (such as {side // 8 * 8}).")
        return side

    def cost(self, request: ImagineRequest) -> float:
        # A step of a 512x512 image is one unit; unset sizes and steps are the defaults.
        pixels = (request.width or 512) * (request.height or 512)
        return (request.steps or 4) * pixels / (512 * 512)

    def batch_key(self, request: ImagineRequest) -> tuple[Any, ...]:
        # One pipeline call makes images of one size with one schedule: prompts, negative
        # prompts and seeds may differ within a batch, nothing else.
        return (self.model, request.width, request.height, request.steps, request.guidance)

    def safety_checker_active(self, model_id: str | None = None) -> bool | None:
        """Whether the model (default: this task's) has an active safety checker;
        None until it has been loaded."""
        return self._safety.get(model_id or self.model)

    def note_result(self, result: ImagineResult) -> None:
        # a task object without a model (the bot of an inference server) learns here
        # whether the server's model has a safety checker
        self._safety[self.model] = result.safety_checker

    # -- model --------------------------------------------------------------------

    def load(self, model_id: str) -> ImagePipeline:
        from diffusers import DiffusionPipeline

        kwargs: dict[str, Any] = {
            "dtype": self.placement.dtype,
            "use_safetensors": True,
            **self.pretrained_kwargs(),
        }
        # The safety checker is deliberately not touched (no safety_checker=None).
        if self.placement.dtype == torch.float16:
            try:  # half the download where the repository has fp16 weights
                pipe = DiffusionPipeline.from_pretrained(model_id, variant="fp16", **kwargs)
            except ValueError as exc:
                if "variant" not in str(exc):
                    raise
                pipe = DiffusionPipeline.from_pretrained(model_id, **kwargs)
        else:
            pipe = DiffusionPipeline.from_pretrained(model_id, **kwargs)

        pipe.set_progress_bar_config(disable=True)
        if self.settings.imagine_attention_slicing:
            pipe.enable_attention_slicing()
        if self.settings.imagine_cpu_offload and self.placement.is_cuda:
            # Offload moves each component to the GPU when it runs: no .to(device) then.
            pipe.enable_model_cpu_offload(device=self.placement.device)
        else:
            pipe.to(self.placement.device)
        # Components come out of from_pretrained in eval mode; there is no pipe.eval().

        steps, guidance, width, height = self._defaults(model_id, pipe)
        own_checker = getattr(pipe, "safety_checker", None) is not None
        checker = None if own_checker else self._separate_checker(model_id)
        self._safety[model_id] = own_checker or checker is not None
        return ImagePipeline(
            pipe=pipe,
            name=display_name(model_id),
            steps=steps,
            guidance=guidance,
            width=width,
            height=height,
            safety_checker=own_checker or checker is not None,
            generator_device=self.placement.device
            if self.placement.is_cuda
            else torch.device("cpu"),
            checker=checker,
        )

    def _separate_checker(self, model_id: str) -> SafetyChecker | None:
        """IMAGINE_SAFETY_CHECKER for a model that ships no checker; None when unset or
        when it cannot be loaded (then the images are unchecked, and said to be, so the
        front end's policy for unchecked images applies rather than /imagine failing)."""
        checker_id = self.settings.imagine_safety_checker.strip()
        if not checker_id:
            return None
        # With CPU offload the GPU is kept for the pipeline: the checker runs on the CPU.
        offload = self.settings.imagine_cpu_offload and self.placement.is_cuda
        device = torch.device("cpu") if offload else self.placement.device
        dtype = torch.float32 if device.type == "cpu" else self.placement.dtype
        try:
            return SafetyChecker(checker_id, device, dtype, **self.pretrained_kwargs())
        except Exception as exc:  # a missing download, a wrong directory: report and go on
            log.warning(
                "safety checker %s for %s could not be loaded (%s); its images are unchecked",
                checker_id,
                model_id,
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
            return None

    def _defaults(self, model_id: str, pipe: Any) -> tuple[int, float, int, int]:
        """Steps, guidance, width and height for requests that leave them out.

        Settings win; else the model family decides (see ``imagine_family``): turbo
        models make their image in 1 step without guidance; other models get 25 steps
        and the guidance their pipeline class defaults to (7.5 for SD 1.x/2.x, 5 for
        SDXL). The size is the model's native one (UNet sample size x VAE scale: 512
        for SD 1.x and SD-Turbo, 768 for SD 2.x-v, 1024 for SDXL), capped by the
        family's largest size (IMAGINE_MAX_SIZE when set).
        """
        s = self.settings
        family = family_of(model_id, s)
        steps = family.default_steps
        if family.guidance is not None:
            guidance = family.guidance
        else:
            default = inspect.signature(pipe.__call__).parameters.get("guidance_scale")
            number = getattr(default, "default", None)
            guidance = float(number) if isinstance(number, (int, float)) else 7.5

        if s.imagine_size:
            match = _SIZE.match(s.imagine_size)
            if not match or int(match[1]) % 8 or int(match[2] or match[1]) % 8:
                raise ValueError(
                    f"IMAGINE_SIZE {s.imagine_size!r} must look like 512x512 (multiples of 8)"
                )
            width, height = int(match[1]), int(match[2] or match[1])
        else:
            latent = getattr(pipe, "default_sample_size", None) or unet_sample_size(pipe)
            width = height = latent * getattr(pipe, "vae_scale_factor", 8) if latent else 512
        cap = family.max_side
        return steps, guidance, min(width, cap), min(height, cap)

    # -- batches ------------------------------------------------------------------

    def run_batch(
        self,
        models: Mapping[str, Any],
        requests: Sequence[ImagineRequest],
        ctx: BatchContext,
    ) -> list[ImagineResult | InferenceError]:
        model: ImagePipeline = models[self.model]
        first = requests[0]  # the batch key makes these the same for every request
        steps = first.steps or model.steps
        guidance = model.guidance if first.guidance is None else first.guidance
        width, height = first.width or model.width, first.height or model.height

        # preprocess: one generator per image, so each image depends on its seed only
        generators = [torch.Generator(model.generator_device).manual_seed(r.seed) for r in requests]
        call: dict[str, Any] = {
            "prompt": [r.prompt for r in requests],
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "width": width,
            "height": height,
            "generator": generators,
            "callback_on_step_end": self._step_callback(requests, ctx, steps),
        }
        if any(r.negative_prompt for r in requests):
            call["negative_prompt"] = [r.negative_prompt or "" for r in requests]

        # forward
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                output = model.pipe(**call)
        except _Interrupted:
            model.pipe.maybe_free_model_hooks()  # what a finished call does (CPU offload)
            return [JobCancelled("The request was cancelled.") for _ in requests]
        seconds = time.perf_counter() - started

        # postprocess
        flags = getattr(output, "nsfw_content_detected", None)
        if flags is None:
            flags = model.checker.flags(output.images) if model.checker else [False] * len(requests)
        results: list[ImagineResult | InferenceError] = []
        for index, (request, image, flagged) in enumerate(
            zip(requests, output.images, flags, strict=True)
        ):
            if ctx.cancelled(index):
                results.append(JobCancelled("The request was cancelled."))
                continue
            result = ImagineResult(
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                seed=request.seed,
                width=image.width,
                height=image.height,
                steps=steps,
                guidance=float(guidance),
                seconds=round(seconds, 3),
                nsfw=bool(flagged),
                safety_checker=model.safety_checker,
                model=model.name,
                truncated=prompt_truncated(model.pipe, request.prompt),
            )
            if not result.nsfw:
                result.png = encode_png(image.convert("RGB"), png_metadata(result, model.pipe))
            results.append(result)
        return results

    @staticmethod
    def _step_callback(requests: Sequence[ImagineRequest], ctx: BatchContext, steps: int) -> Any:
        """Report step k of N to every request; stop the batch once all are cancelled.

        Raising stops at once: ``pipe._interrupt = True`` would only skip the remaining
        denoising steps, and diffusers would still decode (VAE) and safety-check an
        image nobody will see.
        """

        def on_step_end(
            pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            # Schedulers of order 2 (Heun) run more timesteps than steps asked for.
            total = int(getattr(pipe, "num_timesteps", 0) or steps)
            live = [i for i in range(len(requests)) if not ctx.cancelled(i)]
            if not live:
                raise _Interrupted
            for index in live:
                ctx.progress(index, min(step + 1, total), total)
            ctx.checkpoint()
            return {}

        return on_step_end
