"""The Market-1501 loader on a tiny folder the test writes itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tutorial_utils.reid import Market1501
from tutorial_utils.reid.market1501 import parse_name

TRAIN = ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg", "0007_c3s3_077419_03.jpg",
         "0000_c1s1_000001_01.jpg", "-1_c1s1_000401_03.jpg"]  # fmt: skip
QUERY = ["0001_c1s1_001051_00.jpg", "0001_c3s1_000551_00.jpg", "0003_c2s1_000301_00.jpg"]
GALLERY = ["0001_c2s1_000301_01.jpg", "0001_c1s1_001151_02.jpg", "0003_c6s1_000451_01.jpg",
           "0000_c4s1_002001_04.jpg", "-1_c5s1_000101_01.jpg"]  # fmt: skip


def _write(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True)
    for k, name in enumerate(names):
        # Market's boxes are 128x64; colour encodes the file's order so a test can tell them apart.
        array = np.full((128, 64, 3), 20 * k + 10, dtype=np.uint8)
        Image.fromarray(array).save(folder / name, quality=95)


@pytest.fixture
def market(tmp_path: Path) -> Path:
    root = tmp_path / "Market-1501-v15.09.15"
    _write(root / "bounding_box_train", TRAIN)
    _write(root / "query", QUERY)
    _write(root / "bounding_box_test", GALLERY)
    (root / "bounding_box_test" / "Thumbs.db").write_bytes(b"not an image")
    return root


def test_train_skips_junk_and_distractors_and_relabels(market: Path) -> None:
    train = Market1501(market, "train")
    assert len(train) == 3
    assert train.original_pids == [2, 2, 7]
    assert train.pids == [0, 0, 1] and train.num_pids == 2
    assert train.camids == [0, 1, 2]


def test_query_and_gallery_keep_ids_gallery_keeps_distractors(market: Path) -> None:
    query = Market1501(market, "query")
    assert query.pids == [1, 1, 3] and query.camids == [0, 2, 1] and query.num_pids == 2
    gallery = Market1501(market, "gallery")
    assert sorted(gallery.pids) == [0, 1, 1, 3]  # junk -1 dropped, distractor 0 kept
    assert -1 not in gallery.pids and gallery.num_pids == 2
    assert sorted(gallery.camids) == [0, 1, 3, 5]


def test_items_are_resized_float_images(market: Path) -> None:
    item = Market1501(market, "train")[0]
    assert set(item) == {"img", "pid", "camid"}
    assert item["img"].shape == (3, 160, 64) and item["img"].dtype == torch.float32
    assert item["img"].min() >= 0.0 and item["img"].max() <= 1.0
    small = Market1501(market, "query", height=32, width=16)
    assert small[0]["img"].shape == (3, 32, 16)
    stacked = small.tensors()
    assert stacked["img"].shape == (3, 3, 32, 16) and stacked["img"].dtype == torch.uint8
    assert stacked["pid"].tolist() == small.pids and stacked["camid"].tolist() == small.camids
    torch.testing.assert_close(small.tensors(float_images=True)["img"][1], small[1]["img"])


def test_the_parent_of_the_unpacked_folder_works_too(market: Path) -> None:
    assert len(Market1501(market.parent, "query")) == 3


def test_missing_folder_is_named(tmp_path: Path, market: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        Market1501(tmp_path / "nowhere", "train")
    (market / "query").rename(market / "queries")
    with pytest.raises(FileNotFoundError, match="query"):
        Market1501(market, "query")


def test_bad_file_name_is_named(market: Path) -> None:
    Image.new("RGB", (64, 128)).save(market / "query" / "person_7.jpg")
    with pytest.raises(ValueError, match=r"person_7\.jpg.*PPPP_cCsS"):
        Market1501(market, "query")


def test_bad_split_and_size(market: Path) -> None:
    with pytest.raises(ValueError, match="'test'"):
        Market1501(market, "test")
    with pytest.raises(ValueError, match="height.*0"):
        Market1501(market, "train", height=0)


def test_an_empty_folder_says_so(tmp_path: Path) -> None:
    (tmp_path / "bounding_box_train").mkdir()
    with pytest.raises(ValueError, match="no Market-1501 images"):
        Market1501(tmp_path, "train")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0002_c1s1_000451_03.jpg", (2, 0)),
        ("-1_c6s2_000001_00.jpg", (-1, 5)),
        ("1501_c6s4_0001_1.jpg", (1501, 5)),
    ],
)
def test_parse_name(name: str, expected: tuple[int, int]) -> None:
    assert parse_name(name) == expected


@pytest.mark.parametrize(
    "name", ["0002_c0s1_000451_03.jpg", "0002_s1_000451_03.jpg", "0002_c1s1_000451_03.png"]
)
def test_parse_name_rejects(name: str) -> None:
    with pytest.raises(ValueError, match=name.split("_")[0]):
        parse_name(name)
