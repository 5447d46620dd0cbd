"""Synthetic pedestrians: determinism, splits as in Market-1501, exact ground truth, bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from tutorial_utils.reid import PART_NAMES, SyntheticPedestrians
from tutorial_utils.reid.difficulty import difficulty_probe, fixed_descriptors, time_generation
from tutorial_utils.reid.drawing import Look, random_look, sibling_look
from tutorial_utils.reid.pedestrian_figure import show_pedestrians
from tutorial_utils.reid.rendering import Camera, make_identities, render_image

SMALL = {"num_train_ids": 4, "num_test_ids": 8, "images_per_id": 6}
H, W = 160, 64


@pytest.fixture(scope="module")
def splits() -> dict[str, SyntheticPedestrians]:
    return {
        split: SyntheticPedestrians(split, seed=3, **SMALL)
        for split in ("train", "query", "gallery")
    }


@pytest.fixture(scope="module")
def every_item(splits: dict[str, SyntheticPedestrians]) -> dict[str, torch.Tensor]:
    """All three splits' tensors concatenated (the ground-truth tests run over every image)."""
    parts = [d.tensors() for d in splits.values()]
    return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}


def test_item_is_the_agreed_dict(splits: dict[str, SyntheticPedestrians]) -> None:
    item = splits["train"][0]
    assert item["img"].dtype == torch.float32 and item["img"].shape == (3, H, W)
    assert item["img"].min() >= 0.0 and item["img"].max() <= 1.0
    assert isinstance(item["pid"], int) and isinstance(item["camid"], int)
    assert item["mask"].dtype == torch.bool and item["mask"].shape == (H, W)
    assert item["parts"].dtype == torch.float32 and item["parts"].shape == (3, 4)
    assert item["offset"].dtype == torch.float32 and item["offset"].shape == (2,)
    assert PART_NAMES == ("head", "upper", "lower")


def test_tensors_stack_the_items(splits: dict[str, SyntheticPedestrians]) -> None:
    dataset = splits["gallery"]
    stacked = dataset.tensors()
    assert stacked["img"].dtype == torch.uint8 and stacked["img"].shape == (len(dataset), 3, H, W)
    for i in (0, len(dataset) - 1):
        item = dataset[i]
        torch.testing.assert_close(stacked["img"][i].float() / 255, item["img"])
        for key in ("mask", "parts", "offset"):
            assert torch.equal(stacked[key][i], item[key]), key
        assert stacked["pid"][i] == item["pid"] and stacked["camid"][i] == item["camid"]
    torch.testing.assert_close(
        dataset.tensors(float_images=True)["img"], stacked["img"].float() / 255
    )


def test_same_seed_gives_identical_tensors_and_another_seed_differs(
    splits: dict[str, SyntheticPedestrians],
) -> None:
    again = SyntheticPedestrians("query", seed=3, **SMALL).tensors()
    first = splits["query"].tensors()
    for key, value in first.items():
        assert torch.equal(value, again[key]), key
    other = SyntheticPedestrians("query", seed=4, **SMALL).tensors()
    n = min(len(other["img"]), len(first["img"]))  # the camera plan differs too
    assert (other["img"][:n] != first["img"][:n]).float().mean() > 0.5


def test_a_split_only_selects_images(splits: dict[str, SyntheticPedestrians]) -> None:
    # The test images do not depend on how many of them a split keeps: query + gallery, sorted
    # by identity, are the same images whichever split drew them.
    query, gallery = splits["query"], splits["gallery"]
    assert set(query.pids) == set(gallery.pids)
    assert len(query) + len(gallery) == SMALL["num_test_ids"] * SMALL["images_per_id"]
    # The same image drawn twice by two differently sized sets is identical only if the stream
    # is per image: a set with more test identities shares the first ones' images.
    bigger = SyntheticPedestrians("query", seed=3, **{**SMALL, "num_test_ids": 10})
    n = len(query)
    assert torch.equal(bigger.tensors()["img"][:n], query.tensors()["img"])


def test_train_and_test_identities_are_disjoint(splits: dict[str, SyntheticPedestrians]) -> None:
    train, query, gallery = splits["train"], splits["query"], splits["gallery"]
    assert (
        sorted(set(train.pids))
        == list(range(SMALL["num_train_ids"]))
        == list(range(train.num_pids))
    )
    assert not set(train.pids) & (set(query.pids) | set(gallery.pids))
    assert query.num_pids == gallery.num_pids == len(set(query.pids)) == SMALL["num_test_ids"]


def test_query_and_gallery_differ_by_camera_and_every_query_has_a_match(
    splits: dict[str, SyntheticPedestrians],
) -> None:
    query, gallery = splits["query"], splits["gallery"]
    query_pairs = list(zip(query.pids, query.camids, strict=True))
    assert len(set(query_pairs)) == len(query_pairs), "one query per identity and camera"
    gallery_pairs = list(zip(gallery.pids, gallery.camids, strict=True))
    for pid, camid in query_pairs:
        valid = [g for g in gallery_pairs if g[0] == pid and g[1] != camid]
        assert valid, f"query of id {pid} from camera {camid} has no match the protocol keeps"
    for pid in set(query.pids):
        assert len({c for p, c in query_pairs if p == pid}) >= 2, "each identity seen by 2+ cameras"


def test_masks_are_non_empty_and_inside_the_box(every_item: dict[str, torch.Tensor]) -> None:
    masks, boxes = every_item["mask"], every_item["box"]
    assert (masks.flatten(1).sum(1) > 0.1 * H * W * 0.1).all()
    for mask, box in zip(masks, boxes, strict=True):
        rows = torch.nonzero(mask.any(1)).flatten()
        cols = torch.nonzero(mask.any(0)).flatten()
        assert box[0] <= cols[0] and cols[-1] + 1 <= box[2]
        assert box[1] <= rows[0] and rows[-1] + 1 <= box[3]


def _mask_box(mask: torch.Tensor) -> torch.Tensor:
    rows = torch.nonzero(mask.any(1)).flatten()
    cols = torch.nonzero(mask.any(0)).flatten()
    return torch.tensor([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=torch.float32)


def test_part_boxes_run_top_to_bottom_inside_the_mask_box(
    every_item: dict[str, torch.Tensor],
) -> None:
    parts, masks, occluded = every_item["parts"], every_item["mask"], every_item["occluded"]
    assert (parts[..., 0] < parts[..., 2]).all() and (parts[..., 1] < parts[..., 3]).all()
    assert (parts[..., :2] >= 0).all()
    assert (parts[..., 2] <= W).all() and (parts[..., 3] <= H).all()
    top, centre = parts[..., 1], (parts[..., 1] + parts[..., 3]) / 2
    assert (top[:, 0] < top[:, 1]).all() and (top[:, 1] < top[:, 2]).all()
    assert (centre[:, 0] < centre[:, 1]).all() and (centre[:, 1] < centre[:, 2]).all()
    union = torch.cat([parts[:, :, :2].min(1).values, parts[:, :, 2:].max(1).values], 1)
    for k in range(len(masks)):
        box = _mask_box(masks[k])
        # The mask's box lies inside the parts' union, and is it when nothing hides the person.
        assert (box[:2] >= union[k, :2]).all() and (box[2:] <= union[k, 2:]).all()
        if not occluded[k]:
            assert torch.equal(box, union[k]), k
    assert (~occluded).sum() > len(masks) // 3, "most images show the whole person"


def test_offset_is_the_box_centre_in_affine_grid_units(every_item: dict[str, torch.Tensor]) -> None:
    box, offset = every_item["box"], every_item["offset"]
    centre = (box[:, :2] + box[:, 2:]) / 2
    torch.testing.assert_close(offset, centre / torch.tensor([W, H]) * 2 - 1)
    inside = (box[:, 0] >= 0) & (box[:, 1] >= 0) & (box[:, 2] <= W) & (box[:, 3] <= H)
    whole = inside & ~every_item["occluded"]
    assert whole.sum() > 10
    for k in torch.nonzero(whole).flatten():
        mask_box = _mask_box(every_item["mask"][k])
        mask_centre = (mask_box[:2] + mask_box[2:]) / 2 / torch.tensor([W, H]) * 2 - 1
        torch.testing.assert_close(offset[k], mask_centre)
    # The misalignment really varies (the hard attention has something to undo).
    assert offset[:, 1].std() > 0.05 and offset[:, 0].std() > 0.05


def test_misalignment_zero_centres_the_person() -> None:
    offsets = SyntheticPedestrians("query", seed=1, **SMALL, misalignment=0.0).tensors()["offset"]
    moved = SyntheticPedestrians("query", seed=1, **SMALL).tensors()["offset"]
    assert offsets.abs().max() < 0.2  # only the pose's asymmetry (arms, bag, stride)
    assert offsets[:, 1].std() < 0.5 * moved[:, 1].std()


def _neutral_camera() -> Camera:
    return Camera(np.ones(3, np.float32), 1.0, 1.0, 0.0, 0.0, 0, (0.5, 0.5))


def _magenta(look: Look) -> Look:
    """Every material of ``look`` in magenta (green exactly 0), a colour nothing else uses."""
    fields = dict(look.__dict__)
    for name, value in fields.items():
        if isinstance(value, np.ndarray):
            fields[name] = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    return Look(**fields)


@pytest.mark.parametrize("image_seed", range(6))
def test_mask_is_exactly_where_the_person_shows(image_seed: int) -> None:
    # A magenta person, a camera that leaves colours alone: the mask must be the magenta pixels,
    # with passers-by in front and occluders taken out.
    rng = np.random.default_rng(image_seed)
    look = _magenta(random_look(np.random.default_rng(100 + image_seed)))
    crowd = [random_look(np.random.default_rng(k)) for k in range(4)]
    drawn = render_image(
        rng,
        look,
        _neutral_camera(),
        (H, W),
        crowd,
        occlusion=0.7,
        distractors=1.0,
        misalignment=1.0,
    )
    image = drawn.image.astype(int)
    # Shading darkens the body's sides to 0.45 at most; dark photo pixels have small red and blue.
    magenta = (image[..., 1] == 0) & (image[..., 0] > 60) & (image[..., 2] > 60)
    assert np.array_equal(magenta, drawn.mask)


def test_families_differ_in_one_part() -> None:
    rng = np.random.default_rng(0)
    base = random_look(rng)
    for _ in range(30):
        other, part = sibling_look(base, rng)
        changed = {
            name
            for name, value in base.__dict__.items()
            if not np.array_equal(np.asarray(value), np.asarray(other.__dict__[name]))
        }
        allowed = {
            "shoes": {"shoes"},
            "logo": {"logo", "logo_colour"},
            "hat": {"hat", "hat_colour"},
        }
        assert changed and changed <= allowed[part], (part, changed)
    identities = make_identities(np.random.default_rng(1), 30)
    assert len(identities) == 30
    families = [i.family for i in identities]
    assert len(set(families)) < 25, "most identities have a near-twin"
    for a, b in zip(identities, identities[1:], strict=False):
        if a.family == b.family:
            assert b.differs_in in ("shoes", "logo", "hat")
        else:
            assert b.differs_in == ""


def test_identities_are_described(splits: dict[str, SyntheticPedestrians]) -> None:
    query = splits["query"]
    assert set(query.identities) == set(query.pids)
    assert len(query.cameras) == 6


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"split": "test"}, ["'test'", "train"]),
        ({"num_train_ids": 0}, ["num_train_ids", "0"]),
        ({"num_test_ids": -2}, ["num_test_ids", "-2"]),
        ({"images_per_id": 3}, ["images_per_id", "3", "at least 4"]),
        ({"images_per_id": 2.5}, ["images_per_id", "2.5"]),
        ({"num_cameras": 1}, ["num_cameras", "1"]),
        ({"height": 20}, ["20x64", "32x16"]),
        ({"width": 8}, ["160x8", "32x16"]),
        ({"occlusion": 1.5}, ["occlusion", "1.5"]),
        ({"distractors": -0.1}, ["distractors", "-0.1"]),
        ({"misalignment": 2.0}, ["misalignment", "2.0"]),
        ({"seed": -1}, ["seed", "-1"]),
        ({"difficulty": "brutal"}, ["difficulty", "'brutal'", "medium"]),
        ({"camera_variation": 1.5}, ["camera_variation", "1.5"]),
        ({"near_twins": -0.1}, ["near_twins", "-0.1"]),
    ],
)
def test_bad_arguments_name_the_value(kwargs: dict, words: list[str]) -> None:
    arguments = {"split": "train", **SMALL, **kwargs}
    with pytest.raises(ValueError) as error:
        SyntheticPedestrians(**arguments)
    for word in words:
        assert word in str(error.value)


def test_index_out_of_range(splits: dict[str, SyntheticPedestrians]) -> None:
    with pytest.raises(IndexError, match=str(len(splits["query"]))):
        splits["query"][len(splits["query"])]


def test_other_sizes_work() -> None:
    dataset = SyntheticPedestrians("query", seed=0, **SMALL, height=96, width=96)
    item = dataset[0]
    assert item["img"].shape == (3, 96, 96) and item["mask"].shape == (96, 96)
    assert item["mask"].any() and (item["parts"][:, 2] <= 96).all()


def test_show_pedestrians_draws_a_grid(splits: dict[str, SyntheticPedestrians]) -> None:
    fig = show_pedestrians(splits["train"], indices=list(range(6)), columns=4)
    try:
        axes = fig.axes
        assert len(axes) == 8  # two rows of four, the last two blank
        assert len(axes[0].images) == 1 and len(axes[0].patches) == 3
        assert axes[0].get_title().startswith("id 0 cam")
        assert not axes[7].images
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="columns"):
        show_pedestrians(splits["train"], columns=0)


def test_time_generation_reports_each_split() -> None:
    rows = time_generation(0, num_train_ids=2, num_test_ids=2, images_per_id=4)
    assert [r["split"] for r in rows] == ["train", "query", "gallery"]
    assert sum(r["images"] for r in rows) == 16
    assert all(r["wall_s"] > 0 and r["cpu_s"] >= 0 for r in rows)


def test_easy_preset_turns_the_knobs_off_and_explicit_values_win() -> None:
    easy = SyntheticPedestrians("query", seed=0, **SMALL, difficulty="easy")
    assert not easy.tensors()["occluded"].any(), "no occluders, no passers-by in front"
    for camera in easy.cameras:
        assert np.allclose(camera.gain, 1) and camera.brightness == camera.contrast == 1
        assert camera.blur == camera.noise == 0
    assert len({i.family for i in easy.identities.values()}) == len(easy.identities)
    mixed = SyntheticPedestrians("query", seed=0, **SMALL, difficulty="easy", occlusion=1.0)
    assert mixed.options["occlusion"] == 1.0 and mixed.options["distractors"] == 0.0
    hard = SyntheticPedestrians("query", seed=0, **SMALL)
    assert hard.options["camera_variation"] == 1.0 and hard.options["near_twins"] == 0.7


def test_fixed_descriptors_and_the_probe(splits: dict[str, SyntheticPedestrians]) -> None:
    features = fixed_descriptors(splits["query"].tensors())
    n = len(splits["query"])
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        "pixels": (n, 3 * 16 * 8),
        "stripe_histograms": (n, 3 * 64),
        "masked_histograms": (n, 3 * 64),
        "part_colours": (n, 6 * 3),
    }
    # On the easy preset, colour where the person is identifies them; the whole crop does not.
    probe = difficulty_probe(0, **{**SMALL, "num_test_ids": 12}, difficulty="easy")
    assert probe["masked_histograms"]["rank1"] > probe["stripe_histograms"]["rank1"] + 0.3
    assert all(0 <= v["rank1"] <= 1 and 0 <= v["mAP"] <= 1 for v in probe.values())


def _drawn_looks(monkeypatch, **kwargs) -> tuple[SyntheticPedestrians, list[list[Look]]]:
    """The looks drawn for every image, the person's first, then the other people's."""
    import tutorial_utils.reid.rendering as rendering

    per_image: list[list[Look]] = []
    real_render, real_draw = rendering.render_image, rendering.draw_person

    def render(*args, **kw):
        per_image.append([])
        return real_render(*args, **kw)

    def draw(look, *args, **kw):
        per_image[-1].append(look)
        return real_draw(look, *args, **kw)

    import tutorial_utils.reid.synthetic as synthetic

    monkeypatch.setattr(synthetic, "render_image", render)
    monkeypatch.setattr(rendering, "draw_person", draw)
    dataset = SyntheticPedestrians("train", seed=5, **SMALL, **kwargs)
    monkeypatch.undo()
    return dataset, per_image


def test_identity_distractors_wear_other_identities_never_the_persons_own(monkeypatch) -> None:
    dataset, per_image = _drawn_looks(monkeypatch, distractors=1.0, distractor_looks="identities")
    looks = {pid: identity.look for pid, identity in dataset.identities.items()}
    assert len(per_image) == len(dataset)
    others_seen = 0
    for pid, drawn in zip(dataset.pids, per_image, strict=True):
        person, *others = drawn
        assert person is looks[pid]
        assert len(others) >= 1  # distractors=1.0: every image has someone else
        for other in others:
            assert other is not looks[pid]
            assert any(other is looks[k] for k in looks if k != pid)
        others_seen += len(others)
    assert others_seen > len(dataset)  # some images have two


def test_default_distractors_are_the_passers_by_crowd(monkeypatch) -> None:
    dataset, per_image = _drawn_looks(monkeypatch, distractors=1.0)
    identity_looks = [identity.look for identity in dataset.identities.values()]
    for drawn in per_image:
        assert all(all(o is not look for look in identity_looks) for o in drawn[1:])
    # The default is the explicit "passers_by", image for image.
    same = SyntheticPedestrians(
        "train", seed=5, **SMALL, distractors=1.0, distractor_looks="passers_by"
    )
    assert torch.equal(dataset.tensors()["img"], same.tensors()["img"])
    with pytest.raises(ValueError, match="distractor_looks must be one of.*'strangers'"):
        SyntheticPedestrians("train", **SMALL, distractor_looks="strangers")
