"""What a text-to-image model family allows: steps, size, guidance.

Turbo models (SD-Turbo, SDXL-Turbo: adversarially distilled, "turbo" in the name) are
made for 1 to 4 steps at their native 512 pixels and were trained without
classifier-free guidance (guidance 0). Other Stable Diffusion models (1.x, 2.x, SDXL)
take 20-50 steps and sizes up to 1024. A negative prompt works through classifier-free
guidance only: with guidance at or below 1 diffusers never encodes it, so such a
request is refused rather than shown as applied.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInput
from ..naming import display_name
from ..settings import InferenceSettings

#: Steps a request may ask for at most, by family.
TURBO_MAX_STEPS, STANDARD_MAX_STEPS = 4, 50
#: Default steps: turbo models make their image in one; DPM-Solver / Euler schedulers
#: give good images by 20-30 steps (the pipelines' own default of 50 is slow).
TURBO_STEPS, STANDARD_STEPS = 1, 25
#: The largest width or height by family, when IMAGINE_MAX_SIZE is unset.
TURBO_MAX_SIDE, STANDARD_MAX_SIDE = 512, 1024


@dataclass(frozen=True)
class Family:
    name: str
    max_steps: int
    default_steps: int
    max_side: int
    #: The guidance of requests that name none; None: the pipeline's own (5 to 7.5).
    guidance: float | None


def family_of(model_id: str, settings: InferenceSettings) -> Family:
    """The family of ``model_id`` by its name, with the settings that override it."""
    turbo = "turbo" in model_id.lower()
    side = settings.imagine_max_size or (TURBO_MAX_SIDE if turbo else STANDARD_MAX_SIDE)
    guidance = settings.imagine_guidance
    if guidance is None and turbo:
        guidance = 0.0
    return Family(
        name="turbo" if turbo else "standard",
        max_steps=TURBO_MAX_STEPS if turbo else STANDARD_MAX_STEPS,
        default_steps=settings.imagine_steps or (TURBO_STEPS if turbo else STANDARD_STEPS),
        max_side=side,
        guidance=guidance,
    )


def check_steps(steps: int, family: Family, model_id: str) -> None:
    if steps > family.max_steps:
        raise InvalidInput(
            f"{display_name(model_id)} is a turbo model: it makes its image in 1 to "
            f"{family.max_steps} steps."
        )


def check_negative_prompt(guidance: float | None, family: Family, model_id: str) -> None:
    """Refuse a negative prompt the model would ignore (guidance <= 1)."""
    effective = family.guidance if guidance is None else guidance
    if effective is None or effective > 1:
        return
    if guidance is None:
        raise InvalidInput(
            f"{display_name(model_id)} runs without guidance, so it cannot use a negative "
            "prompt (it would be ignored). Please leave it out."
        )
    raise InvalidInput(
        f"A negative prompt works only with guidance above 1; at {effective:g} it would be "
        "ignored. Leave it out, or set guidance to 2 or more."
    )
