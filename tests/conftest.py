"""Shared test set-up: offline only, tiny models built once per session."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before transformers / huggingface_hub are imported anywhere: never reach the Hub.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

pytest_plugins = ["tests.fakediscord.fixtures"]

_real_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address: object) -> None:
    """Tests talk to the fake Discord on 127.0.0.1 and nothing else."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])  # type: ignore[index]
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise ConnectionRefusedError(f"tests must not reach the network ({host})")
    _real_connect(sock, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every tiny model, built once: task name -> directory (see tests/tiny_models.py)."""
    from tests.tiny_models import build_all

    return build_all(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def sentiment_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sentiment stand-ins of each label scheme (see tests/tiny_sentiment_models.py)."""
    from tests.tiny_sentiment_models import build_sentiment_models

    return build_sentiment_models(tmp_path_factory.mktemp("sentiment-models"))


@pytest.fixture(scope="session")
def safety_checkers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny stand-alone safety checkers (for IMAGINE_SAFETY_CHECKER) that pass every
    image ("pass") or flag every one ("flag")."""
    from tests.tiny_models import build_safety_checker

    root = tmp_path_factory.mktemp("safety-checkers")
    return {
        "pass": build_safety_checker(root / "pass"),
        "flag": build_safety_checker(root / "flag", flag_everything_nsfw=True),
    }


@pytest.fixture(scope="session")
def checked_imagine_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny image pipelines whose safety checker passes every image ("pass") or flags
    every one ("flag")."""
    from tests.tiny_models import build_stable_diffusion

    root = tmp_path_factory.mktemp("imagine-checked")
    return {
        "pass": build_stable_diffusion(root / "pass", safety_checker=True),
        "flag": build_stable_diffusion(
            root / "flag", safety_checker=True, flag_everything_nsfw=True
        ),
    }


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny autoregressive models are all small ops: on a shared 2-core machine one torch
    thread is several times faster than two fighting over the cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No developer's .env or exported settings leak into a test."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.endswith("_MODEL") or name in {"DEVICE", "DTYPE", "PRELOAD", "DISCORD_TOKEN"}:
            monkeypatch.delenv(name, raising=False)
    # The default checker is a Hub model: tests that want one name a tiny one.
    monkeypatch.setenv("IMAGINE_SAFETY_CHECKER", "")
    yield
