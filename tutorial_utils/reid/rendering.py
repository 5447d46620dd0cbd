"""One synthetic pedestrian image: cameras, backgrounds cut from the package's photos, clutter,
occluders, passers-by, and the identities (looks and near-twin families) a data set draws.

``render_image`` (one image with its exact mask, part boxes and box) is what
``synthetic.SyntheticPedestrians`` calls once per image; the people themselves are drawn by
``drawing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..common.images import load_sample_image, sample_image_names
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
def photos() -> tuple[Image.Image, ...]:
    """The package's photos as PIL images, loaded once per process (the scenes to draw on)."""
    loaded = []
    for name in sample_image_names():
        array = (load_sample_image(name).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        loaded.append(Image.fromarray(array))
    if not loaded:
        raise FileNotFoundError("no sample photos found; the background needs at least one")
    return tuple(loaded)


def _background(rng: np.random.Generator, camera: Camera, size: tuple[int, int]) -> Image.Image:
    """A crop of the camera's scene (sometimes of another photo), resized to ``size`` (H, W)."""
    scenes = photos()
    height, width = size
    scene = camera.scene if rng.random() < 0.75 else int(rng.integers(len(scenes)))
    photo = scenes[scene]
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
