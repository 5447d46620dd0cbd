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
time of the default set (``python -m tutorial_utils.reid.speed --generation``): 13.6 s of CPU time,
3.8 ms per image, single-threaded; 19.3 s of wall time on the shared 2-core machine at a load
average of 6. Stored as uint8 images and bool masks: about 150 MB.

*Determinism*: every image is drawn from a random stream seeded by (seed, identity, image number),
so the same seed gives identical tensors whichever split is built first, and ``split`` only
selects which images are drawn.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image, ImageDraw, ImageFilter
from torch.utils.data import Dataset

from tutorial_utils import load_sample_image, sample_image_names

from ..common.images import normalize as normalize_images
from .drawing import (
    CLOTH,
    NUM_MATERIALS,
    PART_OF_MATERIAL,
    Look,
    Sprite,
    draw_person,
    palette,
    paste,
    random_look,
    random_pose,
    sibling_look,
)

PART_NAMES = ("head", "upper", "lower")
# Bumped whenever the same seed and options would draw different images, so a checkpoint's log
# can say which drawing it was trained and evaluated on.
DATASET_VERSION = 1
SPLITS = ("train", "query", "gallery")
MIN_HEIGHT, MIN_WIDTH = 32, 16
PASSERS_BY = 64
TRAIN, TEST = 0, 1  # the two groups of identities
# Presets of the knobs that make re-identification hard. "hard" is the default drawing; see
# docs/reid.md for how each changes what colour features alone can do.
DIFFICULTIES = {
    "hard": {"camera_variation": 1.0, "near_twins": 0.7, "occlusion": 0.3, "distractors": 0.6},
    "medium": {"camera_variation": 0.5, "near_twins": 0.35, "occlusion": 0.15, "distractors": 0.3},
    "easy": {"camera_variation": 0.0, "near_twins": 0.0, "occlusion": 0.0, "distractors": 0.0},
}


@dataclass(frozen=True)
class Camera:
    """A camera's fixed look: colour gains (3,), brightness, contrast, blur radius (pixels),
    noise std, and its scene (which photo, and where in it)."""

    gain: np.ndarray
    brightness: float
    contrast: float
    blur: float
    noise: float
    scene: int
    scene_centre: tuple[float, float]


def random_camera(
    rng: np.random.Generator, index: int, num_photos: int, variation: float = 1.0
) -> Camera:
    """Camera ``index``: its own colour cast and its own scene (photos are shared out in turn).

    ``variation`` scales how far its gains, brightness and contrast are from neutral and its
    blur and noise (0: a perfect camera); the random draws are the same whatever it is.
    """
    gain = rng.uniform(0.8, 1.2, 3)
    camera = Camera(
        gain=(gain / gain.mean()).astype(np.float32),
        brightness=float(rng.uniform(0.7, 1.15)),
        contrast=float(rng.uniform(0.75, 1.1)),
        blur=float(rng.uniform(0.0, 1.1)),
        noise=float(rng.uniform(0.005, 0.03)),
        scene=index % num_photos,
        scene_centre=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))),
    )
    if variation == 1.0:  # the default drawing, untouched by any rounding
        return camera
    return Camera(
        gain=(1.0 + variation * (camera.gain - 1.0)).astype(np.float32),
        brightness=1.0 + variation * (camera.brightness - 1.0),
        contrast=1.0 + variation * (camera.contrast - 1.0),
        blur=variation * camera.blur,
        noise=variation * camera.noise,
        scene=camera.scene,
        scene_centre=camera.scene_centre,
    )


@lru_cache(maxsize=1)
def _photos() -> tuple[Image.Image, ...]:
    """The package's photos as PIL images, loaded once per process."""
    photos = []
    for name in sample_image_names():
        array = (load_sample_image(name).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        photos.append(Image.fromarray(array))
    if not photos:
        raise FileNotFoundError("no sample photos found; the background needs at least one")
    return tuple(photos)


def _background(rng: np.random.Generator, camera: Camera, size: tuple[int, int]) -> Image.Image:
    """A crop of the camera's scene (sometimes of another photo), resized to ``size`` (H, W)."""
    photos = _photos()
    height, width = size
    scene = camera.scene if rng.random() < 0.75 else int(rng.integers(len(photos)))
    photo = photos[scene]
    pw, ph = photo.size
    crop_h = ph * rng.uniform(0.35, 0.8)
    crop_w = crop_h * width / height
    if crop_w > pw:  # a wide request: fit the width instead
        crop_w = pw * rng.uniform(0.6, 1.0)
        crop_h = crop_w * height / width
    cx, cy = camera.scene_centre if scene == camera.scene else rng.uniform(0.3, 0.7, 2)
    x0 = np.clip(cx * pw + rng.normal(0, 0.08) * pw - crop_w / 2, 0, pw - crop_w)
    y0 = np.clip(cy * ph + rng.normal(0, 0.08) * ph - crop_h / 2, 0, ph - crop_h)
    box = (float(x0), float(y0), float(x0 + crop_w), float(y0 + crop_h))
    return photo.resize((width, height), Image.Resampling.BILINEAR, box=box)


def _clutter(rng: np.random.Generator, image: Image.Image) -> None:
    """Draw signs, poles, kerbs and blobs onto ``image`` in place, often in clothing colours."""
    width, height = image.size
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 7))):
        if rng.random() < 0.6:
            colour = CLOTH[rng.integers(len(CLOTH))] * rng.uniform(0.6, 1.0)
        else:
            colour = rng.uniform(0, 1, 3)
        fill = tuple(int(c * 255) for c in colour)
        kind = rng.integers(4)
        x, y = rng.uniform(-0.1, 1.0) * width, rng.uniform(-0.1, 1.0) * height
        if kind == 0:  # a sign or a window
            w, h = rng.uniform(0.1, 0.45) * width, rng.uniform(0.04, 0.2) * height
            draw.rectangle([x, y, x + w, y + h], fill=fill)
        elif kind == 1:  # a pole
            w = rng.uniform(0.03, 0.08) * width
            draw.rectangle([x, 0, x + w, height], fill=fill)
        elif kind == 2:  # a kerb or a rail
            h = rng.uniform(0.01, 0.03) * height
            draw.rectangle([0, y, width, y + h], fill=fill)
        else:  # a blob
            r = rng.uniform(0.05, 0.2) * width
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)


@dataclass(frozen=True)
class Rendered:
    """One image and its ground truth (numpy, as drawn)."""

    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) bool
    parts: np.ndarray  # (3, 4) float32, (x0, y0, x1, y1), head / upper / lower
    box: np.ndarray  # (4,) float32, the whole person, may reach outside the image
    occluded: bool


def _occluder(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A random occluder's pixels (H, W) bool: a bar across the bottom, a pole, or a side block."""
    height, width = size
    hidden = np.zeros(size, dtype=bool)
    kind = rng.integers(3)
    if kind == 0:
        hidden[int(rng.uniform(0.72, 0.86) * height) :, :] = True
    elif kind == 1:
        w = max(int(rng.uniform(0.06, 0.16) * width), 1)
        x = int(rng.uniform(0.2, 0.8) * width - w / 2)
        hidden[:, max(x, 0) : x + w] = True
    else:
        w = max(int(rng.uniform(0.15, 0.32) * width), 1)
        y = int(rng.uniform(0.3, 0.7) * height)
        cols = slice(0, w) if rng.random() < 0.5 else slice(width - w, width)
        hidden[y:, cols] = True
    return hidden


def render_image(
    rng: np.random.Generator,
    look: Look,
    camera: Camera,
    size: tuple[int, int],
    passers_by: list[Look],
    *,
    occlusion: float,
    distractors: float,
    misalignment: float,
) -> Rendered:
    """Draw one image of the person ``look`` seen by ``camera``; ``size`` is (H, W).

    People are pasted as material maps into two (H, W) uint8 canvases, ``layer`` (0 background,
    1 the person, 2.. other people) and ``material``; colours are looked up once at the end.
    """
    height, width = size
    background = _background(rng, camera, size)
    _clutter(rng, background)

    # The main person: scale and the detector's misalignment of the box.
    person_h = height * rng.uniform(0.72, 0.92)
    centre_x = width / 2 + misalignment * rng.uniform(-1, 1) * 0.18 * width
    slack = (height - person_h) / 2
    top = slack + misalignment * rng.uniform(-1, 1) * (slack + 0.05 * person_h)
    person = draw_person(look, random_pose(rng), person_h)
    corner = (int(round(top - person.anchor[1])), int(round(centre_x - person.anchor[0])))
    looks, corners, sprites = [look], [corner], [person]

    # Passers-by at the left and right edges, behind or (sometimes) in front.
    in_front = []
    if rng.random() < distractors:
        for _ in range(int(rng.integers(1, 3))):
            other_h = person_h * rng.uniform(0.85, 1.15)
            other_look = passers_by[int(rng.integers(len(passers_by)))]
            other = draw_person(other_look, random_pose(rng), other_h)
            edge = rng.uniform(-0.12, 0.1) * width
            other_x = edge if rng.random() < 0.5 else width - edge
            other_top = rng.uniform(-0.1, 0.15) * height
            looks.append(other_look)
            corners.append((round(other_top - other.anchor[1]), round(other_x - other.anchor[0])))
            sprites.append(other)
            in_front.append(rng.random() < 0.3)

    layer = np.zeros(size, dtype=np.uint8)
    material = np.zeros(size, dtype=np.uint8)
    order = [k for k in range(1, len(sprites)) if not in_front[k - 1]] + [0]
    order += [k for k in range(1, len(sprites)) if in_front[k - 1]]
    drawn = np.zeros(size, dtype=bool)  # the person's pixels before anything hides them
    for k in order:
        where = paste(layer, sprites[k].materials, corners[k])
        if where is None:
            if k == 0:  # cannot happen with the ranges above; say so if they change
                raise RuntimeError(f"person drawn outside the image: corner {corner}, size {size}")
            continue
        canvas_slices, sprite_slices = where
        ink = sprites[k].materials[sprite_slices]
        opaque = ink > 0
        if k == 0:
            drawn[canvas_slices] = opaque
            person_where, person_ink = where, ink
        elif in_front[k - 1]:  # drawn after the person: may hide them
            mask_now = layer == 1
            cover = np.zeros(size, dtype=bool)
            cover[canvas_slices] = opaque
            if (cover & mask_now).sum() > 0.4 * mask_now.sum():  # would hide too much
                continue
        layer[canvas_slices][opaque] = k + 1
        material[canvas_slices][opaque] = ink[opaque]
    mask = layer == 1

    hidden = None
    if rng.random() < occlusion:
        hidden = _occluder(rng, size)
        if (hidden & mask).sum() > 0.5 * mask.sum():  # would hide too much: no occluder
            hidden = None
        else:
            mask &= ~hidden

    rgb = _colour(layer, material, looks, corners, sprites, background)
    if hidden is not None:
        colour = CLOTH[rng.integers(len(CLOTH))] * rng.uniform(0.5, 1.0)
        ramp = np.linspace(0.8, 1.1, height, dtype=np.float32)[:, None, None]
        rgb = np.where(hidden[..., None], np.clip(colour * ramp, 0, 1), rgb).astype(np.float32)

    canvas_slices, _ = person_where
    parts = np.zeros((3, 4), dtype=np.float32)
    part_of_pixel = PART_OF_MATERIAL[person_ink]
    for k in range(3):
        parts[k] = _bounding_box(size, canvas_slices, part_of_pixel == k + 1)
    rows = np.flatnonzero(person.materials.any(axis=1))
    cols = np.flatnonzero(person.materials.any(axis=0))
    box = np.array(
        [
            corner[1] + cols[0],
            corner[0] + rows[0],
            corner[1] + cols[-1] + 1,
            corner[0] + rows[-1] + 1,
        ],
        dtype=np.float32,
    )
    image = _camera(rng, camera, rgb)
    return Rendered(image, mask, parts, box, bool((drawn & ~mask).any()))


def _colour(
    layer: np.ndarray,
    material: np.ndarray,
    looks: list[Look],
    corners: list[tuple[int, int]],
    sprites: list[Sprite],
    background: Image.Image,
) -> np.ndarray:
    """Colour the people over the background: (H, W, 3) float32 in [0, 1].

    Each person is shaded darker away from their body's axis (a round body, a cue of shape
    rather than identity).
    """
    palettes = np.zeros((len(looks) + 1, NUM_MATERIALS, 3), dtype=np.float32)
    axis_x = np.zeros(len(looks) + 1, dtype=np.float32)
    reach = np.ones(len(looks) + 1, dtype=np.float32)
    for k, (look, (_, x), sprite) in enumerate(zip(looks, corners, sprites, strict=True)):
        palettes[k + 1] = palette(look)
        axis_x[k + 1] = x + sprite.anchor[0]
        reach[k + 1] = 0.16 * sprite.height
    people = palettes[layer, material]
    columns = np.arange(layer.shape[1], dtype=np.float32)[None, :]
    distance = np.minimum(np.abs(columns - axis_x[layer]) / reach[layer], 1.4)
    people *= (1.0 - 0.28 * distance * distance)[..., None]
    rgb = np.asarray(background, dtype=np.float32) * np.float32(1 / 255)
    return np.where((layer > 0)[..., None], people, rgb)


def _bounding_box(
    size: tuple[int, int], slices: tuple[slice, slice], pixels: np.ndarray
) -> np.ndarray:
    """(x0, y0, x1, y1) of ``pixels`` placed at ``slices`` on an (H, W) canvas (x1, y1
    exclusive)."""
    rows = np.flatnonzero(pixels.any(axis=1))
    cols = np.flatnonzero(pixels.any(axis=0))
    if rows.size == 0:
        raise RuntimeError("a body part fell entirely outside the image")
    y, x = slices[0].start, slices[1].start
    return np.array(
        [x + cols[0], y + rows[0], x + cols[-1] + 1, y + rows[-1] + 1], dtype=np.float32
    )


def _camera(rng: np.random.Generator, camera: Camera, rgb: np.ndarray) -> np.ndarray:
    """The camera's colour cast, brightness, contrast, noise and blur: (H, W, 3) float -> uint8."""
    gain = camera.gain * rng.normal(1.0, 0.03, 3).astype(np.float32)
    scale = gain * np.float32(camera.brightness * rng.uniform(0.9, 1.1) * camera.contrast * 255)
    shift = (
        np.float32(rgb.mean() * (1 - camera.contrast)) / camera.contrast
    )  # contrast about the mean
    noise = rng.standard_normal(rgb.shape, dtype=np.float32) * np.float32(camera.noise)
    out = (rgb + noise + shift) * scale
    image = Image.fromarray(np.clip(out, 0.0, 255.0).astype(np.uint8))
    blur = camera.blur * rng.uniform(0.8, 1.2)
    if blur >= 0.3:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image)


@dataclass(frozen=True)
class Identity:
    """One identity: its look, its family (identities that share all but one part) and the
    part in which it differs from the family's first member ("" for that first member)."""

    look: Look
    family: int
    differs_in: str


def make_identities(
    rng: np.random.Generator, count: int, near_twins: float = 0.7
) -> list[Identity]:
    """``count`` identities in families of one to three; each later member of a family differs
    from the first in one part only (the shoes, the logo or the hat)."""
    identities: list[Identity] = []
    family = 0
    while len(identities) < count:
        base = random_look(rng)
        identities.append(Identity(base, family, ""))
        for _ in range(int(rng.choice(3, p=_family_sizes(near_twins)))):
            look, part = sibling_look(base, rng)
            identities.append(Identity(look, family, part))
        family += 1
    return identities[:count]


def _family_sizes(near_twins: float) -> list[float]:
    """Probabilities of families of one, two and three identities."""
    if near_twins == 0.7:  # the default, written out so its stream never changes by rounding
        return [0.3, 0.4, 0.3]
    return [1.0 - near_twins, near_twins * 4 / 7, near_twins * 3 / 7]


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


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
            _check_positive(name, value)
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
        if not 0.0 <= float(camera_variation) <= 1.0:
            raise ValueError(f"camera_variation must be in [0, 1], got {camera_variation!r}")
        if not 0.0 <= float(misalignment) <= 1.0:
            raise ValueError(f"misalignment must be in [0, 1], got {misalignment!r}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

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
            random_camera(streams[0], c, len(_photos()), camera_variation)
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
            drawn = render_image(
                rng,
                identities[identity].look,
                self.cameras[camid],
                self.size,
                passers_by,
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


PART_COLOURS = ("tab:red", "tab:green", "tab:blue")


def show_pedestrians(
    dataset: SyntheticPedestrians, indices: list[int] | None = None, columns: int = 8
) -> Figure:
    """A grid of examples for a lesson: each image with its mask's outline (white), its part
    boxes (head red, upper body green, lower body blue) and its box centre (the true offset,
    a white cross); titled with pid and camera. Returns the matplotlib Figure.

    ``indices`` defaults to the first ``columns`` items.
    """
    if columns <= 0:
        raise ValueError(f"columns must be positive, got {columns}")
    indices = list(range(min(columns, len(dataset)))) if indices is None else list(indices)
    if not indices:
        raise ValueError("no examples to show: indices is empty")
    rows = (len(indices) + columns - 1) // columns
    cols = min(columns, len(indices))
    height, width = dataset.size
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.3 * cols, 1.3 * rows * height / width), squeeze=False
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, index in zip(axes.flat, indices, strict=False):
        item = dataset[index]
        ax.imshow(item["img"].permute(1, 2, 0).numpy())
        ax.contour(item["mask"].numpy().astype(float), levels=[0.5], colors="white", linewidths=0.8)
        for colour, (x0, y0, x1, y1) in zip(PART_COLOURS, item["parts"].tolist(), strict=True):
            # Boxes are in pixel edges; imshow puts pixel centres at integers.
            ax.add_patch(
                Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=colour, lw=1.2)
            )
        dx, dy = item["offset"].tolist()
        ax.plot((dx + 1) * width / 2 - 0.5, (dy + 1) * height / 2 - 0.5, "w+", ms=8, mew=1.5)
        ax.set_title(f"id {item['pid']} cam {item['camid']}", fontsize=8)
    fig.tight_layout()
    return fig


def time_generation(seed: int = 0, **options: Any) -> list[dict[str, Any]]:
    """Build each split once with ``options`` and time it: one dict per split with ``images``,
    ``wall_s``, ``cpu_s`` (this process's CPU time; drawing is single-threaded, so it is the
    wall time the split would take on an idle core) and the load average before it."""
    _photos()  # reading the photos once is not part of a split's cost
    rows = []
    for split in SPLITS:
        load = os.getloadavg()[0]
        cpu, wall = time.process_time(), time.perf_counter()
        dataset = SyntheticPedestrians(split, seed, **options)
        rows.append(
            {
                "split": split,
                "images": len(dataset),
                "identities": dataset.num_pids,
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "load_before": load,
            }
        )
    return rows


def fixed_descriptors(stacked: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Four descriptors that need no training, from a split's ``tensors()``: each (N, D).

    ``pixels``: the image at 16×8, mean-centred; ``stripe_histograms``: 64-colour histograms of
    three horizontal stripes; ``masked_histograms``: the same counting only the person's pixels
    (the true mask); ``part_colours``: the mean colour of the person in the top and bottom half
    of each part box. The last two cheat with the ground truth: they show what colour can do once
    the person is found.
    """
    images = stacked["img"].float() / 255.0
    n, _, height, _ = images.shape
    pixels = F.interpolate(images, size=(16, 8), mode="area").flatten(1)
    levels = (images * 3.999).long()  # 4 levels per channel, 64 colours
    code = levels[:, 0] * 16 + levels[:, 1] * 4 + levels[:, 2]
    whole = torch.ones(images.shape[0], *images.shape[2:])
    histograms = {}
    for name, weight in (
        ("stripe_histograms", whole),
        ("masked_histograms", stacked["mask"].float()),
    ):
        stripes = []
        for k in range(3):
            rows = slice(k * height // 3, (k + 1) * height // 3)
            counts = torch.zeros(n, 64).scatter_add_(
                1, code[:, rows].flatten(1), weight[:, rows].flatten(1)
            )
            stripes.append(F.normalize(counts.sqrt(), dim=1))
        histograms[name] = torch.cat(stripes, 1)
    ys = torch.arange(height, dtype=torch.float32)[None, :, None]
    xs = torch.arange(images.shape[3], dtype=torch.float32)[None, None, :]
    halves = []
    for k in range(3):
        x0, y0, x1, y1 = (stacked["parts"][:, k, j, None, None] for j in range(4))
        inside = (xs >= x0) & (xs < x1) & stacked["mask"]
        middle = (y0 + y1) / 2
        for rows in ((ys >= y0) & (ys < middle), (ys >= middle) & (ys < y1)):
            weight = (inside & rows).float()
            total = weight.sum((1, 2)).clamp(min=1.0)[:, None]
            halves.append((images * weight[:, None]).sum((2, 3)) / total)
    return {
        "pixels": F.normalize(pixels - pixels.mean(1, keepdim=True), dim=1),
        **histograms,
        "part_colours": torch.cat(halves, 1),
    }


def difficulty_probe(seed: int = 0, **options: Any) -> dict[str, dict[str, float]]:
    """Rank-1 and mAP of :func:`fixed_descriptors` on the test split (query against gallery,
    nearest neighbour, the standard protocol), for the set ``SyntheticPedestrians(..., **options)``.

    How hard a setting is before any training: see the table in docs/reid.md.
    """
    from .metrics import evaluate_ranking, pairwise_distance

    query = SyntheticPedestrians("query", seed, **options).tensors()
    gallery = SyntheticPedestrians("gallery", seed, **options).tensors()
    q_features, g_features = fixed_descriptors(query), fixed_descriptors(gallery)
    results = {}
    for name in q_features:
        distances = pairwise_distance(q_features[name], g_features[name])
        ranking = evaluate_ranking(
            distances, query["pid"], gallery["pid"], query["camid"], gallery["camid"]
        )
        results[name] = {"rank1": ranking.rank(1), "mAP": ranking.mAP}
    return results
