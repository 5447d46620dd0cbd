"""The package carries its data: a wheel installed outside the checkout finds every data file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tutorial_utils import data_dir, data_file

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT_DATA = ROOT / "tutorial_utils" / "data"

# Run in a fresh interpreter from a directory outside the checkout, so nothing can be found by
# accident through the current directory or the editable install.
PROBE = textwrap.dedent(
    """
    import json, sys
    import torch
    import tutorial_utils
    from tutorial_utils import HACNN, data_dir, data_file, load_sample_image, print_shapes
    from tutorial_utils import sample_image_names

    found = {}
    for name in json.loads(sys.argv[1]):
        path = data_file(name)
        if name.endswith(".jpg"):
            found[name] = list(load_sample_image(path.stem).shape)
        elif name.endswith(".pt"):
            found[name] = len(torch.load(path, map_location="cpu", weights_only=True))
        else:
            found[name] = path.stat().st_size
    print_shapes(HACNN(num_classes=10).eval(), torch.randn(1, 3, 160, 64))
    print(json.dumps({
        "package": tutorial_utils.__file__,
        "data_dir": str(data_dir()),
        "photos": sample_image_names(),
        "found": found,
    }))
    """
)


def _data_files() -> list[str]:
    return sorted(p.name for p in CHECKOUT_DATA.iterdir() if p.is_file())


@pytest.fixture(scope="module")
def wheel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel, the way pip, Colab and hub images install it."""
    # Build from a copy of the files git knows, as a fresh clone would: a stale build/ or
    # *.egg-info in the checkout could otherwise smuggle in files the package data leaves out.
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(build), str(source)],
        check=True,
    )  # fmt: skip
    (wheel,) = build.glob("attention_step_by_step-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed_wheel(wheel_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed (not editable) into a folder of its own; returns that folder."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
         str(target), str(wheel_file)],
        check=True,
    )  # fmt: skip
    return target


def test_wheel_lists_every_data_file(wheel_file: Path):
    names = {Path(n).name for n in zipfile.ZipFile(wheel_file).namelist() if "/data/" in n}
    missing = set(_data_files()) - names
    assert not missing, f"data files left out of the wheel: {sorted(missing)}"


def test_installed_wheel_loads_every_data_file_from_elsewhere(
    installed_wheel: Path, tmp_path: Path
):
    env = {k: v for k, v in os.environ.items() if k != "ATTENTION_DATA_DIR"}
    env["PYTHONPATH"] = str(installed_wheel)
    files = _data_files()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(files)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(installed_wheel), report["package"]
    assert Path(report["data_dir"]).is_relative_to(installed_wheel), report["data_dir"]
    assert sorted(report["found"]) == files
    assert report["photos"] == sorted(p.stem for p in CHECKOUT_DATA.glob("*.jpg"))
    assert all(shape[0] == 3 for name, shape in report["found"].items() if name.endswith(".jpg"))
    assert "(output)" in result.stdout, "the shape tracer did not print HACNN's table"


def test_data_dir_variable_points_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "extra.txt").write_text("hello")
    monkeypatch.setenv("ATTENTION_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    assert data_file("extra.txt").read_text() == "hello"


def test_bad_data_dir_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    missing = tmp_path / "no_such_folder"
    monkeypatch.setenv("ATTENTION_DATA_DIR", str(missing))
    with pytest.raises(FileNotFoundError, match=r"ATTENTION_DATA_DIR=.*no_such_folder"):
        data_dir()


def test_missing_data_file_lists_what_is_there():
    with pytest.raises(FileNotFoundError, match=r"no data file 'nope\.jpg'.*astronaut\.jpg"):
        data_file("nope.jpg")


def test_wheel_carries_every_room_and_the_c_kernel(wheel_file: Path):
    names = set(zipfile.ZipFile(wheel_file).namelist())
    assert "tutorial_utils/infer/soft_kernel.c" in names
    rooms = {p.name for p in (ROOT / "tutorial_utils").iterdir() if (p / "__init__.py").is_file()}
    for room in rooms:
        assert f"tutorial_utils/{room}/__init__.py" in names, f"room {room} left out of the wheel"
    assert not any(n.startswith(("tools/", "tests/")) for n in names)
