"""The training-speed measurement runs a real step and reports what the table needs."""

from __future__ import annotations

import pytest

from tutorial_utils.bench.training_speed import format_table, measure


def test_measure_times_a_training_step() -> None:
    result = measure("quarter", "eager", steps=1, warmup=1, batch=2, num_classes=5, threads=1)
    assert result["nchannels"] == [32, 64, 96] and result["threads"] == 1
    assert result["images_per_s"] > 0 and result["min"] <= result["images_per_s"] <= result["max"]
    assert len(result["step_ms"]) == 1 and result["cpu_ms_per_image"] > 0
    assert 0 <= result["system_share"] <= 1 and result["page_faults_per_step"] >= 0
    row = format_table([{**result, "allocator": "default"}]).splitlines()[-1]
    assert row.startswith("| quarter | (32, 64, 96) | eager | default |")


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"width": "tiny"}, "'tiny'"), ({"mode": "jit"}, "'jit'"), ({"steps": 0}, "steps")],
)
def test_bad_arguments_are_named(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        measure(**kwargs)
