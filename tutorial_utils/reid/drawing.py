"""Drawing primitives for the synthetic pedestrians: a person's look, a pose, one drawn person.

A person is drawn with PIL's C primitives into a *material map*: a small uint8 image whose values
say what each pixel is (skin, hair, shirt, ...). Colours, patterns and shading are then applied
with numpy in one pass. Because every pixel's material is known, the person's mask and the boxes of
the head, upper body and lower body are exact, not estimated.

Geometry is in body units: ``u`` across (0 is the body's axis, positive to the person's left as
drawn when not mirrored), ``v`` down (0 is the top of the head, 1 the soles), both times the
person's height in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# Materials, the values of a material map; 0 is "not this person".
SKIN, HAIR, HAT, SHIRT, STRIPE, ARM_SKIN, LOGO, BAG, LOWER, LEG_SKIN, SHOES = range(1, 12)
NUM_MATERIALS = 12
# Which body part (1 head, 2 upper body, 3 lower body) each material belongs to.
PART_OF_MATERIAL = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3], dtype=np.uint8)
# The parts' names, in the order of PART_OF_MATERIAL's 1, 2, 3 (and of every parts tensor).
PART_NAMES = ("head", "upper", "lower")

# Colours people wear, RGB in [0, 1]. Few and shared, so identities collide on most attributes.
CLOTH = np.array(
    [
        (0.92, 0.92, 0.90),  # 0 white
        (0.68, 0.68, 0.68),  # 1 light grey
        (0.36, 0.36, 0.38),  # 2 dark grey
        (0.10, 0.10, 0.11),  # 3 black
        (0.13, 0.17, 0.36),  # 4 navy
        (0.22, 0.36, 0.70),  # 5 blue
        (0.56, 0.70, 0.88),  # 6 light blue
        (0.29, 0.39, 0.56),  # 7 denim
        (0.76, 0.16, 0.15),  # 8 red
        (0.46, 0.11, 0.13),  # 9 dark red
        (0.20, 0.50, 0.26),  # 10 green
        (0.45, 0.45, 0.22),  # 11 olive
        (0.92, 0.80, 0.26),  # 12 yellow
        (0.90, 0.50, 0.16),  # 13 orange
        (0.90, 0.60, 0.70),  # 14 pink
        (0.45, 0.26, 0.56),  # 15 purple
        (0.80, 0.72, 0.55),  # 16 beige
        (0.45, 0.30, 0.18),  # 17 brown
    ],
    dtype=np.float32,
)
# How often each cloth colour is chosen, per garment (street clothing is mostly dark and neutral).
SHIRT_WEIGHTS = np.array([6, 4, 4, 5, 3, 3, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1], dtype=np.float64)
LOWER_WEIGHTS = np.array([1, 1, 4, 6, 4, 1, 2, 6, 0, 0, 0, 1, 0, 0, 0, 0, 3, 2], dtype=np.float64)
SHOE_WEIGHTS = np.array([5, 2, 2, 6, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 3], dtype=np.float64)
ACCESSORY_WEIGHTS = np.ones(len(CLOTH), dtype=np.float64)

SKIN_TONES = np.array(
    [
        (0.96, 0.80, 0.69),
        (0.90, 0.72, 0.56),
        (0.78, 0.57, 0.42),
        (0.55, 0.38, 0.26),
        (0.38, 0.26, 0.18),
    ],
    dtype=np.float32,
)
HAIR_COLOURS = np.array(
    [
        (0.08, 0.07, 0.06),
        (0.25, 0.16, 0.09),
        (0.45, 0.30, 0.16),
        (0.83, 0.70, 0.45),
        (0.60, 0.60, 0.60),
    ],
    dtype=np.float32,
)
HAIR_WEIGHTS = np.array([5, 4, 2, 1, 1], dtype=np.float64)

# Shirt patterns.
PLAIN, H_STRIPES, V_STRIPES, BAND = range(4)
# Lower garments.
TROUSERS, SHORTS, SKIRT = range(3)
# Hats, bags, logos (0 is "none" for each).
CAP, BEANIE = 1, 2
BACKPACK, SHOULDER_BAG = 1, 2
SQUARE, DISC, TRIANGLE = 1, 2, 3


@dataclass(frozen=True)
class Look:
    """What stays the same in every image of one identity: colours (RGB in [0, 1]), garments,
    accessories and build."""

    skin: np.ndarray
    hair: np.ndarray
    long_hair: bool
    shirt: np.ndarray
    pattern: int
    stripe: np.ndarray  # the pattern's second colour
    stripe_period: float  # in body units
    long_sleeves: bool
    lower: np.ndarray
    lower_kind: int
    shoes: np.ndarray
    hat: int
    hat_colour: np.ndarray
    bag: int
    bag_colour: np.ndarray
    logo: int
    logo_colour: np.ndarray
    build: float  # width factor, about 1


@dataclass(frozen=True)
class Pose:
    """What changes from image to image for one person."""

    mirrored: bool
    back_view: bool  # seen from behind: no face, no logo, the backpack over the shirt
    stride: float  # how far the feet are apart, body units
    arm_out: tuple[float, float]  # each arm's angle away from the body, radians
    elbow: tuple[float, float]  # each forearm's extra bend, radians


def _cloth(rng: np.random.Generator, weights: np.ndarray, jitter: float = 0.03) -> np.ndarray:
    """A cloth colour drawn from the shared palette, with a small fixed shade of its own."""
    index = rng.choice(len(CLOTH), p=weights / weights.sum())
    return np.clip(CLOTH[index] + rng.normal(0.0, jitter, 3), 0.0, 1.0).astype(np.float32)


def random_look(rng: np.random.Generator) -> Look:
    """A random identity's look; most attributes come from small shared palettes."""
    pattern = int(rng.choice(4, p=[0.55, 0.2, 0.1, 0.15]))
    hat = int(rng.choice(3, p=[0.75, 0.15, 0.1]))
    bag = int(rng.choice(3, p=[0.6, 0.25, 0.15]))
    logo = int(rng.choice(4, p=[0.6, 0.14, 0.13, 0.13]))
    return Look(
        skin=np.clip(
            SKIN_TONES[rng.integers(len(SKIN_TONES))] + rng.normal(0, 0.02, 3), 0, 1
        ).astype(np.float32),
        hair=HAIR_COLOURS[rng.choice(len(HAIR_COLOURS), p=HAIR_WEIGHTS / HAIR_WEIGHTS.sum())],
        long_hair=bool(rng.random() < 0.3),
        shirt=_cloth(rng, SHIRT_WEIGHTS),
        pattern=pattern,
        stripe=_cloth(rng, SHIRT_WEIGHTS),
        stripe_period=float(rng.uniform(0.025, 0.045)),
        long_sleeves=bool(rng.random() < 0.5),
        lower=_cloth(rng, LOWER_WEIGHTS),
        lower_kind=int(rng.choice(3, p=[0.7, 0.15, 0.15])),
        shoes=_cloth(rng, SHOE_WEIGHTS),
        hat=hat,
        hat_colour=_cloth(rng, ACCESSORY_WEIGHTS),
        bag=bag,
        bag_colour=_cloth(rng, ACCESSORY_WEIGHTS),
        logo=logo,
        logo_colour=_cloth(rng, ACCESSORY_WEIGHTS),
        build=float(rng.uniform(0.88, 1.12)),
    )


def sibling_look(look: Look, rng: np.random.Generator) -> tuple[Look, str]:
    """A look that differs from ``look`` in one part only: the shoes, the logo or the hat.

    Returns the new look and the name of the part that changed.
    """
    part = ("shoes", "logo", "hat")[rng.integers(3)]
    if part == "shoes":
        shoes = look.shoes
        while np.abs(shoes - look.shoes).max() < 0.25:  # a visibly different colour
            shoes = _cloth(rng, SHOE_WEIGHTS + 1.0)
        return _replace(look, shoes=shoes), part
    if part == "logo":
        if look.logo == 0:
            return _replace(
                look, logo=int(rng.integers(1, 4)), logo_colour=_cloth(rng, ACCESSORY_WEIGHTS)
            ), part
        if rng.random() < 0.5:
            return _replace(look, logo=0), part
        return _replace(look, logo=1 + look.logo % 3), part  # another shape
    if look.hat == 0:
        return _replace(
            look, hat=int(rng.integers(1, 3)), hat_colour=_cloth(rng, ACCESSORY_WEIGHTS)
        ), part
    return _replace(look, hat=0), part


def _replace(look: Look, **changes: object) -> Look:
    fields = dict(look.__dict__)
    fields.update(changes)
    return Look(**fields)


def random_pose(rng: np.random.Generator) -> Pose:
    """A walking pose: mirrored or not, seen from the front or behind, a stride, arm angles."""
    return Pose(
        mirrored=bool(rng.random() < 0.5),
        back_view=bool(rng.random() < 0.4),
        stride=float(rng.uniform(0.0, 0.13)),
        arm_out=(float(rng.uniform(0.04, 0.4)), float(rng.uniform(0.04, 0.4))),
        elbow=(float(rng.uniform(-0.1, 0.6)), float(rng.uniform(-0.1, 0.6))),
    )


@dataclass(frozen=True)
class Sprite:
    """One drawn person: a material map (h, w) uint8 and where the person's top-centre point
    (the top of the head on the body's axis) lies inside it."""

    materials: np.ndarray
    anchor: tuple[float, float]  # (x, y) in sprite pixels
    height: float  # the person's height in pixels


class _Pen:
    """Draws shapes given in body units onto a material map."""

    def __init__(
        self, size: tuple[int, int], origin: tuple[float, float], height: float, mirrored: bool
    ):
        self.image = Image.new("L", size, 0)
        self.draw = ImageDraw.Draw(self.image)
        self.ox, self.oy = origin
        self.h = height
        self.sign = -1.0 if mirrored else 1.0

    def point(self, u: float, v: float) -> tuple[float, float]:
        return (self.ox + self.sign * u * self.h, self.oy + v * self.h)

    def ellipse(self, u: float, v: float, ru: float, rv: float, material: int) -> None:
        x, y = self.point(u, v)
        rx, ry = max(ru * self.h, 0.5), max(rv * self.h, 0.5)
        self.draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=material)

    def chord_top(self, u: float, v: float, ru: float, rv: float, material: int) -> None:
        """The upper half of an ellipse (a cap's crown)."""
        x, y = self.point(u, v)
        rx, ry = max(ru * self.h, 0.5), max(rv * self.h, 0.5)
        self.draw.chord([x - rx, y - ry, x + rx, y + ry], 180, 360, fill=material)

    def polygon(self, points: list[tuple[float, float]], material: int) -> None:
        self.draw.polygon([self.point(u, v) for u, v in points], fill=material)

    def rect(self, u0: float, v0: float, u1: float, v1: float, material: int) -> None:
        self.polygon([(u0, v0), (u1, v0), (u1, v1), (u0, v1)], material)

    def limb(
        self, a: tuple[float, float], b: tuple[float, float], width: float, material: int
    ) -> None:
        """A thick segment with round ends."""
        w = max(int(round(width * self.h)), 1)
        self.draw.line([self.point(*a), self.point(*b)], fill=material, width=w)
        for u, v in (a, b):
            self.ellipse(u, v, width / 2, width / 2, material)


def draw_person(look: Look, pose: Pose, height: float) -> Sprite:
    """Draw one person ``height`` pixels tall (head top to soles) into a sprite."""
    h = float(height)
    bw = look.build
    width_px = int(np.ceil(0.64 * h * max(bw, 1.0))) + 4  # arms, bag and stride stay within ±0.3
    height_px = int(np.ceil(1.08 * h)) + 4
    anchor = (width_px / 2.0, 0.04 * h + 2.0)
    pen = _Pen((width_px, height_px), anchor, h, pose.mirrored)
    front = not pose.back_view

    if look.long_hair and front:  # hair falling behind the shoulders
        pen.rect(-0.058, 0.07, 0.058, 0.25, HAIR)
    if look.bag == BACKPACK and front:  # the pack shows at the sides of the body
        pen.rect(-0.125 * bw, 0.17, 0.125 * bw, 0.41, BAG)

    # Legs: hip to ankle, then the shoes.
    feet = (-(0.045 + pose.stride * 0.6), 0.045 + pose.stride * 0.4)
    leg_w = 0.078 * bw
    for side, foot in zip((-1.0, 1.0), feet, strict=True):
        hip = (side * 0.042 * bw, 0.48)
        ankle = (foot, 0.95)
        knee = ((hip[0] + ankle[0]) / 2, 0.72)
        if look.lower_kind == TROUSERS:
            pen.limb(hip, knee, leg_w, LOWER)
            pen.limb(knee, ankle, leg_w * 0.92, LOWER)
        else:
            pen.limb(hip, knee, leg_w * 0.85, LEG_SKIN)
            pen.limb(knee, ankle, leg_w * 0.75, LEG_SKIN)
            if look.lower_kind == SHORTS:
                pen.limb(hip, (knee[0], 0.66), leg_w * 1.05, LOWER)
        pen.ellipse(foot + 0.014, 0.972, 0.044, 0.028, SHOES)
    if look.lower_kind != SKIRT:  # the seat between the legs
        pen.polygon(
            [(-0.086 * bw, 0.46), (0.086 * bw, 0.46), (0.06 * bw, 0.56), (-0.06 * bw, 0.56)], LOWER
        )

    # Neck, torso with rounded shoulders.
    pen.rect(-0.024, 0.12, 0.024, 0.17, SKIN)
    pen.polygon(
        [(-0.108 * bw, 0.155), (0.108 * bw, 0.155), (0.088 * bw, 0.49), (-0.088 * bw, 0.49)], SHIRT
    )
    for side in (-1.0, 1.0):
        pen.ellipse(side * 0.092 * bw, 0.175, 0.03 * bw, 0.028, SHIRT)
    if look.lower_kind == SKIRT:
        pen.polygon(
            [(-0.09 * bw, 0.46), (0.09 * bw, 0.46), (0.14 * bw, 0.70), (-0.14 * bw, 0.70)], LOWER
        )
    if look.bag == BACKPACK and not front:
        pen.rect(-0.085 * bw, 0.175, 0.085 * bw, 0.43, BAG)
    if look.bag == BACKPACK and front:  # the straps
        for side in (-1.0, 1.0):
            pen.limb((side * 0.07 * bw, 0.16), (side * 0.075 * bw, 0.36), 0.02, BAG)
    if look.bag == SHOULDER_BAG:
        pen.limb((0.085 * bw, 0.16), (-0.11 * bw, 0.44), 0.018, BAG)
        pen.rect(-0.2 * bw, 0.41, -0.085 * bw, 0.55, BAG)

    # Arms: upper arm in the shirt, forearm in the shirt or bare, a hand.
    for k, side in enumerate((-1.0, 1.0)):
        angle = pose.arm_out[k]
        shoulder = (side * 0.098 * bw, 0.175)
        elbow = (shoulder[0] + side * 0.16 * np.sin(angle), shoulder[1] + 0.16 * np.cos(angle))
        fore = angle - pose.elbow[k] * 0.5
        wrist = (elbow[0] + side * 0.15 * np.sin(fore), elbow[1] + 0.15 * np.cos(fore))
        pen.limb(shoulder, elbow, 0.056 * bw, SHIRT)
        pen.limb(elbow, wrist, 0.048 * bw, SHIRT if look.long_sleeves else ARM_SKIN)
        pen.ellipse(wrist[0], wrist[1] + 0.01, 0.026, 0.03, ARM_SKIN)

    if look.logo and front:
        u, v, r = 0.04 * bw, 0.245, 0.026
        if look.logo == SQUARE:
            pen.rect(u - r, v - r, u + r, v + r, LOGO)
        elif look.logo == DISC:
            pen.ellipse(u, v, r, r, LOGO)
        else:
            pen.polygon([(u - r, v + r), (u + r, v + r), (u, v - r)], LOGO)

    # Head: hair, the face when seen from the front, a hat on top.
    pen.ellipse(0.0, 0.072, 0.056, 0.07, HAIR)
    if look.long_hair and not front:
        pen.rect(-0.058, 0.07, 0.058, 0.24, HAIR)
    if front:
        pen.ellipse(0.0, 0.088, 0.047, 0.056, SKIN)
    if look.hat == CAP:
        pen.chord_top(0.0, 0.052, 0.06, 0.05, HAT)
        pen.rect(-0.06, 0.045, 0.1, 0.058, HAT)
    elif look.hat == BEANIE:
        pen.chord_top(0.0, 0.064, 0.062, 0.064, HAT)
        pen.rect(-0.062, 0.052, 0.062, 0.07, HAT)

    materials = np.array(pen.image, dtype=np.uint8)  # a writable copy
    _apply_pattern(materials, look, anchor, h)
    return Sprite(materials, anchor, h)


def _apply_pattern(
    materials: np.ndarray, look: Look, anchor: tuple[float, float], h: float
) -> None:
    """Turn some shirt pixels into the pattern's second colour (in place)."""
    if look.pattern == PLAIN:
        return
    shirt = materials == SHIRT
    if look.pattern == H_STRIPES:
        rows = ((np.arange(materials.shape[0]) - anchor[1]) / (look.stripe_period * h)).astype(
            int
        ) % 2 == 1
        materials[shirt & rows[:, None]] = STRIPE
    elif look.pattern == V_STRIPES:
        period = look.stripe_period * h * 0.8
        cols = np.floor((np.arange(materials.shape[1]) - anchor[0]) / period).astype(int) % 2 == 1
        materials[shirt & cols[None, :]] = STRIPE
    else:  # a chest band
        rows = (np.arange(materials.shape[0]) - anchor[1]) / h
        band = (rows > 0.27) & (rows < 0.34)
        materials[shirt & band[:, None]] = STRIPE


def palette(look: Look) -> np.ndarray:
    """The colour of each material for this look: (NUM_MATERIALS, 3) float32."""
    colours = np.zeros((NUM_MATERIALS, 3), dtype=np.float32)
    colours[SKIN] = colours[ARM_SKIN] = colours[LEG_SKIN] = look.skin
    colours[HAIR] = look.hair
    colours[HAT] = look.hat_colour
    colours[SHIRT] = look.shirt
    colours[STRIPE] = look.stripe
    colours[LOGO] = look.logo_colour
    colours[BAG] = look.bag_colour
    colours[LOWER] = look.lower
    colours[SHOES] = look.shoes
    return colours


def paste(
    canvas: np.ndarray, sprite_layer: np.ndarray, top_left: tuple[int, int]
) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """Slices that place ``sprite_layer`` (h, w, ...) at ``top_left`` (y, x) on ``canvas``
    (H, W, ...), clipped to the canvas: (canvas slices, sprite slices), or None when nothing
    overlaps."""
    y, x = top_left
    hs, ws = sprite_layer.shape[:2]
    hc, wc = canvas.shape[:2]
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + hs, hc), min(x + ws, wc)
    if y0 >= y1 or x0 >= x1:
        return None
    return (slice(y0, y1), slice(x0, x1)), (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
