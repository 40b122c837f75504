"""``python -m bench.slack`` at toy size: its own code path end to end (nothing timed)."""

from __future__ import annotations

from pathlib import Path

from bench.slack import bench, most_in_window


def test_most_in_window_counts_the_busiest_window() -> None:
    assert most_in_window([], 60.0) == 0
    assert most_in_window([0.0, 10.0, 59.0, 61.0, 62.0], 60.0) == 4  # 10 .. 62
    assert most_in_window([0.0, 0.5, 2.0], 1.0) == 2


async def test_the_bench_answers_every_request_within_the_allowance(tmp_path: Path) -> None:
    figures = await bench(tmp_path, requests=6, users=3, bursts=2, gap_s=0.1, timeout_s=60)
    assert figures["lost"] == 0 and figures["ack_missed"] == 0
    assert figures["rate_limited"] == 0 and figures["violations"] == 0
    assert 0 < figures["ack_ms_p50"] <= figures["ack_ms_p99"] < 3000
    assert 0 < figures["answer_ms_p50"] <= figures["answer_ms_p99"]
    # each answer edits its placeholder once at least ("Done"), within the allowance
    assert 6 <= figures["edits"] <= figures["edits_per_min_max"] <= 45
    assert figures["answers_per_s"] > 0
