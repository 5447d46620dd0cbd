"""Synthetic pedestrians: a person re-identification data set drawn in 2-D, with exact ground truth.

Data-set card
-------------
*What it is.* RGB crops of one drawn person each, as a pedestrian detector would cut them out of a
surveillance camera, 160×64 by default (any size on request). Drawn in 2-D so that the person's
mask and the boxes of head, upper body and lower body are exact: what attention learned can be
measured, not guessed.

*A person* has a head with hair (short or long) and a face when seen from the front, a torso with
arms (long or short sleeves, hands), legs (trousers, shorts or a skirt) and shoes; optionally a
hat (cap or beanie), a bag (backpack or shoulder bag) and a small logo on the shirt (square, disc
or triangle, seen only from the front). The shirt is plain, striped (across or down) or banded.

*An identity* is a fixed look: skin, hair, the colours of shirt, pattern, lower garment and
shoes, the accessories and their colours, the build. Colours come from a small palette shared by
everyone (mostly dark and neutral, as street clothing is), so identities share most attributes.
Identities come in families of one to three that differ from each other only in one part: the
shoes, the logo or the hat. Part-level detail is what tells them apart.

*Each image varies*
- the camera (six by default, each with its own scene, colour cast, brightness, contrast, blur and
  sensor noise, with a little jitter per image);
- the pose: mirrored or not, seen from the front or from behind, the stride, both arms;
- the scale: the person is 72-92 % of the image height;
- the box: a horizontal and vertical misalignment, as a detector makes (``misalignment=1``: the
  person's centre moves up to 18 % of the width sideways, and up or down until the head or the feet
  touch the border; up to 5 % of the person may be cut off);
- the background: a crop of one of the package's photos (mostly the camera's own scene), drawn
  clutter (signs, poles, kerbs, blobs in clothing colours), and parts of other people at the left
  and right edges (``distractors``), behind the person or, sometimes, in front of them;
- occlusion (``occlusion``, probability per image): a bar across the bottom, a pole, or a block
  from one side, hiding at most half of the person.

*Difficulty*: ``difficulty="hard"`` (the default, all of the above) or the presets "medium"
(cameras half as different, fewer near-twins, occluders and passers-by) and "easy" (neutral
cameras, no near-twins, occluders or passers-by); the knobs ``camera_variation``, ``near_twins``,
``occlusion``, ``distractors`` and ``misalignment`` can also be set one by one.
:func:`difficulty_probe` measures what fixed colour descriptors achieve at a setting.

*Ground truth per image*: ``mask``, the pixels where the person is visible (not the distractors,
not what occludes them); ``parts``, boxes (x0, y0, x1, y1) in pixels (x1, y1 exclusive) of head,
upper body (torso, arms, bag) and lower body (legs, shoes), tight around each part's drawn pixels
inside the image *before* occlusion; ``box``, the whole person's tight box, which may reach outside
the image; ``offset``, the box centre (dx, dy) in the normalised coordinates of ``affine_grid``
(the image spans -1..1): the misalignment a hard-attention module would have to undo;
``occluded``, whether an occluder or a person in front hides part of them.

*Splits*, as in Market-1501: the first ``num_train_ids`` identities train (pids relabelled
0..num_train_ids-1), the others test (pids num_train_ids.. , never seen in training). Every
identity is seen by two to four cameras. For each test identity and each of its cameras, one image
is a query and the rest go to the gallery, so every query has gallery matches from other cameras,
the ones the standard protocol keeps.

*Default size*: 200 training identities × 12 images = 2,400 images; 100 test identities × 12 images,
split into about 300 queries and 900 gallery images (302 and 898 for seed 0). Measured generation
time of the default set: ``python -m tutorial_utils.bench training --generation`` (measured
figures in docs/performance.md). Stored as uint8 images and bool masks: about 150 MB.

*Modules*: ``rendering`` draws one image (cameras, backgrounds, clutter, occluders, people),
this module turns identities and splits into a data set, ``pedestrian_figure`` draws examples
for a lesson and ``difficulty`` measures what fixed colour descriptors achieve.

*Determinism*: every image is drawn from a random stream seeded by (seed, identity, image number),
so the same seed gives identical tensors whichever split is built first, and ``split`` only
selects which images are drawn.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..common.images import normalize as normalize_images
from ..common.validation import check_int, check_positive_int
from .drawing import PART_NAMES, random_look
from .rendering import Camera, Identity, make_identities, photos, random_camera, render_image

# Bumped whenever the same seed and options would draw different images, so a checkpoint's log
# can say which drawing it was trained and evaluated on.
DATASET_VERSION = 1
SPLITS = ("train", "query", "gallery")
MIN_HEIGHT, MIN_WIDTH = 32, 16
PASSERS_BY = 64
DISTRACTOR_LOOKS = ("passers_by", "identities")
TRAIN, TEST = 0, 1  # the two groups of identities
# Presets of the knobs that make re-identification hard. "hard" is the default drawing; see
# docs/reid.md for how each changes what colour features alone can do.
DIFFICULTIES = {
    "hard": {"camera_variation": 1.0, "near_twins": 0.7, "occlusion": 0.3, "distractors": 0.6},
    "medium": {"camera_variation": 0.5, "near_twins": 0.35, "occlusion": 0.15, "distractors": 0.3},
    "easy": {"camera_variation": 0.0, "near_twins": 0.0, "occlusion": 0.0, "distractors": 0.0},
}


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


class SyntheticPedestrians(Dataset):
    """Drawn pedestrians for re-identification; see the module docstring for the data-set card.

    Args:
        split: ``"train"``, ``"query"`` or ``"gallery"``.
        seed: everything (identities, cameras, every image) follows from it.
        num_train_ids, num_test_ids: identities in training and in test (query + gallery).
        images_per_id: images of each identity (at least 4: two cameras, two images each).
        num_cameras: at least 2.
        height, width: image size (at least 32×16).
        difficulty: a preset of the four knobs below that are left as None: "hard" (the
            default: camera_variation 1, near_twins 0.7, occlusion 0.3, distractors 0.6),
            "medium" (0.5, 0.35, 0.15, 0.3) or "easy" (all 0).
        occlusion: probability that an image has an occluder.
        distractors: probability that an image has other people at its edges.
        distractor_looks: who those people are: "passers_by" (the default, a fixed crowd
            that is no identity of the set) or "identities" (other identities of the same
            split, so the background holds the clothes of people the model must tell apart).
        misalignment: scale of the box's misalignment (0 = always centred, 1 = the default ranges).
        camera_variation: how different the cameras are (0 = all neutral and sharp, 1 = the
            default colour casts, brightness, contrast, blur and noise).
        near_twins: probability that an identity's family has more members than it, who differ
            from it in one part only (0.7 by default; 0 = no near-twins).
        normalize: give ``img`` standardised with ImageNet's mean and std, the input HA-CNN
            expects (``model(item["img"][None])`` then works as trained). False (the default)
            gives pictures in [0, 1], for showing, and for ``cache_split`` and training, which
            standardise by themselves: feeding [0, 1] pictures to the model ranks far worse,
            without any error.

    Attributes: ``pids``, ``camids`` (one per item), ``num_pids``, ``identities`` (pid ->
    :class:`Identity`), ``cameras`` (camid -> :class:`Camera`), ``size`` (H, W), ``version``
    (``DATASET_VERSION``, which changes whenever a seed would draw different images).

    Items are dicts: ``img`` float32 (3, H, W) in [0, 1] (standardised with
    ``normalize=True``); ``pid``, ``camid`` ints; ``mask`` bool
    (H, W); ``parts`` float32 (3, 4), rows ``PART_NAMES``, (x0, y0, x1, y1) in pixels; ``offset``
    float32 (2,), (dx, dy) in affine_grid units; ``box`` float32 (4,); ``occluded`` bool tensor ().
    ``tensors()`` gives the whole split stacked, for fast training and evaluation.
    """

    def __init__(
        self,
        split: str,
        seed: int = 0,
        *,
        num_train_ids: int = 200,
        num_test_ids: int = 100,
        images_per_id: int = 12,
        num_cameras: int = 6,
        height: int = 160,
        width: int = 64,
        difficulty: str = "hard",
        occlusion: float | None = None,
        distractors: float | None = None,
        distractor_looks: str = "passers_by",
        misalignment: float = 1.0,
        camera_variation: float | None = None,
        near_twins: float | None = None,
        normalize: bool = False,
    ) -> None:
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be True or False, got {normalize!r}")
        self.normalize = normalize
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        for name, value in (
            ("num_train_ids", num_train_ids),
            ("num_test_ids", num_test_ids),
            ("images_per_id", images_per_id),
            ("num_cameras", num_cameras),
            ("height", height),
            ("width", width),
        ):
            check_positive_int(value, name)
        if images_per_id < 4:
            raise ValueError(
                "images_per_id must be at least 4 (two cameras, two images each), "
                f"got {images_per_id}"
            )
        if num_cameras < 2:
            raise ValueError(
                "num_cameras must be at least 2 (query and gallery differ by camera), "
                f"got {num_cameras}"
            )
        if height < MIN_HEIGHT or width < MIN_WIDTH:
            raise ValueError(
                f"image size {height}x{width} is too small; "
                f"expected at least {MIN_HEIGHT}x{MIN_WIDTH}"
            )
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {tuple(DIFFICULTIES)}, got {difficulty!r}")
        preset = DIFFICULTIES[difficulty]
        occlusion = preset["occlusion"] if occlusion is None else occlusion
        distractors = preset["distractors"] if distractors is None else distractors
        camera_variation = (
            preset["camera_variation"] if camera_variation is None else camera_variation
        )
        near_twins = preset["near_twins"] if near_twins is None else near_twins
        _check_probability("occlusion", occlusion)
        _check_probability("distractors", distractors)
        _check_probability("near_twins", near_twins)
        if distractor_looks not in DISTRACTOR_LOOKS:
            raise ValueError(
                f"distractor_looks must be one of {DISTRACTOR_LOOKS}, got {distractor_looks!r}"
            )
        if not 0.0 <= float(camera_variation) <= 1.0:
            raise ValueError(f"camera_variation must be in [0, 1], got {camera_variation!r}")
        if not 0.0 <= float(misalignment) <= 1.0:
            raise ValueError(f"misalignment must be in [0, 1], got {misalignment!r}")
        check_int(seed, "seed", low=0)

        self.split = split
        # Everything that decides the images besides the seed (a training log can store it).
        self.options = {
            "num_train_ids": num_train_ids,
            "num_test_ids": num_test_ids,
            "images_per_id": images_per_id,
            "num_cameras": num_cameras,
            "height": height,
            "width": width,
            "occlusion": occlusion,
            "distractors": distractors,
            "distractor_looks": distractor_looks,
            "misalignment": misalignment,
            "camera_variation": camera_variation,
            "near_twins": near_twins,
        }
        self.seed = seed
        self.version = DATASET_VERSION
        self.size = (height, width)
        # One random stream per concern, so that e.g. more test identities leave the first
        # ones' images unchanged, and the training identities never depend on the test ones.
        streams = [np.random.default_rng([seed, k]) for k in range(4)]
        self.cameras = [
            random_camera(streams[0], c, len(photos()), camera_variation)
            for c in range(num_cameras)
        ]
        group = TRAIN if split == "train" else TEST
        identities = make_identities(
            streams[1 + group], num_train_ids if group == TRAIN else num_test_ids, near_twins
        )
        # People who pass by at the edges: a fixed crowd, none of them an identity of the set.
        passers_by = [random_look(streams[3]) for _ in range(PASSERS_BY)]
        chosen = self._choose_images(seed, len(identities), images_per_id, num_cameras)

        n = len(chosen)
        images = torch.empty((n, 3, height, width), dtype=torch.uint8)
        masks = torch.empty((n, height, width), dtype=torch.bool)
        parts = torch.empty((n, 3, 4), dtype=torch.float32)
        boxes = torch.empty((n, 4), dtype=torch.float32)
        occluded = torch.empty(n, dtype=torch.bool)
        for i, (identity, image_number, camid) in enumerate(chosen):
            rng = np.random.default_rng([seed, 10 + group, identity, image_number])
            others = passers_by
            if distractor_looks == "identities":  # everyone of the split but the person
                others = [other.look for k, other in enumerate(identities) if k != identity]
            drawn = render_image(
                rng,
                identities[identity].look,
                self.cameras[camid],
                self.size,
                others,
                occlusion=occlusion,
                distractors=distractors,
                misalignment=misalignment,
            )
            images[i] = torch.from_numpy(drawn.image.copy()).permute(2, 0, 1)
            masks[i] = torch.from_numpy(drawn.mask)
            parts[i] = torch.from_numpy(drawn.parts)
            boxes[i] = torch.from_numpy(drawn.box)
            occluded[i] = drawn.occluded
        self._images, self._masks, self._parts, self._boxes, self._occluded = (
            images,
            masks,
            parts,
            boxes,
            occluded,
        )
        # Box centre in affine_grid's units: pixel edge 0 is -1, pixel edge W is +1.
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        self._offsets = torch.stack(
            [centre[:, 0] / width * 2 - 1, centre[:, 1] / height * 2 - 1], 1
        )
        # Training labels are 0..num_train_ids-1; test identities are numbered after them.
        first_pid = 0 if group == TRAIN else num_train_ids
        self.pids = [first_pid + identity for identity, _, _ in chosen]
        self.camids = [camid for _, _, camid in chosen]
        self.num_pids = len(identities)
        # pid -> Identity: its look, its family and the one part it differs in from the family's
        # first member, so an evaluation can ask whether near-twins are told apart.
        self.identities = {first_pid + k: identity for k, identity in enumerate(identities)}

    def _choose_images(
        self, seed: int, num_ids: int, per_id: int, num_cameras: int
    ) -> list[tuple[int, int, int]]:
        """(identity in its group, image number, camera) of this split's images.

        Each identity is seen by 2-4 cameras in turn; for a test identity the first image from
        each camera is a query and the others go to the gallery (one query per identity and
        camera, as in Market-1501), so every query has gallery matches from other cameras.
        """
        group = TRAIN if self.split == "train" else TEST
        chosen = []
        for identity in range(num_ids):
            plan = np.random.default_rng([seed, 20 + group, identity])
            k = int(plan.integers(2, min(4, num_cameras, per_id // 2) + 1))
            cams = np.sort(plan.choice(num_cameras, size=k, replace=False))
            for j in range(per_id):
                role = "train" if group == TRAIN else ("query" if j < k else "gallery")
                if role == self.split:
                    chosen.append((identity, j, int(cams[j % k])))
        return chosen

    def __len__(self) -> int:
        return len(self.pids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        image = self._images[index].float() / 255.0
        return {
            "img": normalize_images(image[None])[0] if self.normalize else image,
            "pid": self.pids[index],
            "camid": self.camids[index],
            "mask": self._masks[index],
            "parts": self._parts[index],
            "offset": self._offsets[index],
            "box": self._boxes[index],
            "occluded": self._occluded[index],
        }

    def tensors(self, float_images: bool = False) -> dict[str, torch.Tensor]:
        """The whole split stacked: ``img`` (N, 3, H, W) uint8 (or float32 in [0, 1] with
        ``float_images=True``, standardised if the set has ``normalize=True``), ``pid`` and
        ``camid`` (N,) int64, ``mask`` (N, H, W) bool, ``parts`` (N, 3, 4), ``offset`` (N, 2),
        ``box`` (N, 4) float32, ``occluded`` (N,) bool.

        The uint8 images are the stored ones (no copy); keep them uint8 and convert per batch
        (``batch.float() / 255``) to hold a large split in a quarter of the memory.
        """
        images = self._images.float() / 255.0 if float_images else self._images
        if float_images and self.normalize:
            images = normalize_images(images)
        return {
            "img": images,
            "pid": torch.tensor(self.pids, dtype=torch.int64),
            "camid": torch.tensor(self.camids, dtype=torch.int64),
            "mask": self._masks,
            "parts": self._parts,
            "offset": self._offsets,
            "box": self._boxes,
            "occluded": self._occluded,
        }

    def __repr__(self) -> str:
        h, w = self.size
        return (
            f"SyntheticPedestrians(split={self.split!r}, seed={self.seed}, images={len(self)}, "
            f"identities={self.num_pids}, size={h}x{w})"
        )


__all__ = [
    "DATASET_VERSION",
    "DIFFICULTIES",
    "PART_NAMES",
    "SPLITS",
    "Camera",
    "Identity",
    "SyntheticPedestrians",
]


# Old names kept for one release: the figure, the probe and one record moved to their own files.
_MOVED = {
    "show_pedestrians": "pedestrian_figure",
    "PART_COLOURS": "pedestrian_figure",
    "time_generation": "difficulty",
    "fixed_descriptors": "difficulty",
    "difficulty_probe": "difficulty",
    "Rendered": "rendering",
}


def __getattr__(name: str) -> object:
    """Names that moved out of this module to ``_MOVED[name]``, with a DeprecationWarning."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    from ..common.deprecation import warn_moved

    new = f"tutorial_utils.reid.{_MOVED[name]}"
    warn_moved(f"tutorial_utils.reid.synthetic.{name}", f"{new}.{name}")
    return getattr(importlib.import_module(new), name)
