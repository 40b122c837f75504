"""The ``fake_slack`` pytest fixture.

Use it from another test directory with ``from tests.fakeslack.fixtures import fake_slack``
in that directory's ``conftest.py`` (or add ``"tests.fakeslack.fixtures"`` to
``pytest_plugins`` in ``tests/conftest.py``). At teardown it closes the fake and fails the
test if a request was refused (``fake.violations``) or rate-limited (``fake.rate_limited``);
a test that provokes those on purpose takes them with ``take_violations()`` /
``take_rate_limited()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .server import FakeSlack


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started fake Slack on 127.0.0.1 (``fake.api_url`` for ``AsyncWebClient``)."""
    async with FakeSlack() as fake:
        yield fake
    assert not fake.violations, "requests Slack would refuse:\n" + "\n".join(fake.violations)
    assert not fake.rate_limited, f"calls answered 429: {fake.rate_limited}"
