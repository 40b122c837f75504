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


@pytest.fixture(autouse=True)
def _clean_settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No developer's .env or exported settings leak into a test."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.endswith("_MODEL") or name in {"DEVICE", "DTYPE", "PRELOAD", "DISCORD_TOKEN"}:
            monkeypatch.delenv(name, raising=False)
    yield
