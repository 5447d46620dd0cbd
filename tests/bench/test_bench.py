"""The benchmark's quick mode runs and reports the promised table and JSON structure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tutorial_utils.bench import (
    TUNED_ALLOCATOR,
    Result,
    Row,
    describe_allocator,
    format_result,
    memory_in_fresh_process,
)
from tutorial_utils.bench.measure import (
    BF16_ROW,
    DEFAULT_ROW,
    EAGER_ROW,
    FLOOR_ROW,
    KERNEL_ROW,
    OPTIMIZED_ROW,
    ROOF_ROW,
    TORCHREID_ROW,
    goal_lines,
)
from tutorial_utils.hacnn.torchreid_reference import torchreid_hacnn_path
from tutorial_utils.infer.soft_kernel import KERNEL_TARGETS, default_target

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tutorial_utils.bench",
            "--quick",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    text = done.stdout
    assert "re-running with a tuned allocator" in text  # the default re-exec happened
    assert "allocator: glibc malloc, tuned" in text or "preloaded allocator" in text
    for name in ("SoftAttention", "HACNN batch 1", "HACNN batch 2"):
        assert name in text
    for column in ("median ms", "GB/s", "x floor", "img/s", "peak MB"):
        assert column in text
    report = json.loads(out.read_text())
    (run,) = report["runs"]
    assert run["device"] == "cpu" and run["quick"] is True
    assert "MALLOC_MMAP_THRESHOLD_" in run["allocator_env"]
    assert len(run["workloads"]) == 3
    assert "startup" not in run  # quick mode compiles nothing, so there is no start-up to time
    for work in run["workloads"]:
        names = [row["name"] for row in work["rows"]]
        rows = {row["name"]: row for row in work["rows"]}
        floor, eager, fast = (rows[n] for n in (FLOOR_ROW, EAGER_ROW, OPTIMIZED_ROW))
        assert names[:2] == [FLOOR_ROW, "floor: x.clone()"]
        assert floor["x_floor"] == 1.0
        assert all(
            r["median_ms"] > 0 and r["min_ms"] <= r["median_ms"] <= r["max_ms"]
            for r in work["rows"]
        )
        assert fast["max_abs_diff"] is not None and fast["max_abs_diff"] < 1e-4
        assert eager["peak_mem_mb"] is not None
        if not work["name"].startswith("HACNN"):
            continue
        # The compute roof, torchreid's own model and the bfloat16 opt-in sit beside HA-CNN.
        assert ROOF_ROW in names and BF16_ROW in names
        assert rows[ROOF_ROW]["gflop_per_s"] > 0 and rows[ROOF_ROW]["images_per_s"] is None
        assert work["flops"] > 0
        assert fast["gflop_per_s"] == pytest.approx(
            work["flops"] / (fast["median_ms"] * 1e-3) / 1e9
        )
        if torchreid_hacnn_path().is_file():
            assert work["baseline"] == TORCHREID_ROW
            assert rows[TORCHREID_ROW]["x_baseline"] == 1.0
            assert rows[TORCHREID_ROW]["max_abs_diff"] < 1e-4  # the same weights, same function
        else:
            assert work["baseline"] == EAGER_ROW
        assert fast["x_baseline"] == pytest.approx(
            rows[work["baseline"]]["median_ms"] / fast["median_ms"]
        )
        assert DEFAULT_ROW not in names  # it would compile: not in quick mode
        assert any("defaults row not timed: --no-compile" in n for n in work["notes"])
        assert any(n.startswith("bfloat16 (") and "cosine similarity" in n for n in work["notes"])
    assert "x base" in text and "GFLOP/s" in text

    soft = run["workloads"][0]
    from tutorial_utils.infer import kernel_available

    (default,) = [r for r in soft["rows"] if r["name"] == DEFAULT_ROW]
    assert default["max_abs_diff"] < 1e-5 and default["peak_mem_mb"] is not None
    expected = "defaults ran: kernel" if kernel_available()[0] else "defaults ran: PyTorch path"
    assert any(note.startswith(expected) for note in soft["notes"])
    # The build the defaults ran is named, and the others this CPU runs are timed beside it.
    builds = run["kernel_builds"]
    assert f"the defaults use: {builds['default']}" in text
    if kernel_available()[0]:
        assert soft["kernel_isa"] == default_target() == builds["default"]
        names = [row["name"] for row in soft["rows"]]
        others = [isa for isa in builds["runs"] if isa != builds["default"]]
        assert [n for n in names if n.startswith("C kernel, ")] == [
            KERNEL_ROW.format(isa=isa) for isa in sorted(others, key=list(KERNEL_TARGETS).index)
        ]
        for row in soft["rows"]:
            if row["name"].startswith("C kernel, "):
                assert row["max_abs_diff"] < 1e-5
    (goal,) = soft["goals"]
    assert goal.startswith("defaults at most 1.5x the copy floor: ") and f"  goal: {goal}" in text


def test_bench_no_tune_flag_keeps_default_allocator(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run(
        [sys.executable, "-m", "tutorial_utils.bench", "--quick", "--no-tune-allocator",
         "--no-memory", "--threads", "1", "--device", "cpu", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=True,
    )  # fmt: skip
    assert "re-running with a tuned allocator" not in done.stdout
    assert "allocator: glibc malloc, default settings" in done.stdout
    (run,) = json.loads(out.read_text())["runs"]
    assert not any(name.startswith("MALLOC_") for name in run["allocator_env"])
    assert run["allocator"].startswith("glibc malloc, default settings")


def test_describe_allocator_reads_the_environment(monkeypatch) -> None:
    for name in TUNED_ALLOCATOR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    assert "default settings" in describe_allocator()
    for name, value in TUNED_ALLOCATOR.items():
        monkeypatch.setenv(name, value)
    assert describe_allocator().startswith("glibc malloc, tuned: MALLOC_MMAP_THRESHOLD_=")
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libjemalloc.so.2")
    assert describe_allocator() == "preloaded allocator: /usr/lib/libjemalloc.so.2"


def test_memory_candidates_are_checked() -> None:
    with pytest.raises(ValueError, match="candidate must be one of .*, got 'fast'"):
        memory_in_fresh_process(0, "fast", quick=True)


def test_format_result_is_one_table_with_notes() -> None:
    rows = [
        Row("floor: copy_ into preallocated", 2.0, 1.9, 2.1, 10.0, 1.0),
        Row("optimized, torch.compile", 4.0, 3.5, 4.5, 5.0, 2.0, compile_s=61.0),
    ]
    text = format_result(Result("SoftAttention", (2, 16, 32, 16), 65536, rows, ["a note"]))
    lines = text.splitlines()
    assert lines[0].startswith("SoftAttention  x (2, 16, 32, 16)")
    assert lines[1].split()[:3] == ["candidate", "median", "ms"]
    assert set(lines[2].strip()) == {"-", " "}
    assert lines[3].split()[-1] == "-"  # no max|diff| for the floor
    assert lines[-2:] == [
        "  note: a note",
        "  note: optimized, torch.compile: its first call compiled in 61.0 s (not timed)",
    ]


def test_a_new_process_is_timed_until_ready_not_until_it_exits() -> None:
    """The soft attention workload (quick: its kernel, nothing compiled) in a child process."""
    from tutorial_utils.bench.startup import format_startup, startup_in_fresh_process

    start = time.perf_counter()
    phases = startup_in_fresh_process(0, quick=True)
    elapsed = time.perf_counter() - start
    assert phases is not None
    measured = phases["build_s"] + phases["optimize_s"] + phases["first_call_s"]
    assert measured < phases["total_s"] < elapsed  # imports counted, the exit not
    assert phases["exit_s"] >= 0
    assert abs(phases["total_s"] + phases["exit_s"] - elapsed) < 0.5
    assert f"its exit took {phases['exit_s']:.1f} s more" in format_startup(phases)


def test_goal_lines_say_met_or_not_and_what_the_roof_allows() -> None:
    soft_rows = [
        Row(FLOOR_ROW, 8.0, 7.5, 9.0, 16.0, 1.0),
        Row(DEFAULT_ROW, 11.0, 9.0, 12.0, 12.0, 11.0 / 8.0),
    ]
    soft = Result("SoftAttention", (32, 16, 256, 128), 1, soft_rows, kernel_isa="avx2")
    (line,) = goal_lines(soft)
    assert line == (
        "defaults at most 1.5x the copy floor: met, 1.38x by the medians (1.20x by the minima), "
        "the C kernel's avx2 build"
    )
    soft.rows[1] = Row(DEFAULT_ROW, 16.0, 15.0, 17.0, 8.0, 2.0)
    assert "NOT met, 2.00x" in goal_lines(soft)[0]

    flops = 10e9  # per call: 100 GFLOP/s at 100 ms
    hacnn_rows = [
        Row(FLOOR_ROW, 0.1, 0.1, 0.1, 1.0, 1.0),
        Row(ROOF_ROW, 1.0, 1.0, 1.0, 1.0, 1.0, gflop_per_s=200.0),
        Row(TORCHREID_ROW, 500.0, 450.0, 600.0, 1.0, 1.0, 64.0, None, None, None, 20.0, 1.0),
        Row(DEFAULT_ROW, 250.0, 225.0, 260.0, 1.0, 1.0, 128.0, None, None, None, 40.0, 2.0),
    ]
    hacnn = Result("HACNN batch 32", (32, 3, 160, 64), 1, hacnn_rows, flops=flops)
    hacnn.baseline = TORCHREID_ROW
    verdict, roofline = goal_lines(hacnn)
    assert verdict.endswith("NOT met, 2.00x by the medians (2.00x by the minima)")
    # 2.5x torchreid is 200 ms a call: 50 GFLOP/s, a quarter of the roof; within reach.
    assert roofline == (
        "roofline: the defaults run 40.0 GFLOP/s, 20% of the float32 matmul's 200.0; "
        "2.5x torchreid needs 50.0 GFLOP/s, 25% of it"
    )
    hacnn.rows[1] = Row(ROOF_ROW, 1.0, 1.0, 1.0, 1.0, 1.0, gflop_per_s=52.0)
    assert "(out of reach in float32 with these FLOPs" in goal_lines(hacnn)[1]
    assert goal_lines(Result("x", (1,), 1, hacnn_rows[:3])) == []  # no defaults row
