"""Content policies that every platform applies the same way: phrases a prompt may not
contain (IMAGINE_BLOCKLIST, STORY_BLOCKLIST), and where images from a model without a
safety checker may be shown (IMAGINE_NSFW_POLICY).

The platforms say only whether a channel is age-restricted (Slack has no such
channels) and which policy a server chose (Discord's ``/config``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from inference import Backend

from .errors import UserError

#: What ``channel_policy`` says when unchecked images may be made in a channel.
UNCHECKED_ALLOWED = "allowed"
#: Why an unchecked image is refused, by the policy that forbids it.
UNCHECKED = {
    "age-restricted": "The image model here has no safety filter, so it only draws in "
    "age-restricted channels.",
    "nowhere": "The image model here has no safety filter, and this bot is set to draw only "
    "with one.",
}


def blocked_phrase(blocklist: str, prompt: str) -> str | None:
    """The first phrase of the comma-separated ``blocklist`` that ``prompt`` contains as
    whole words, in any case and spacing; None when there is none."""
    for phrase in (p.strip() for p in blocklist.split(",")):
        if not phrase:
            continue
        words = r"\s+".join(re.escape(word) for word in phrase.split())
        if re.search(rf"(?<!\w){words}(?!\w)", prompt, re.IGNORECASE):
            return phrase
    return None


def check_prompt(blocklist: str, prompt: str) -> None:
    """Refuse a prompt that holds a phrase of ``blocklist``."""
    phrase = blocked_phrase(blocklist, prompt)
    if phrase is not None:
        raise UserError(f"Prompts with “{phrase}” are not allowed here.")


def channel_policy(policy: str, age_restricted: bool) -> str:
    """The image ``policy`` as it applies in a channel: UNCHECKED_ALLOWED when unchecked
    images may be made there, else the policy that forbids them."""
    if policy == "anywhere" or (policy == "age-restricted" and age_restricted):
        return UNCHECKED_ALLOWED
    return policy


def check_result(safety_checker: bool, policy: str) -> None:
    """Withhold an image that no safety checker saw where ``policy`` (from
    ``channel_policy``) forbids one: a remote model's checker is known only from its
    results."""
    if not safety_checker and policy != UNCHECKED_ALLOWED:
        raise UserError(UNCHECKED.get(policy, UNCHECKED["nowhere"]))


async def check_model(
    service: Backend,
    policy: str,
    inputs: dict[str, Any],
    *,
    before_load: Callable[[], Awaitable[Any]] | None = None,
) -> None:
    """Refuse before the job when the image model is known to have no active safety
    checker and ``policy`` forbids unchecked images. With ``before_load`` (which should
    acknowledge the user: a load may take a while) a model not loaded yet is loaded to
    find out; without, an unknown checker is left to ``check_result``."""
    if policy == UNCHECKED_ALLOWED:
        return
    task = service.task("imagine")
    checked = task.safety_checker_active()
    if checked is None and before_load is not None:
        task.parse(**inputs)  # bad input is refused before anything is public
        await before_load()
        await service.preload(["imagine"])  # a failure shows when the job runs
        checked = task.safety_checker_active()
    if checked is False:
        raise UserError(UNCHECKED[policy])
