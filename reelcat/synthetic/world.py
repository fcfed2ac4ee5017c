"""A procedural world of 18 visual concepts, rendered with vectorised numpy.

Each concept is drawn from a random *layout* (colours, horizon, object positions,
scale, textures, lighting) held by a :class:`Scene`; ``scene.render(t, size)`` draws
that layout at time ``t`` seconds with a moving camera (pan, zoom) and moving parts
(waves, cars, flames, bubbles, players...). Everything is deterministic for a seed::

    rng = np.random.default_rng(0)
    scene = make_scene("beach", rng)
    frame = scene.render(1.5, size=(160, 90))   # uint8 array, 90 x 160 x 3

Some concepts are deliberately confusable (snow field / sky with clouds, fire / city
at night, desert / beach, blood / flower field, sports field / desert, forest /
waterfall, mountain / snow field), and some layouts are "hard" variants that sit
between two concepts, so a small model trained on this world stays honestly
imperfect. ``apply_nuisance`` adds the degradations real footage has (noise, blur,
fades, occlusion).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import numpy as np

CONCEPTS: tuple[str, ...] = (
    "beach",
    "forest",
    "snow field",
    "city at night",
    "fire",
    "underwater",
    "crowd",
    "road with cars",
    "text slide",
    "sports field",
    "kitchen",
    "sky with clouds",
    "desert",
    "mountain",
    "waterfall",
    "flower field",
    "blood",
    "weapon",
)
SENSITIVE_CONCEPTS: tuple[str, ...] = ("blood", "weapon")
NUISANCES: tuple[str, ...] = ("noise", "blur", "fade", "occlusion")

#: Pairs that look alike in this world (used for vocabulary negatives and by tests).
CONFUSABLE: tuple[tuple[str, str], ...] = (
    ("snow field", "sky with clouds"),
    ("fire", "city at night"),
    ("desert", "beach"),
    ("blood", "flower field"),
    ("sports field", "desert"),
    ("forest", "waterfall"),
    ("mountain", "snow field"),
    ("crowd", "sports field"),
    ("underwater", "sky with clouds"),
)

#: Synonyms: the prompts a vocabulary uses for each concept (first is the tag itself).
PROMPTS: dict[str, tuple[str, ...]] = {
    "beach": ("beach", "sandy beach by the sea", "seaside", "shore with waves"),
    "forest": ("forest", "woods", "trees in a forest", "woodland"),
    "snow field": ("snow field", "snowy landscape", "field covered in snow", "winter snow"),
    "city at night": (
        "city at night",
        "night city skyline",
        "lit buildings at night",
        "city lights",
    ),
    "fire": ("fire", "flames", "burning fire", "blaze"),
    "underwater": ("underwater", "under the sea", "underwater scene with fish", "ocean water"),
    "crowd": ("crowd", "crowd of people", "many people", "audience"),
    "road with cars": ("road with cars", "traffic", "cars on a road", "street with traffic"),
    "text slide": ("text slide", "slide with text", "presentation slide", "title card"),
    "sports field": ("sports field", "football pitch", "sports game on a field", "stadium field"),
    "kitchen": ("kitchen", "kitchen interior", "kitchen counter", "cooking area"),
    "sky with clouds": ("sky with clouds", "cloudy sky", "clouds", "blue sky"),
    "desert": ("desert", "sand dunes", "desert landscape", "dry desert"),
    "mountain": ("mountain", "mountains", "mountain range", "rocky peaks"),
    "waterfall": ("waterfall", "falling water", "cascade", "waterfall over rocks"),
    "flower field": ("flower field", "field of flowers", "meadow with flowers", "blooming flowers"),
    "blood": ("blood", "blood stains", "pool of blood", "bloody scene"),
    "weapon": ("weapon", "gun", "knife", "firearm"),
}

#: Free phrasings, used as training captions besides the templates.
PHRASES: dict[str, tuple[str, ...]] = {
    "beach": (
        "waves rolling onto a sandy beach",
        "a sunny day at the beach",
        "umbrellas on the sand by the sea",
        "the coast with blue water and sand",
    ),
    "forest": (
        "tall trees in a green forest",
        "a walk through the woods",
        "tree trunks and leaves",
        "dense woodland",
    ),
    "snow field": (
        "a white field of snow",
        "snow covered ground in winter",
        "a cold snowy plain",
        "tracks in the snow",
    ),
    "city at night": (
        "skyscrapers with lit windows at night",
        "a city skyline after dark",
        "buildings glowing at night",
        "downtown at night",
    ),
    "fire": (
        "orange flames burning",
        "a fire burning in the dark",
        "a campfire",
        "a building on fire",
    ),
    "underwater": (
        "fish swimming under water",
        "bubbles rising in the ocean",
        "a blue underwater world",
        "diving under the sea",
    ),
    "crowd": (
        "a large crowd of people",
        "people gathered together",
        "an audience at a concert",
        "a busy crowd",
    ),
    "road with cars": (
        "cars driving on a road",
        "a busy highway",
        "traffic on the street",
        "vehicles on a road",
    ),
    "text slide": (
        "a slide with lines of text",
        "a title screen with words",
        "a presentation slide",
        "text on a plain background",
    ),
    "sports field": (
        "players on a football field",
        "a green pitch with white lines",
        "a sports match",
        "a playing field in a stadium",
    ),
    "kitchen": (
        "a kitchen with cabinets and a counter",
        "pots on a stove",
        "the inside of a kitchen",
        "a home kitchen",
    ),
    "sky with clouds": (
        "white clouds in a blue sky",
        "clouds drifting across the sky",
        "an overcast sky",
        "looking up at the clouds",
    ),
    "desert": (
        "sand dunes in the desert",
        "a hot dry desert",
        "an empty desert landscape",
        "orange dunes under the sun",
    ),
    "mountain": (
        "snowy mountain peaks",
        "a mountain range",
        "rocky mountains",
        "a view of the mountains",
    ),
    "waterfall": (
        "water falling over a cliff",
        "a waterfall in the rocks",
        "a cascade of white water",
        "a waterfall into a pool",
    ),
    "flower field": (
        "a meadow full of flowers",
        "colourful flowers in a field",
        "rows of blooming flowers",
        "wildflowers in the grass",
    ),
    "blood": (
        "blood on the floor",
        "red blood stains",
        "a pool of blood",
        "blood splatter on a wall",
    ),
    "weapon": ("a handgun on a table", "a knife", "a gun", "a rifle"),
}

_F = np.float32


# ----------------------------------------------------------------------------- noise


@cache
def _textures(n_tex: int = 4, size: int = 128, seed: int = 20261128) -> np.ndarray:
    """Tileable 1/f^beta noise textures, standardised (mean 0, std 1)."""
    rng = np.random.default_rng(seed)
    fx = np.fft.fftfreq(size)[:, None]
    fy = np.fft.fftfreq(size)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    out = []
    for beta in (1.1, 1.5, 2.0, 2.6)[:n_tex]:
        spec = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / f**beta
        spec[0, 0] = 0
        img = np.real(np.fft.ifft2(spec))
        out.append((img - img.mean()) / img.std())
    return np.stack(out).astype(_F)


@cache
def _padded_textures() -> np.ndarray:
    tex = _textures()
    return np.ascontiguousarray(np.pad(tex, ((0, 0), (0, 1), (0, 1)), mode="wrap"))


def _noise(k: int, x, y) -> np.ndarray:
    """Bilinear sample of texture ``k`` at (x, y) in texture periods (wraps)."""
    tex = _padded_textures()[k]
    n = tex.shape[0] - 1
    flat = tex.reshape(-1)
    x = np.asarray(x, dtype=_F) * _F(n)
    y = np.asarray(y, dtype=_F) * _F(n)
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = x - x0
    fy = y - y0
    idx = (y0.astype(np.intp) & (n - 1)) * (n + 1) + (x0.astype(np.intp) & (n - 1))
    a = flat.take(idx)
    b = flat.take(idx + 1)
    c = flat.take(idx + (n + 1))
    d = flat.take(idx + (n + 2))
    top = a + (b - a) * fx
    bot = c + (d - c) * fx
    return top + (bot - top) * fy


def _hash(i, j, salt: int, k: int = 0) -> np.ndarray:
    """Deterministic per-cell random numbers in [0, 1) for integer cells (i, j)."""
    x = (
        np.asarray(i, dtype=np.int64) * 374761393
        + np.asarray(j, dtype=np.int64) * 668265263
        + (salt * 2654435761 + k * 1013904223)
    ) & 0xFFFFFFFF
    x = ((x ^ (x >> 13)) * 1274126177) & 0xFFFFFFFF
    x = ((x ^ (x >> 16)) * 2246822519) & 0xFFFFFFFF
    x = x ^ (x >> 15)
    return (x & 0xFFFFFF).astype(_F) / _F(16777216.0)


# ----------------------------------------------------------------------------- helpers

# Images are planar float32 arrays of shape (3, H, W) while drawing (channels first keeps
# numpy's inner loops contiguous); colours are (3, 1, 1) so they broadcast over pixels.


def _col(c) -> np.ndarray:
    return np.asarray(c, dtype=_F).reshape(3, 1, 1)


def _jit(r: np.random.Generator, c, amt: float = 0.07) -> np.ndarray:
    return np.clip(_col(c) + r.uniform(-amt, amt, 3).reshape(3, 1, 1), 0, 1).astype(_F)


def _pal(cols) -> np.ndarray:
    """A palette of colours as a (3, n) array: index with ``pal[:, k]``."""
    return np.stack([np.asarray(c, dtype=_F).reshape(3) for c in cols], 1)


def _clip01(x):
    return np.clip(x, 0.0, 1.0)


def _smooth(e0: float, e1: float, x):
    t = _clip01((x - e0) / (e1 - e0))
    return t * t * (3 - 2 * t)


def _blend(img: np.ndarray, alpha, color) -> None:
    """img <- img + alpha * (color - img); alpha broadcastable to HxW, colour (3,1,1) or 3xHxW."""
    a = np.asarray(alpha, dtype=_F)
    img += a * (color - img)


def _inside(d, px):
    """Soft coverage of a shape from its signed distance (negative inside)."""
    return _clip01(0.5 - d / px)


def _fill_gradient(img: np.ndarray, v, top, bottom, v0: float, v1: float) -> None:
    s = _clip01((v - v0) / max(v1 - v0, 1e-3))
    img[...] = top + (bottom - top) * s


def _rot(u, v, cx, cy, ang):
    c, s = np.cos(ang), np.sin(ang)
    du = u - cx
    dv = v - cy
    return du * c + dv * s, -du * s + dv * c


def _box(u, v, cx, cy, hw, hh):
    """Signed distance to an axis-aligned box."""
    dx = np.abs(u - cx) - hw
    dy = np.abs(v - cy) - hh
    return np.maximum(dx, dy)


# ----------------------------------------------------------------------------- scenes
# Each concept has a layout function (rng -> params dict) and a draw function
# (params, img, u, v, t, px). u runs left->right (0 = centre of the canonical view,
# about +-0.9 at 16:9), v top->bottom (0..1 in the canonical view); px is one pixel in
# scene units. The layout key "hard" marks a variant that sits near another concept.

_Layout = Callable[[np.random.Generator], dict]
_Draw = Callable[[dict, np.ndarray, np.ndarray, np.ndarray, float, float], None]
_REGISTRY: dict[str, tuple[_Layout, _Draw, bool]] = {}


def _concept(name: str, extended: bool = True):
    def deco(pair):
        _REGISTRY[name] = (pair[0], pair[1], extended)
        return pair

    return deco


def _sky_layout(r: np.random.Generator, kind: str | None = None) -> dict:
    kind = kind or r.choice(["blue", "blue", "pale", "sunset", "overcast"])
    tops = {
        "blue": (0.2, 0.45, 0.85),
        "pale": (0.55, 0.72, 0.92),
        "sunset": (0.35, 0.35, 0.65),
        "overcast": (0.62, 0.64, 0.68),
    }
    bots = {
        "blue": (0.65, 0.82, 0.98),
        "pale": (0.85, 0.9, 0.96),
        "sunset": (0.98, 0.65, 0.4),
        "overcast": (0.8, 0.81, 0.83),
    }
    return dict(
        sky_top=_jit(r, tops[kind]),
        sky_bot=_jit(r, bots[kind]),
        sky_kind=kind,
        clouds=r.uniform(0.0, 0.5) if r.random() < 0.6 else 0.0,
        cloud_off=r.uniform(0, 1, 2).astype(_F),
        wind=r.uniform(-0.03, 0.03),
    )


def _draw_sky(p: dict, img, u, v, t, px, v_end: float) -> None:
    _fill_gradient(img, v, p["sky_top"], p["sky_bot"], -0.2, v_end)
    cov = p["clouds"]
    if cov > 0:
        ox, oy = p["cloud_off"]
        n = (
            _noise(2, (u + p["wind"] * t) * 0.45 + ox, v * 1.1 + oy) * 0.7
            + _noise(0, u * 1.7 + ox, v * 3.0 + oy) * 0.3
        )
        a = _smooth(1.1 - 2.2 * cov, 1.5 - 2.2 * cov, n) * _smooth(v_end + 0.02, v_end - 0.15, v)
        shade = _F(0.97) - 0.15 * _clip01(n * 0.3)
        cloud = np.stack(np.broadcast_arrays(shade, shade, shade + 0.02), 0)
        _blend(img, a * 0.95, cloud)


# -- beach
def _lay_beach(r):
    p = _sky_layout(r, r.choice(["blue", "blue", "pale", "sunset"]))
    p["hz"] = r.uniform(0.25, 0.5)
    hard = r.random() < 0.2  # sea almost out of view: sand dominates, like a desert
    p["hard"] = hard
    p["shore"] = p["hz"] + (r.uniform(0.015, 0.05) if hard else r.uniform(0.1, 0.35))
    p["sea"] = _jit(r, (0.05, 0.4, 0.58))
    p["sea2"] = _jit(r, (0.15, 0.62, 0.7))
    p["sand"] = _jit(r, (0.9, 0.8, 0.6), 0.06)
    p["wave_f"] = r.uniform(5, 14)
    p["umb"] = r.uniform(0.15, 0.35) if r.random() < 0.6 else 0.0
    p["umb_cols"] = [_jit(r, c, 0.1) for c in ((0.9, 0.2, 0.2), (0.95, 0.8, 0.1), (0.2, 0.5, 0.9))]
    p["salt"] = int(r.integers(1 << 30))
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


def _draw_beach(p, img, u, v, t, px):
    hz, sh = p["hz"], p["shore"]
    _draw_sky(p, img, u, v, t, px, hz)
    ox, oy = p["off"]
    sea_a = _inside(hz - v, px)
    depth = _clip01((v - hz) / max(sh - hz, 1e-3))
    waves = 0.5 + 0.5 * np.sin(
        (v - hz) * 120 / (0.3 + depth) + _noise(1, u * 2 + ox, v * 2) * 2 + t * 2.0
    )
    sea = p["sea"] + (p["sea2"] - p["sea"]) * (depth * 0.7 + 0.3 * waves)
    _blend(img, sea_a, sea)
    line = sh + 0.012 * np.sin(u * p["wave_f"] + t * 1.3) + 0.006 * np.sin(u * 23 - t * 2.1)
    sand_a = _inside(line - v, px)
    grain = _noise(0, u * 6 + ox, v * 6 + oy) * 0.04 + _noise(2, u * 0.8, v * 0.8 + oy) * 0.05
    sand = p["sand"] + grain - 0.08 * _clip01((v - sh) * 2)
    _blend(img, sand_a, sand)
    foam = np.exp(-(((v - line) / 0.012) ** 2)) * 0.8
    _blend(img, foam, _col((0.97, 0.98, 1.0)))
    if p["umb"] > 0:
        cw = 0.45
        ci = np.floor(u / cw)
        on = _hash(ci, 0, p["salt"]) < p["umb"] * 2.0
        cu = (ci + 0.3 + 0.4 * _hash(ci, 1, p["salt"])) * cw
        cv = sh + 0.05 + 0.25 * _hash(ci, 2, p["salt"]) * (1 - sh)
        rad = 0.05 + 0.03 * _hash(ci, 3, p["salt"])
        d_canopy = np.maximum(np.hypot(u - cu, (v - cv) * 1.6) - rad, v - cv)
        d_pole = _box(u, v, cu, cv + rad * 0.9, 0.004, rad * 0.9)
        k = (_hash(ci, 4, p["salt"]) * 3).astype(np.int64) % 3
        cols = _pal(p["umb_cols"])[:, k]
        _blend(img, _inside(d_pole, px) * on, _col((0.3, 0.25, 0.2)))
        _blend(img, _inside(d_canopy, px) * on, cols)


_concept("beach")((_lay_beach, _draw_beach))


# -- desert
def _lay_desert(r):
    kind = r.choice(["blue", "pale", "sunset", "pale"])
    p = _sky_layout(r, kind)
    p["clouds"] = 0.0 if r.random() < 0.7 else p["clouds"]
    p["hz"] = r.uniform(0.25, 0.55)
    hard = r.random() < 0.2  # pale flat sand: close to a beach without the sea
    p["hard"] = hard
    p["sand"] = _jit(r, (0.9, 0.78, 0.58) if hard else (0.86, 0.6, 0.34), 0.06)
    p["shadow"] = p["sand"] * _F(0.62)
    p["dunes"] = [
        (r.uniform(3, 9), r.uniform(0, 6.28), r.uniform(0.02, 0.08) * (0.3 if hard else 1))
        for _ in range(3)
    ]
    p["cactus"] = r.random() < 0.35
    p["salt"] = int(r.integers(1 << 30))
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


def _draw_desert(p, img, u, v, t, px):
    hz = p["hz"]
    _draw_sky(p, img, u, v, t, px, hz)
    ox, oy = p["off"]
    ground = _inside(hz - v, px)
    _blend(img, ground, p["sand"] * _F(0.9))
    for k, (f, ph, amp) in enumerate(p["dunes"]):
        base = hz + 0.05 + k * (1 - hz) * 0.28
        ridge = base - amp * np.abs(np.sin(u * f + ph)) - amp * 0.5
        slope = np.cos(u * f + ph) * np.sign(np.sin(u * f + ph))
        lit = 0.5 + 0.5 * np.tanh(slope * 4)
        col = p["shadow"] + (p["sand"] - p["shadow"]) * lit
        ripple = 0.04 * np.sin((v - ridge) * 180 + _noise(0, u * 3 + ox, v * 3 + oy) * 3)
        _blend(img, _inside(ridge - v, px), col + ripple)
    if p["cactus"]:
        cw = 0.7
        ci = np.floor(u / cw)
        on = _hash(ci, 0, p["salt"]) < 0.5
        cu = (ci + 0.2 + 0.6 * _hash(ci, 1, p["salt"])) * cw
        cv = hz + 0.1 + 0.35 * _hash(ci, 2, p["salt"]) * (1 - hz)
        hgt = 0.05 + 0.1 * _hash(ci, 3, p["salt"])
        d = np.minimum(
            _box(u, v, cu, cv - hgt / 2, 0.012, hgt / 2),
            _box(u, v, cu + 0.025, cv - hgt * 0.7, 0.008, hgt * 0.2),
        )
        _blend(img, _inside(d, px) * on, _col((0.2, 0.45, 0.2)))


_concept("desert")((_lay_desert, _draw_desert))


# -- sky with clouds
def _lay_sky(r):
    p = _sky_layout(r, r.choice(["blue", "blue", "pale", "sunset", "overcast"]))
    hard = r.random() < 0.2  # thick overcast: white and grey like a snow field
    p["hard"] = hard
    p["clouds"] = r.uniform(0.75, 0.95) if hard else r.uniform(0.2, 0.65)
    p["ground"] = r.uniform(0.88, 1.0) if r.random() < 0.3 else 9.0
    p["ground_col"] = _jit(r, (0.25, 0.35, 0.2))
    p["sun"] = r.random() < 0.3
    p["sun_uv"] = (r.uniform(-0.6, 0.6), r.uniform(0.1, 0.5))
    return p


def _draw_sky_concept(p, img, u, v, t, px):
    _draw_sky(p, img, u, v, t, px, min(p["ground"], 1.2))
    if p["sun"]:
        su, sv = p["sun_uv"]
        glow = np.exp(-(((u - su) ** 2 + (v - sv) ** 2) / 0.01))
        _blend(img, glow * 0.9, _col((1.0, 0.98, 0.85)))
    if p["ground"] < 2:
        _blend(img, _inside(p["ground"] + 0.01 * np.sin(u * 9) - v, px), p["ground_col"])


_concept("sky with clouds")((_lay_sky, _draw_sky_concept))


# -- snow field
def _lay_snow(r):
    p = _sky_layout(r, r.choice(["overcast", "pale", "blue", "overcast"]))
    p["hz"] = r.uniform(0.15, 0.55)
    p["hard"] = r.random() < 0.2  # blue sky with clouds over a thin white strip
    if p["hard"]:
        p["hz"] = r.uniform(0.6, 0.8)
        p["clouds"] = r.uniform(0.3, 0.6)
    p["snow"] = _jit(r, (0.93, 0.95, 0.98), 0.04)
    p["shade"] = _jit(r, (0.7, 0.78, 0.9), 0.05)
    p["trees"] = r.random() < 0.5
    p["tracks"] = r.random() < 0.4
    p["salt"] = int(r.integers(1 << 30))
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


def _draw_snow(p, img, u, v, t, px):
    hz = p["hz"]
    _draw_sky(p, img, u, v, t, px, hz)
    ox, oy = p["off"]
    n = _noise(3, u * 0.6 + ox, v * 1.5 + oy)
    s = _clip01(0.5 + 0.3 * n)
    col = p["shade"] + (p["snow"] - p["shade"]) * s
    col = col + (_noise(0, u * 8 + ox, v * 8) * 0.02)
    _blend(img, _inside(hz + 0.01 * np.sin(u * 5 + ox * 6) - v, px), col)
    if p["trees"]:
        cw = 0.06
        ci = np.floor(u / cw)
        on = _hash(ci, 0, p["salt"]) < 0.45
        hgt = 0.01 + 0.05 * _hash(ci, 1, p["salt"])
        cu = (ci + 0.5) * cw
        d = np.abs(u - cu) - 0.015 * _clip01((v - (hz - hgt)) / hgt)
        d = np.maximum(d, np.maximum(hz - hgt - v, v - hz - 0.005))
        _blend(img, _inside(d, px) * on, _col((0.15, 0.22, 0.18)))
    if p["tracks"]:
        d = np.abs(u - (0.1 + 0.6 * (v - hz))) - 0.004 * (v - hz) * 3
        _blend(img, _inside(d, px) * (v > hz + 0.03) * 0.5, p["shade"] * _F(0.85))


_concept("snow field")((_lay_snow, _draw_snow))


# -- mountain
def _lay_mountain(r):
    p = _sky_layout(r)
    p["hard"] = r.random() < 0.2  # heavy snow cover, little rock
    p["layers"] = []
    n = int(r.integers(2, 4))
    for k in range(n):
        p["layers"].append(
            dict(
                base=r.uniform(0.35, 0.55) + k * 0.12,
                amp=r.uniform(0.15, 0.35) / (1 + 0.5 * k),
                freq=r.uniform(0.25, 0.6),
                off=r.uniform(0, 1),
                rock=_jit(r, (0.42, 0.45, 0.52) if k < n - 1 else (0.35, 0.33, 0.3), 0.06)
                * _F(1 + 0.15 * (n - 1 - k)),
                snow=(r.uniform(0.3, 0.6) if p["hard"] else r.uniform(0.0, 0.25))
                if k < n - 1
                else 0.0,
            )
        )
    p["valley"] = _jit(r, (0.25, 0.42, 0.2)) if r.random() < 0.6 else None
    return p


def _peaks(u, freq: float, salt: int):
    """A ridge line of triangular peaks (0..1) with random heights and slopes."""
    x = u * freq
    ci = np.floor(x)
    best = np.zeros(np.shape(x), dtype=_F)
    for d in (-1.0, 0.0, 1.0):
        cj = ci + d
        cx = cj + 0.2 + 0.6 * _hash(cj, 0, salt)
        hgt = 0.45 + 0.55 * _hash(cj, 1, salt)
        slope = 1.2 + 1.5 * _hash(cj, 2, salt)
        best = np.maximum(best, hgt - np.abs(x - cx) * slope * hgt)
    return best


def _draw_mountain(p, img, u, v, t, px):
    _draw_sky(p, img, u, v, t, px, 0.6)
    for k, lay in enumerate(p["layers"]):
        salt = int(lay["off"] * 1e6) + k
        rough = 0.06 * _noise(0, u * lay["freq"] * 3 + lay["off"], 0.3 + 0.1 * k)
        ridge = _peaks(u, lay["freq"] * 2.5, salt) + rough
        top = lay["base"] - lay["amp"] * (0.2 + 1.1 * ridge)
        a = _inside(top - v, px)
        depth = _clip01((v - top) / 0.3)
        face = _noise(1, u * 2 + lay["off"], v * 2)
        col = lay["rock"] * (1 - 0.25 * depth) + (0.05 * face)
        _blend(img, a, col)
        if lay["snow"] > 0:
            peak = lay["base"] - lay["amp"] * 1.3
            snowline = peak + lay["amp"] * lay["snow"] * 2.2 + 0.03 * face
            _blend(img, a * _inside(v - snowline, px * 2), _col((0.94, 0.95, 0.98)))
    if p["valley"] is not None:
        vb = p["layers"][-1]["base"] + 0.05
        _blend(img, _inside(vb + 0.03 * np.sin(u * 4) - v, px), p["valley"])


_concept("mountain")((_lay_mountain, _draw_mountain))


# -- forest
def _lay_forest(r):
    p = dict(hard=r.random() < 0.15)
    p["bg"] = _jit(r, (0.35, 0.5, 0.3), 0.1)
    p["canopy"] = _jit(r, (0.15, 0.4, 0.12), 0.08)
    p["canopy2"] = _jit(r, (0.35, 0.6, 0.2), 0.1)
    p["trunk"] = _jit(r, (0.3, 0.22, 0.15), 0.06)
    p["ground"] = _jit(r, (0.25, 0.3, 0.15), 0.06)
    p["gv"] = r.uniform(0.7, 0.9)
    p["canopy_v"] = r.uniform(0.15, 0.45)
    p["layers"] = [
        (
            r.uniform(0.08, 0.2) * (1.5 - 0.4 * k),
            r.uniform(0.01, 0.03) * (1.4 - 0.4 * k),
            int(r.integers(1 << 30)),
        )
        for k in range(3)
    ]
    p["rays"] = r.random() < 0.3
    p["autumn"] = r.random() < 0.2
    if p["autumn"]:
        p["canopy2"] = _jit(r, (0.8, 0.5, 0.15), 0.1)
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    p["stream"] = p["hard"]  # a white stream between the trees: waterfall-like
    return p


def _draw_forest(p, img, u, v, t, px):
    ox, oy = p["off"]
    _fill_gradient(img, v, p["bg"] * _F(1.2), p["bg"] * _F(0.7), 0, 1)
    _blend(img, _inside(p["gv"] - v, px), p["ground"])
    for k, (cw, tw, salt) in enumerate(p["layers"]):
        ci = np.floor(u / cw)
        cu = (ci + 0.2 + 0.6 * _hash(ci, 0, salt)) * cw
        w = tw * (0.6 + 0.8 * _hash(ci, 1, salt)) * (1 + 0.5 * (v - 0.3))
        d = np.abs(u - cu) - w
        dim = _F(0.6 + 0.2 * k)
        col = p["trunk"] * dim + (0.04 * _noise(0, u * 20, v * 3))
        _blend(img, _inside(d, px) * (v < p["gv"] + 0.05 + 0.1 * k), col)
    sway = 0.01 * np.sin(t * 1.3)
    n = _noise(1, (u + sway) * 1.5 + ox, v * 1.5 + oy) + 0.5 * _noise(0, u * 5 + ox, v * 5 + oy)
    a = _smooth(-0.3, 0.3, n - (v - p["canopy_v"]) * 6)
    c = p["canopy"] + (p["canopy2"] - p["canopy"]) * _clip01(0.5 + 0.4 * n)
    _blend(img, a * 0.95, c)
    if p["rays"]:
        ray = _clip01(np.sin((u + v * 0.5) * 9 + ox * 6) - 0.7) * 1.2
        _blend(img, ray * 0.4, _col((1.0, 0.95, 0.7)))
    if p["stream"]:
        d = np.abs(u - 0.1 * np.sin(v * 3)) - 0.03 - 0.1 * _clip01(v - p["gv"])
        streak = 0.8 + 0.2 * _noise(0, u * 20, v * 3 - t * 1.5)
        _blend(
            img,
            _inside(d, px) * (v > 0.3),
            np.stack(np.broadcast_arrays(streak, streak, streak + 0.05), 0),
        )


_concept("forest")((_lay_forest, _draw_forest))


# -- waterfall
def _lay_waterfall(r):
    p = dict(hard=r.random() < 0.2)
    p["rock"] = _jit(r, (0.42, 0.38, 0.33), 0.08)
    p["rock2"] = _jit(r, (0.3, 0.28, 0.26), 0.06)
    p["veg"] = _jit(r, (0.2, 0.45, 0.18), 0.08)
    p["water"] = _jit(r, (0.85, 0.92, 0.97), 0.04)
    p["pool"] = _jit(r, (0.2, 0.45, 0.5), 0.06)
    p["cu"] = r.uniform(-0.3, 0.3)
    p["w"] = r.uniform(0.08, 0.25) * (0.5 if p["hard"] else 1.0)
    p["lip"] = r.uniform(0.05, 0.3)
    p["pool_v"] = r.uniform(0.7, 0.88)
    p["veg_amt"] = r.uniform(0.6, 0.95) if p["hard"] else r.uniform(0.1, 0.5)
    p["sky"] = r.random() < 0.4
    p["speed"] = r.uniform(0.8, 2.0)
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


def _draw_waterfall(p, img, u, v, t, px):
    ox, oy = p["off"]
    n = _noise(1, u * 1.5 + ox, v * 1.5 + oy)
    rock = p["rock2"] + (p["rock"] - p["rock2"]) * _clip01(0.5 + 0.5 * n)
    img[...] = rock + (0.05 * _noise(0, u * 6, v * 6))
    if p["sky"]:
        _blend(
            img,
            _inside(v - (p["lip"] - 0.05 + 0.04 * _noise(2, u * 0.5 + ox, 0.1)), px),
            _col((0.6, 0.78, 0.95)),
        )
    veg = _smooth(0.0, 0.4, _noise(2, u * 1.2 + oy, v * 1.2 + ox) + p["veg_amt"] * 2 - 1.2)
    _blend(img, veg, p["veg"] + (0.08 * _noise(0, u * 9, v * 9)))
    spread = p["w"] * (1 + 0.6 * _clip01(v - p["lip"]))
    d = np.maximum(np.abs(u - p["cu"]) - spread, p["lip"] - v)
    streak = (
        _noise(0, u * 25 + ox, v * 1.5 - t * p["speed"]) * 0.5
        + _noise(1, u * 8, v * 0.7 - t * p["speed"]) * 0.5
    )
    wcol = p["water"] * (0.85 + 0.12 * streak)
    _blend(img, _inside(d, px) * 0.95, wcol)
    pool = _inside(p["pool_v"] + 0.01 * np.sin(u * 30 + t * 3) - v, px)
    ripple = 0.06 * np.sin(v * 200 - t * 4 + 8 * _noise(0, u * 2, v))
    _blend(img, pool, p["pool"] + ripple)
    mist = np.exp(-(((v - p["pool_v"]) / 0.06) ** 2)) * np.exp(
        -(((u - p["cu"]) / (p["w"] * 2.5)) ** 2)
    )
    _blend(img, mist * 0.8, _col((0.95, 0.97, 1.0)))


_concept("waterfall")((_lay_waterfall, _draw_waterfall))


# -- flower field
def _lay_flowers(r):
    p = _sky_layout(r, r.choice(["blue", "pale", "sunset"]))
    p["hz"] = r.uniform(0.1, 0.45)
    p["grass"] = _jit(r, (0.3, 0.55, 0.2), 0.08)
    palettes = [
        [(0.9, 0.1, 0.1)],
        [(0.95, 0.85, 0.1)],
        [(0.6, 0.35, 0.8)],
        [(0.9, 0.1, 0.1), (0.95, 0.85, 0.1), (0.95, 0.95, 0.95), (0.95, 0.45, 0.7)],
        [(0.95, 0.45, 0.7), (0.95, 0.95, 0.95)],
    ]
    pal = palettes[int(r.integers(len(palettes)))]
    p["hard"] = pal == palettes[0]  # red poppies on dark ground: blood-like
    p["pal"] = _pal([_jit(r, c, 0.06) for c in pal])
    p["density"] = r.uniform(0.4, 0.9)
    p["rows"] = r.random() < 0.3
    p["size"] = r.uniform(1.0, 2.0)
    p["salt"] = int(r.integers(1 << 30))
    return p


def _draw_flowers(p, img, u, v, t, px):
    hz = p["hz"]
    _draw_sky(p, img, u, v, t, px, hz)
    g = _inside(hz - v, px)
    _blend(
        img,
        g,
        p["grass"] * (0.8 + 0.3 * _clip01((v - hz) * 2)) + (0.06 * _noise(0, u * 10, v * 10)),
    )
    depth = np.maximum(v - hz, 0.02)
    z = 0.12 / depth  # distance along the ground
    x = u * z  # ground coordinate across
    cs = 0.05 / p["size"]
    sway = 0.15 * np.sin(t * 1.7 + z)
    ci = np.floor(x / cs + sway)
    cj = np.floor(z / cs * 0.5)
    fu = x / cs + sway - ci
    fz = z / cs * 0.5 - cj
    on = _hash(ci, cj, p["salt"]) < p["density"]
    if p["rows"]:
        on = on & ((ci.astype(np.int64) % 3) != 0)
    cu = 0.25 + 0.5 * _hash(ci, cj, p["salt"], 1)
    cz = 0.25 + 0.5 * _hash(ci, cj, p["salt"], 2)
    r2 = (fu - cu) ** 2 + ((fz - cz) * 2) ** 2
    k = (_hash(ci, cj, p["salt"], 3) * p["pal"].shape[1]).astype(np.int64) % p["pal"].shape[1]
    a = _clip01((0.06 - r2) * 40) * on * _clip01((v - hz) / 0.03)
    _blend(img, a, p["pal"][:, k])


_concept("flower field")((_lay_flowers, _draw_flowers))


# -- city at night
def _lay_city(r):
    p = dict(hard=r.random() < 0.2)  # orange glow, warm haze: fire-like
    p["sky_top"] = _jit(r, (0.02, 0.03, 0.1), 0.02)
    p["sky_bot"] = _jit(r, (0.35, 0.2, 0.1) if p["hard"] else (0.1, 0.12, 0.25), 0.05)
    p["bld"] = _jit(r, (0.08, 0.08, 0.12), 0.03)
    p["win"] = _jit(r, (1.0, 0.75, 0.3) if p["hard"] else (1.0, 0.9, 0.55), 0.08)
    p["win2"] = _jit(r, (0.7, 0.85, 1.0), 0.08)
    p["lit"] = r.uniform(0.25, 0.7)
    p["bw"] = r.uniform(0.12, 0.25)
    p["hmin"], p["hmax"] = r.uniform(0.35, 0.55), r.uniform(0.05, 0.3)
    p["ground"] = r.uniform(0.8, 0.95)
    p["moon"] = r.random() < 0.3
    p["moon_uv"] = (r.uniform(-0.6, 0.6), r.uniform(0.08, 0.25))
    p["street"] = r.random() < 0.5
    p["salt"] = int(r.integers(1 << 30))
    return p


def _draw_city(p, img, u, v, t, px):
    _fill_gradient(img, v, p["sky_top"], p["sky_bot"], 0.0, p["ground"])
    s = p["salt"]
    stars = (_hash(np.floor(u / px / 2), np.floor(v / px / 2), s, 9) > 0.995) * (v < 0.4)
    _blend(img, stars * 0.7, _col((1, 1, 1)))
    if p["moon"]:
        mu, mv = p["moon_uv"]
        _blend(img, _inside(np.hypot(u - mu, v - mv) - 0.04, px), _col((0.95, 0.93, 0.8)))
    bw = p["bw"]
    ci = np.floor(u / bw)
    top = p["hmax"] + (p["hmin"] - p["hmax"]) * _hash(ci, 0, s)
    w = bw * (0.38 + 0.1 * _hash(ci, 1, s))
    cu = (ci + 0.5) * bw
    d = np.maximum(np.abs(u - cu) - w, top - v)
    a = _inside(d, px)
    _blend(img, a, p["bld"] * (0.8 + 0.4 * _hash(ci, 2, s)))
    wx = (u - cu + w) / 0.03
    wy = (v - top) / 0.04
    ix, iy = np.floor(wx), np.floor(wy)
    inwin = (np.abs(wx - ix - 0.5) < 0.3) & (np.abs(wy - iy - 0.5) < 0.28)
    flick = np.floor(t * 0.5 + _hash(ix, iy + ci * 97, s, 3) * 10)
    lit = _hash(ix + flick * 7, iy + ci * 97, s, 4) < p["lit"]
    kind = _hash(ci, 5, s) < 0.3
    wcol = np.where(kind, p["win2"], p["win"])
    _blend(img, a * inwin * lit * (d < -0.01), wcol)
    if p["street"]:
        lamp = (u * 8 - t * 0.3) % 1.0
        glow = np.exp(-(((lamp - 0.5) / 0.08) ** 2 + ((v - p["ground"]) / 0.04) ** 2))
        _blend(img, glow * 0.9, _col((1.0, 0.7, 0.3)))
    _blend(img, _inside(p["ground"] - v, px), _col((0.05, 0.05, 0.06)))


_concept("city at night")((_lay_city, _draw_city))


# -- fire
def _lay_fire(r):
    p = dict(hard=r.random() < 0.2)  # a burning building at night: city-like
    p["bg"] = _jit(r, (0.06, 0.03, 0.02), 0.03)
    p["n"] = int(r.integers(1, 4))
    p["src"] = [
        (r.uniform(-0.5, 0.5), r.uniform(0.15, 0.45), r.uniform(0.4, 0.8)) for _ in range(p["n"])
    ]
    p["base"] = r.uniform(0.8, 1.0)
    p["speed"] = r.uniform(0.3, 0.8)
    p["logs"] = r.random() < 0.5
    p["blaze"] = r.random() < 0.3
    p["tint"] = _jit(r, (1.0, 1.0, 1.0), 0.08)
    p["salt"] = int(r.integers(1 << 30))
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


_FIRE_LUT = np.array(
    [
        [0, 0, 0],
        [0.5, 0.05, 0.0],
        [0.9, 0.3, 0.02],
        [1.0, 0.65, 0.1],
        [1.0, 0.9, 0.5],
        [1.0, 1.0, 0.9],
    ],
    dtype=_F,
)


def _draw_fire(p, img, u, v, t, px):
    ox, oy = p["off"]
    img[...] = p["bg"] * (1 + 0.5 * _clip01(v))
    if p["hard"]:
        bw = 0.2
        ci = np.floor(u / bw)
        top = 0.3 + 0.3 * _hash(ci, 0, p["salt"])
        d = np.maximum(np.abs(u - (ci + 0.5) * bw) - bw * 0.4, top - v)
        _blend(img, _inside(d, px), _col((0.1, 0.07, 0.06)))
        wx, wy = np.floor(u / 0.03), np.floor(v / 0.04)
        win = (np.abs(u / 0.03 - wx - 0.5) < 0.3) & (np.abs(v / 0.04 - wy - 0.5) < 0.3)
        _blend(
            img, _inside(d, px) * win * (_hash(wx, wy, p["salt"]) < 0.45), _col((1.0, 0.6, 0.15))
        )
    n = (
        _noise(1, u * 2.5 + ox, v * 1.5 + t * p["speed"] + oy) * 0.6
        + _noise(0, u * 6 + ox, v * 4 + t * p["speed"] * 2.5) * 0.4
    )
    heat = np.zeros(np.broadcast_shapes(u.shape, v.shape), dtype=_F)
    for su, hgt, wid in p["src"]:
        hgt = hgt * (2.0 if p["blaze"] else 1.0)
        wid = wid * (1.8 if p["blaze"] else 1.0)
        prof = np.exp(-(((u - su) / (0.12 * wid + 0.25 * (p["base"] - v) * wid)) ** 2))
        vert = _clip01(1 - (p["base"] - v) / hgt) * (v < p["base"] + 0.02)
        heat = np.maximum(heat, prof * vert)
    inten = _clip01(heat * 1.6 + n * 0.35 * heat - 0.15)
    idx = inten * (len(_FIRE_LUT) - 1)
    i0 = np.floor(idx).astype(np.int64)
    i1 = np.minimum(i0 + 1, len(_FIRE_LUT) - 1)
    f = idx - i0
    col = (_FIRE_LUT.T[:, i0] * (1 - f) + _FIRE_LUT.T[:, i1] * f) * p["tint"]
    _blend(img, _clip01(inten * 2.5), col)
    if p["logs"]:
        for ang in (0.25, -0.3):
            ru, rv = _rot(u, v, p["src"][0][0], p["base"], ang)
            _blend(img, _inside(_box(ru, rv, 0, 0, 0.15, 0.02), px), _col((0.2, 0.1, 0.05)))
    sp = _hash(np.floor(u / 0.02), np.floor((v + t * 0.3) / 0.02), p["salt"], 5) > 0.997
    _blend(img, sp * (v < p["base"]), _col((1.0, 0.8, 0.3)))


_concept("fire")((_lay_fire, _draw_fire))


# -- underwater
def _lay_underwater(r):
    p = dict(hard=r.random() < 0.15)  # bright shallow water: sky-like
    p["top"] = _jit(r, (0.45, 0.8, 0.9) if p["hard"] else (0.2, 0.6, 0.75), 0.07)
    p["bot"] = _jit(r, (0.3, 0.55, 0.8) if p["hard"] else (0.02, 0.12, 0.3), 0.05)
    p["caustic"] = r.uniform(0.1, 0.4)
    p["floor"] = r.uniform(0.75, 0.95) if r.random() < 0.6 else 9.0
    p["sand"] = _jit(r, (0.55, 0.5, 0.35), 0.08)
    p["fish"] = [
        (
            r.uniform(-1, 1),
            r.uniform(0.2, 0.8),
            r.uniform(0.02, 0.06),
            r.uniform(-0.15, 0.15),
            _jit(r, [(1.0, 0.55, 0.1), (0.95, 0.9, 0.2), (0.8, 0.8, 0.9)][int(r.integers(3))], 0.1),
        )
        for _ in range(int(r.integers(0, 6)))
    ]
    p["bubbles"] = r.uniform(0.0, 0.5)
    p["weed"] = r.random() < 0.5
    p["salt"] = int(r.integers(1 << 30))
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


def _draw_underwater(p, img, u, v, t, px):
    ox, oy = p["off"]
    _fill_gradient(img, v, p["top"], p["bot"], 0.0, 1.1)
    c = np.abs(_noise(1, u * 2 + ox + t * 0.05, v * 2 + oy - t * 0.03))
    caus = _clip01(0.25 - c) * 4 * _clip01(1 - v * 1.3)
    _blend(img, caus * p["caustic"] * 2, _col((0.9, 1.0, 1.0)))
    ray = _clip01(np.sin((u - v * 0.3) * 12 + ox * 5 + 0.3 * np.sin(t)) - 0.6) * _clip01(1 - v)
    _blend(img, ray * 0.3, _col((0.8, 0.95, 1.0)))
    if p["floor"] < 2:
        fl = p["floor"] + 0.02 * _noise(2, u * 0.5 + ox, 0.2)
        _blend(img, _inside(fl - v, px), p["sand"] * (0.9 + 0.1 * _noise(0, u * 10, v * 10)))
        if p["weed"]:
            wx = (u + 0.03 * np.sin(v * 10 + t * 1.5)) / 0.08
            ci = np.floor(wx)
            hgt = 0.15 + 0.3 * _hash(ci, 0, p["salt"])
            d = np.maximum(np.abs(wx - ci - 0.5) * 0.08 - 0.008, fl - hgt - v)
            _blend(
                img,
                _inside(d, px) * (_hash(ci, 1, p["salt"]) < 0.5) * (v < fl + 0.02),
                _col((0.1, 0.4, 0.15)),
            )
    for fu, fv, fs, fsp, fc in p["fish"]:
        cu = (fu + fsp * t + 1.5) % 3.0 - 1.5
        dirn = 1.0 if fsp >= 0 else -1.0
        body = np.hypot((u - cu) / fs, (v - fv) / (fs * 0.45)) - 1
        tail = np.maximum(
            np.abs(v - fv) - (dirn * (cu - u) - fs * 0.9) * 0.8,
            np.abs(u - cu + dirn * fs * 1.3) - fs * 0.4,
        )
        _blend(img, _inside(np.minimum(body * fs, tail), px), fc)
    if p["bubbles"] > 0:
        cs = 0.05
        vv = v + t * 0.12
        ci, cj = np.floor(u / cs), np.floor(vv / cs)
        on = _hash(ci, cj, p["salt"], 2) < p["bubbles"] * 0.3
        du = u / cs - ci - 0.5
        dv = vv / cs - cj - 0.5
        ring = np.abs(np.hypot(du, dv) - 0.25) < 0.09
        _blend(img, on * ring * 0.7, _col((0.85, 0.95, 1.0)))


_concept("underwater")((_lay_underwater, _draw_underwater))


# -- crowd
def _lay_crowd(r):
    p = dict(hard=r.random() < 0.15)  # stands above a bit of green pitch
    p["bg"] = _jit(
        r, [(0.15, 0.15, 0.18), (0.5, 0.5, 0.52), (0.05, 0.05, 0.1)][int(r.integers(3))], 0.06
    )
    p["top"] = r.uniform(-0.1, 0.35)
    p["bottom"] = r.uniform(0.6, 0.8) if p["hard"] else 9.0
    p["scale"] = r.uniform(0.06, 0.12)
    p["stage"] = r.random() < 0.3
    p["shirts"] = _pal(
        [
            _jit(r, c, 0.1)
            for c in (
                (0.8, 0.1, 0.1),
                (0.1, 0.2, 0.7),
                (0.9, 0.9, 0.9),
                (0.15, 0.15, 0.15),
                (0.2, 0.6, 0.3),
                (0.9, 0.7, 0.1),
            )
        ]
    )
    p["skins"] = _pal(
        [
            _col(c)
            for c in ((0.95, 0.8, 0.65), (0.8, 0.6, 0.45), (0.55, 0.38, 0.25), (0.35, 0.22, 0.15))
        ]
    )
    p["salt"] = int(r.integers(1 << 30))
    return p


def _draw_crowd(p, img, u, v, t, px):
    _fill_gradient(img, v, p["bg"] * _F(0.8), p["bg"] * _F(1.1), 0, 1)
    if p["stage"]:
        beam = _clip01(np.cos((u * 3 + np.sin(t * 0.8)) * 2) - 0.5) * _clip01(0.6 - v)
        _blend(img, beam * 0.5, _col((0.9, 0.6, 1.0)))
    s = p["salt"]
    scale = p["scale"] * (0.5 + 1.2 * _clip01(v - p["top"]))
    row = np.floor((v - p["top"]) / scale * 1.6)
    x = u / scale + row * 0.5
    ci = np.floor(x)
    bob = 0.05 * np.sin(t * 3 + _hash(ci, row, s) * 6)
    fu = x - ci - 0.5 - 0.2 * (_hash(ci, row, s, 1) - 0.5)
    fv = (v - p["top"]) / scale * 1.6 - row + bob
    head = np.hypot(fu, (fv - 0.35) * 1.1) - 0.22
    body = np.hypot(fu * 0.8, (fv - 1.05) * 0.7) - 0.36
    k = (_hash(ci, row, s, 2) * 6).astype(np.int64) % 6
    j = (_hash(ci, row, s, 3) * 4).astype(np.int64) % 4
    vis = (v > p["top"]) & (v < p["bottom"])
    _blend(img, _clip01(-body * 8) * vis, p["shirts"][:, k] * (0.7 + 0.5 * _clip01(v)))
    _blend(img, _clip01(-head * 10) * vis, p["skins"][:, j])
    if p["bottom"] < 2:
        _blend(img, _inside(p["bottom"] - v, px), _col((0.25, 0.55, 0.2)))


_concept("crowd")((_lay_crowd, _draw_crowd))


# -- road with cars
def _lay_road(r):
    p = _sky_layout(r)
    p["view"] = r.choice(["side", "top"])
    p["hard"] = False
    p["road"] = _jit(r, (0.3, 0.3, 0.32), 0.06)
    p["verge"] = _jit(r, [(0.3, 0.5, 0.2), (0.55, 0.55, 0.5)][int(r.integers(2))], 0.06)
    p["rv"] = r.uniform(0.5, 0.7)
    p["lanes"] = int(r.integers(2, 5))
    p["density"] = r.uniform(0.3, 0.8)
    p["speeds"] = r.uniform(0.1, 0.4, 6)
    p["cars"] = _pal(
        [
            _jit(r, c, 0.08)
            for c in (
                (0.8, 0.1, 0.1),
                (0.9, 0.9, 0.9),
                (0.1, 0.1, 0.12),
                (0.2, 0.3, 0.7),
                (0.7, 0.7, 0.72),
                (0.9, 0.7, 0.1),
            )
        ]
    )
    p["bg_bld"] = r.random() < 0.5
    p["salt"] = int(r.integers(1 << 30))
    return p


def _draw_road(p, img, u, v, t, px):
    s = p["salt"]
    if p["view"] == "side":
        rv = p["rv"]
        _draw_sky(p, img, u, v, t, px, rv - 0.1)
        if p["bg_bld"]:
            ci = np.floor(u / 0.15)
            top = rv - 0.1 - 0.3 * _hash(ci, 0, s)
            _blend(
                img,
                _inside(np.maximum(np.abs(u - (ci + 0.5) * 0.15) - 0.065, top - v), px),
                _col((0.55, 0.52, 0.5)) * (0.8 + 0.3 * _hash(ci, 1, s)),
            )
        _blend(img, _inside(rv - 0.1 - v, px), p["verge"])
        lane_h = (1.0 - rv) / p["lanes"]
        _blend(img, _inside(rv - v, px), p["road"])
        for k in range(p["lanes"]):
            lv = rv + k * lane_h
            if k > 0:
                dash = ((u * 6) % 1.0) < 0.5
                _blend(img, (np.abs(v - lv) < 0.006) * dash, _col((0.95, 0.95, 0.9)))
            sp = p["speeds"][k] * (1 if k % 2 == 0 else -1)
            x = u - sp * t
            ci = np.floor(x / 0.35)
            on = _hash(ci, k, s) < p["density"]
            cu = (ci + 0.25 + 0.5 * _hash(ci, k, s, 1)) * 0.35
            sc = lane_h * 0.8 * (0.6 + 0.4 * (k + 1) / p["lanes"])
            cv = lv + lane_h * 0.7
            body = _box(x, v, cu, cv - sc * 0.25, sc * 0.9, sc * 0.22)
            cab = _box(x, v, cu, cv - sc * 0.6, sc * 0.5, sc * 0.17)
            col = p["cars"][:, (_hash(ci, k, s, 2) * 6).astype(np.int64) % 6]
            _blend(img, _inside(np.minimum(body, cab), px) * on, col)
            _blend(
                img,
                _inside(_box(x, v, cu, cv - sc * 0.6, sc * 0.42, sc * 0.11), px) * on,
                _col((0.5, 0.65, 0.8)),
            )
            wheel = (
                np.minimum(
                    np.hypot(x - cu + sc * 0.55, v - cv), np.hypot(x - cu - sc * 0.55, v - cv)
                )
                - sc * 0.15
            )
            _blend(img, _inside(wheel, px) * on, _col((0.05, 0.05, 0.05)))
    else:  # top-down highway
        img[...] = p["verge"]
        half = 0.12 * p["lanes"]
        _blend(img, _inside(np.abs(u) - half, px), p["road"])
        for k in range(p["lanes"]):
            lu = -half + (k + 0.5) * 2 * half / p["lanes"]
            if k > 0:
                bu = -half + k * 2 * half / p["lanes"]
                dash = ((v * 5 + t * 0.0) % 1.0) < 0.5
                _blend(img, (np.abs(u - bu) < 0.006) * dash, _col((0.95, 0.95, 0.9)))
            sp = p["speeds"][k] * (1 if k < p["lanes"] / 2 else -1)
            y = v - sp * t
            ci = np.floor(y / 0.3)
            on = _hash(ci, k, s) < p["density"]
            cv = (ci + 0.3 + 0.4 * _hash(ci, k, s, 1)) * 0.3
            body = _box(u, y, lu, cv, 0.05, 0.085)
            col = p["cars"][:, (_hash(ci, k, s, 2) * 6).astype(np.int64) % 6]
            _blend(img, _inside(body, px) * on, col)
            _blend(
                img,
                _inside(_box(u, y, lu, cv - 0.03, 0.04, 0.02), px) * on,
                _col((0.15, 0.2, 0.25)),
            )
        _blend(img, _inside(np.abs(np.abs(u) - half) - 0.004, px), _col((0.95, 0.95, 0.9)))


_concept("road with cars")((_lay_road, _draw_road))


# -- text slide
_GLYPHS = np.random.default_rng(7).random((64, 7, 5)) < 0.45


def _lay_text(r):
    p = dict(hard=False)
    bgs = [
        ((0.97, 0.97, 0.97), (0.1, 0.1, 0.12)),
        ((0.1, 0.15, 0.35), (0.95, 0.95, 0.95)),
        ((0.05, 0.05, 0.05), (0.95, 0.95, 0.9)),
        ((0.9, 0.85, 0.7), (0.2, 0.15, 0.1)),
        ((0.2, 0.45, 0.35), (1.0, 1.0, 0.9)),
    ]
    bg, fg = bgs[int(r.integers(len(bgs)))]
    p["bg"], p["fg"] = _jit(r, bg, 0.04), _jit(r, fg, 0.04)
    p["accent"] = _jit(r, (0.9, 0.4, 0.1), 0.2)
    p["grad"] = r.random() < 0.4
    p["title_v"] = r.uniform(0.1, 0.25)
    p["n_lines"] = int(r.integers(2, 7))
    p["line_h"] = r.uniform(0.05, 0.08)
    p["left"] = r.uniform(-0.75, -0.4)
    p["lens"] = r.uniform(0.3, 1.3, 8)
    p["bar"] = r.random() < 0.5
    p["salt"] = int(r.integers(1 << 30))
    return p


def _text_band(p, img, u, v, top, hgt, left, length, col, salt, px):
    cw = hgt * 0.75
    inband = (v >= top) & (v < top + hgt) & (u >= left) & (u < left + length)
    x = (u - left) / cw
    ci = np.floor(x)
    gx = np.clip(((x - ci) * 6).astype(np.int64), 0, 5)
    gy = np.clip((((v - top) / hgt) * 8).astype(np.int64), 0, 7)
    g = (_hash(ci, 0, salt) * 64).astype(np.int64) % 64
    space = _hash(ci, 1, salt) < 0.17
    on = _GLYPHS[g, np.minimum(gy, 6), np.minimum(gx, 4)] & (gx < 5) & (gy < 7) & ~space
    _blend(img, inband & on, col)


def _draw_text(p, img, u, v, t, px):
    if p["grad"]:
        _fill_gradient(img, v, p["bg"] * _F(1.05), p["bg"] * _F(0.8), 0, 1)
    else:
        img[...] = p["bg"]
    s = p["salt"]
    if p["bar"]:
        _blend(img, (v > p["title_v"] - 0.04) & (v < p["title_v"] + 0.13), p["accent"])
    _text_band(
        p, img, u, v, p["title_v"], 0.09, p["left"], 1.0 + 0.3 * p["lens"][0], p["fg"], s, px
    )
    for k in range(p["n_lines"]):
        top = p["title_v"] + 0.2 + k * p["line_h"] * 1.7
        _blend(
            img,
            _inside(
                np.hypot(u - p["left"] - 0.02, v - top - p["line_h"] * 0.45) - p["line_h"] * 0.2, px
            ),
            p["fg"],
        )
        _text_band(
            p,
            img,
            u,
            v,
            top,
            p["line_h"],
            p["left"] + 0.07,
            p["lens"][k + 1],
            p["fg"],
            s + k + 1,
            px,
        )


_concept("text slide", extended=False)((_lay_text, _draw_text))


# -- sports field
def _lay_sports(r):
    kinds = ["grass", "grass", "grass", "clay", "court"]
    kind = kinds[int(r.integers(len(kinds)))]
    p = dict(kind=kind, hard=kind == "clay")  # orange clay: desert-like
    base = {"grass": (0.22, 0.55, 0.2), "clay": (0.8, 0.45, 0.25), "court": (0.75, 0.55, 0.35)}[
        kind
    ]
    p["turf"] = _jit(r, base, 0.06)
    p["stripes"] = r.uniform(0.0, 0.08)
    p["stripe_w"] = r.uniform(0.08, 0.2)
    p["angle"] = r.uniform(-0.4, 0.4)
    p["players"] = [
        (r.uniform(-0.8, 0.8), r.uniform(0.2, 0.9), r.uniform(0, 6.28), int(r.integers(2)))
        for _ in range(int(r.integers(4, 14)))
    ]
    p["teams"] = [_jit(r, (0.85, 0.1, 0.1), 0.1), _jit(r, (0.1, 0.2, 0.8), 0.1)]
    p["stands"] = r.uniform(0.05, 0.25) if r.random() < 0.5 else -1.0
    p["salt"] = int(r.integers(1 << 30))
    return p


def _draw_sports(p, img, u, v, t, px):
    ru, rv = _rot(u, v, 0.0, 0.5, p["angle"])
    stripe = np.floor(ru / p["stripe_w"]) % 2
    img[...] = p["turf"] * (1 - p["stripes"] * stripe)
    white = _col((0.95, 0.95, 0.95))
    lw = 0.006
    d = np.abs(ru) - lw  # centre line
    d = np.minimum(d, np.abs(np.hypot(ru, rv) - 0.2) - lw)  # centre circle
    d = np.minimum(d, np.abs(np.abs(rv) - 0.42) - lw)  # touch lines
    d = np.minimum(d, np.maximum(np.abs(np.abs(ru) - 0.75) - lw, np.abs(rv) - 0.2))  # box
    _blend(img, _inside(d, px), white)
    for x0, y0, ph, team in p["players"]:
        x = x0 + 0.15 * np.sin(t * 0.7 + ph)
        y = y0 + 0.08 * np.sin(t * 0.5 + ph * 2)
        body = _box(u, v, x, y, 0.012, 0.025)
        head = np.hypot(u - x, v - y + 0.035) - 0.01
        _blend(img, _inside(body, px), p["teams"][team])
        _blend(img, _inside(head, px), _col((0.85, 0.65, 0.5)))
    bx, by = 0.4 * np.sin(t * 0.9), 0.5 + 0.2 * np.sin(t * 1.3)
    _blend(img, _inside(np.hypot(u - bx, v - by) - 0.008, px), white)
    if p["stands"] > 0:
        sv = p["stands"]
        ci, cj = np.floor(u / 0.025), np.floor(v / 0.025)
        dots = _hash(ci, cj, p["salt"])
        col = np.stack(np.broadcast_arrays(dots * 0.8, dots * 0.5 + 0.2, 1 - dots * 0.5), 0)
        _blend(img, _inside(v - sv, px), col * _F(0.7))


_concept("sports field")((_lay_sports, _draw_sports))


# -- kitchen
def _lay_kitchen(r):
    p = dict(hard=False)
    p["wall"] = _jit(
        r, [(0.92, 0.9, 0.85), (0.7, 0.85, 0.85), (0.95, 0.95, 0.95)][int(r.integers(3))], 0.05
    )
    p["tile"] = r.uniform(0.04, 0.08)
    p["cab"] = _jit(
        r,
        [(0.85, 0.85, 0.82), (0.55, 0.4, 0.25), (0.3, 0.4, 0.5), (0.6, 0.7, 0.6)][
            int(r.integers(4))
        ],
        0.05,
    )
    p["counter"] = _jit(
        r, [(0.2, 0.2, 0.2), (0.6, 0.6, 0.6), (0.55, 0.4, 0.25)][int(r.integers(3))], 0.05
    )
    p["cv"] = r.uniform(0.5, 0.65)
    p["upper"] = r.uniform(0.22, 0.35)
    p["door_w"] = r.uniform(0.18, 0.3)
    p["items"] = [
        (
            r.uniform(-0.8, 0.8),
            int(r.integers(4)),
            r.uniform(0.04, 0.08),
            _jit(
                r,
                [(0.2, 0.2, 0.22), (0.8, 0.2, 0.1), (0.9, 0.9, 0.9), (0.9, 0.6, 0.1)][
                    int(r.integers(4))
                ],
                0.05,
            ),
        )
        for _ in range(int(r.integers(2, 7)))
    ]
    p["window"] = r.random() < 0.4
    p["win_u"] = r.uniform(-0.4, 0.4)
    p["steam"] = r.random() < 0.4
    return p


def _draw_kitchen(p, img, u, v, t, px):
    img[...] = p["wall"]
    ts = p["tile"]
    grout = (np.abs((u / ts) % 1.0 - 0.5) > 0.46) | (np.abs((v / ts) % 1.0 - 0.5) > 0.46)
    _blend(img, grout * (v > p["upper"]) * (v < p["cv"]) * 0.5, p["wall"] * _F(0.7))
    if p["window"]:
        d = _box(u, v, p["win_u"], (p["upper"] + p["cv"]) / 2 - 0.03, 0.15, 0.1)
        _blend(img, _inside(d, px), _col((0.7, 0.85, 1.0)))
        _blend(img, _inside(np.abs(d + 0.005) - 0.008, px), _col((0.95, 0.95, 0.95)))
    dw = p["door_w"]
    ci = np.floor(u / dw)
    fu = u / dw - ci
    door = np.abs(fu - 0.5) < 0.46
    upper = (v < p["upper"]) & ~(p["window"] & (np.abs(u - p["win_u"]) < 0.2))
    _blend(img, upper, p["cab"] * _F(0.85))
    _blend(img, upper & door, p["cab"])
    lower = v > p["cv"] + 0.04
    _blend(img, lower, p["cab"] * _F(0.8))
    _blend(img, lower & door & (v > p["cv"] + 0.07), p["cab"] * _F(0.95))
    handle = (np.abs(fu - 0.85) < 0.02) & (
        (np.abs(v - p["cv"] - 0.15) < 0.04) | (np.abs(v - p["upper"] + 0.06) < 0.04)
    )
    _blend(img, handle, _col((0.75, 0.75, 0.78)))
    _blend(img, (v > p["cv"]) & (v < p["cv"] + 0.04), p["counter"])
    for x, kind, sz, col in p["items"]:
        base = p["cv"]
        if kind == 0:  # pot
            d = np.minimum(
                _box(u, v, x, base - sz * 0.6, sz, sz * 0.6),
                _box(u, v, x, base - sz * 1.25, sz * 1.1, sz * 0.06),
            )
        elif kind == 1:  # bowl
            d = np.maximum(np.hypot((u - x) / 1.3, v - base + sz) - sz, base - sz - v)
        elif kind == 2:  # bottle
            d = np.minimum(
                _box(u, v, x, base - sz * 1.1, sz * 0.35, sz * 1.1),
                _box(u, v, x, base - sz * 2.4, sz * 0.12, sz * 0.3),
            )
        else:  # fruit
            d = np.hypot(u - x, v - base + sz * 0.5) - sz * 0.5
        _blend(img, _inside(d, px), col)
        if kind == 0 and p["steam"]:
            st = _clip01(_noise(0, u * 4, v * 3 + t * 0.4) * 0.5 + 0.3) * np.exp(
                -(((u - x) / sz) ** 2)
            )
            _blend(img, st * (v < base - sz * 1.3) * (v > base - sz * 5) * 0.6, _col((1, 1, 1)))


_concept("kitchen", extended=False)((_lay_kitchen, _draw_kitchen))


# -- blood
def _lay_blood(r):
    p = dict(hard=r.random() < 0.2)  # small dark splatter on grass/earth: flower-like
    surf = [
        (0.92, 0.92, 0.9),
        (0.6, 0.6, 0.6),
        (0.75, 0.7, 0.6),
        (0.85, 0.88, 0.9),
        (0.35, 0.3, 0.28),
    ]
    p["surface"] = _jit(
        r, (0.3, 0.45, 0.2) if p["hard"] else surf[int(r.integers(len(surf)))], 0.05
    )
    p["tiles"] = r.random() < 0.4
    p["blood"] = _jit(r, (0.5, 0.02, 0.03), 0.06)
    p["dark"] = _jit(r, (0.25, 0.0, 0.01), 0.03)
    p["amount"] = r.uniform(0.2, 0.6) * (0.5 if p["hard"] else 1)
    p["grow"] = r.uniform(0.0, 0.04)
    p["drips"] = r.random() < 0.5
    p["spl"] = r.uniform(0.05, 0.3)
    p["salt"] = int(r.integers(1 << 30))
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


def _draw_blood(p, img, u, v, t, px):
    ox, oy = p["off"]
    img[...] = p["surface"] * (0.9 + 0.08 * _noise(0, u * 5 + ox, v * 5 + oy))
    if p["tiles"]:
        grout = (np.abs((u / 0.15) % 1.0 - 0.5) > 0.47) | (np.abs((v / 0.15) % 1.0 - 0.5) > 0.47)
        _blend(img, grout * 0.5, p["surface"] * _F(0.6))
    n = _noise(2, u * 0.7 + ox, v * 0.7 + oy) + 0.3 * _noise(0, u * 4 + ox, v * 4 + oy)
    thr = 1.2 - p["amount"] * 2.2 - p["grow"] * t
    a = _smooth(thr, thr + 0.08, n)
    depth = _clip01((n - thr) * 1.5)
    col = p["blood"] + (p["dark"] - p["blood"]) * depth
    _blend(img, a, col)
    gloss = _clip01(_noise(1, u * 3 + ox, v * 3) - 1.2) * a
    _blend(img, gloss * 0.5, _col((0.9, 0.6, 0.6)))
    cs = 0.04
    ci, cj = np.floor(u / cs), np.floor(v / cs)
    on = _hash(ci, cj, p["salt"]) < p["spl"] * _clip01(n - thr + 0.8)
    r2 = (u / cs - ci - 0.5) ** 2 + (v / cs - cj - 0.5) ** 2
    rad = 0.05 + 0.12 * _hash(ci, cj, p["salt"], 1)
    _blend(img, on * _clip01((rad - r2) * 30), p["blood"])
    if p["drips"]:
        di = np.floor(u / 0.07)
        on = _hash(di, 0, p["salt"], 2) < 0.4
        length = (0.1 + 0.4 * _hash(di, 0, p["salt"], 3)) * _clip01(0.3 + t * 0.1)
        d = np.maximum(np.abs(u - (di + 0.5) * 0.07) - 0.006, v - length)
        _blend(img, _inside(d, px) * on, p["blood"])


_concept("blood", extended=False)((_lay_blood, _draw_blood))


# -- weapon
def _lay_weapon(r):
    p = dict(hard=False)
    p["kind"] = r.choice(["pistol", "knife", "rifle", "pistol"])
    p["bg"] = _jit(
        r,
        [(0.55, 0.4, 0.25), (0.6, 0.6, 0.6), (0.15, 0.15, 0.18), (0.85, 0.85, 0.8)][
            int(r.integers(4))
        ],
        0.06,
    )
    p["metal"] = _jit(r, (0.2, 0.2, 0.22) if p["kind"] != "knife" else (0.75, 0.77, 0.8), 0.05)
    p["grip"] = _jit(r, [(0.1, 0.1, 0.1), (0.4, 0.25, 0.12)][int(r.integers(2))], 0.04)
    p["cu"], p["cv"] = r.uniform(-0.25, 0.25), r.uniform(0.4, 0.6)
    p["ang"] = r.uniform(-0.6, 0.6)
    p["spin"] = r.uniform(-0.1, 0.1)
    p["scale"] = r.uniform(0.7, 1.4)
    p["flip"] = 1.0 if r.random() < 0.5 else -1.0
    p["off"] = r.uniform(0, 1, 2).astype(_F)
    return p


def _draw_weapon(p, img, u, v, t, px):
    ox, oy = p["off"]
    img[...] = p["bg"] * (0.9 + 0.1 * _noise(1, u * 3 + ox, v * 0.5 + oy))
    sc = p["scale"]
    x, y = _rot(u, v, p["cu"], p["cv"], p["ang"] + p["spin"] * t)
    x = x * p["flip"] / sc
    y = y / sc
    if p["kind"] == "pistol":
        slide = _box(x, y, 0.0, 0.0, 0.22, 0.045)
        grip = _box(*_rot(x, y, -0.14, 0.13, -0.3), 0.0, 0.0, 0.045, 0.1)
        guard = np.abs(np.hypot(x + 0.03, y - 0.07) - 0.04) - 0.008
        guard = np.maximum(guard, -(y - 0.04))
        metal = _inside(slide * sc, px)
        _blend(img, _inside(np.minimum(grip, guard) * sc, px), p["grip"])
        _blend(img, metal, p["metal"] * (1 + 0.6 * _clip01(-y / 0.05)))
    elif p["kind"] == "rifle":
        barrel = _box(x, y, 0.1, -0.01, 0.4, 0.015)
        body = _box(x, y, -0.1, 0.0, 0.15, 0.04)
        stock = _box(*_rot(x, y, -0.35, 0.03, 0.15), 0.0, 0.0, 0.12, 0.045)
        mag = _box(*_rot(x, y, -0.05, 0.08, 0.2), 0.0, 0.0, 0.02, 0.05)
        _blend(img, _inside(np.minimum(stock, mag) * sc, px), p["grip"])
        _blend(img, _inside(np.minimum(barrel, body) * sc, px), p["metal"])
    else:  # knife
        blade = np.maximum(_box(x, y, 0.1, 0.0, 0.2, 0.04), (y + 0.04) - (0.3 - x) * 0.35)
        handle = _box(x, y, -0.2, 0.01, 0.1, 0.03)
        _blend(img, _inside(handle * sc, px), p["grip"])
        shine = 0.8 + 0.4 * _clip01(-y / 0.04)
        _blend(img, _inside(blade * sc, px), p["metal"] * shine)
    # a soft shadow under the object reads as "on a table"
    _blend(img, _clip01(0.04 - np.abs(y - 0.14)) * 3 * (np.abs(x) < 0.3), _col((0, 0, 0)))


_concept("weapon", extended=False)((_lay_weapon, _draw_weapon))

assert set(_REGISTRY) == set(CONCEPTS), set(CONCEPTS) ^ set(_REGISTRY)


# ----------------------------------------------------------------------------- Scene


@cache
def _gamma_lut(gamma: float) -> np.ndarray:
    return np.clip(np.round(255.0 * (np.arange(256) / 255.0) ** gamma), 0, 255).astype(np.uint8)


@dataclass
class Scene:
    """One concept's random layout, camera path and lighting; render it at any time."""

    concept: str
    params: dict
    camera: dict
    light: dict
    second: Scene | None = None
    inset: dict = field(default_factory=dict)

    @property
    def concepts(self) -> list[str]:
        return [self.concept] + ([self.second.concept] if self.second is not None else [])

    @property
    def hard(self) -> bool:
        return bool(self.params.get("hard", False))

    def _grid(self, t: float, w: int, h: int):
        c = self.camera
        zoom = c["z0"] * (1 + c["za"] * np.sin(c["zw"] * t + c["zp"]))
        cx = c["cx"] + c["vx"] * t + c["ax"] * np.sin(c["wx"] * t + c["px"])
        cy = c["cy"] + c["ay"] * np.sin(c["wy"] * t + c["py"])
        x = (np.arange(w, dtype=_F) + 0.5) / w - 0.5
        y = (np.arange(h, dtype=_F) + 0.5) / h - 0.5
        u = (x * (w / h) / zoom + cx)[None, :].astype(_F)
        v = (y / zoom + cy)[:, None].astype(_F)
        return u, v, _F(1.0 / (h * zoom))

    def render_float(self, t: float, size: tuple[int, int] = (160, 90)) -> np.ndarray:
        w, h = int(size[0]), int(size[1])
        u, v, px = self._grid(float(t), w, h)
        img = np.empty((3, h, w), dtype=_F)
        layout, draw, _ = _REGISTRY[self.concept]
        draw(self.params, img, u, v, float(t), px)
        if self.second is not None:
            self._composite(img, t, w, h)
        lt = self.light
        x = (np.arange(w, dtype=_F) + 0.5) / w - 0.5
        y = (np.arange(h, dtype=_F) + 0.5) / h - 0.5
        shade = (
            lt["gain"]
            * (1 + lt["gx"] * x[None, :] + lt["gy"] * y[:, None])
            * (1 - lt["vig"] * (x[None, :] ** 2 + y[:, None] ** 2))
        )
        img *= shade
        img *= lt["tint"]
        return img

    def _composite(self, img: np.ndarray, t: float, w: int, h: int) -> None:
        """Draw the second scene's whole view into an inset (rect, ellipse) or one side."""
        ins = self.inset
        cx = ins["cx"] + ins["drift"] * np.sin(t * 0.4)
        if ins["mode"] == "split":
            x0, x1 = (cx, 1.0) if ins["side"] > 0 else (0.0, cx)
            y0, y1 = 0.0, 1.0
        else:
            x0, x1 = max(0.0, cx - ins["hw"]), min(1.0, cx + ins["hw"])
            y0, y1 = max(0.0, ins["cy"] - ins["hh"]), min(1.0, ins["cy"] + ins["hh"])
        px0, px1 = int(round(x0 * w)), int(round(x1 * w))
        py0, py1 = int(round(y0 * h)), int(round(y1 * h))
        bw, bh = px1 - px0, py1 - py0
        if bw < 4 or bh < 4:
            return
        other = self.second.render_float(t, (bw, bh))
        region = img[:, py0:py1, px0:px1]
        if ins["mode"] == "ellipse":
            x = (np.arange(bw, dtype=_F) + 0.5) / bw * 2 - 1
            y = (np.arange(bh, dtype=_F) + 0.5) / bh * 2 - 1
            a = _inside(np.hypot(x[None, :], y[:, None]) - 1, _F(2.0 / bw))
            _blend(region, a, other)
        else:
            region[...] = other

    def render(self, t: float, size: tuple[int, int] = (160, 90)) -> np.ndarray:
        """The frame at time ``t`` seconds as a uint8 array of shape (h, w, 3)."""
        img = self.render_float(t, size)
        np.clip(img, 0.0, 1.0, out=img)
        img *= 255.0
        img += 0.5
        planar = img.astype(np.uint8)
        lut = _gamma_lut(round(self.light["gamma"], 3))
        return np.ascontiguousarray(lut[planar].transpose(1, 2, 0))


def make_scene(
    concept: str,
    rng: np.random.Generator | int | None = None,
    *,
    second: str | None = None,
    motion: float = 1.0,
    hard: bool | None = None,
) -> Scene:
    """A random layout of ``concept`` (optionally with ``second`` composited in).

    ``motion`` scales camera movement (0 = static camera). ``hard`` forces (True) or
    forbids (False) the concept's confusable variant; None draws it at its own rate.
    """
    if concept not in _REGISTRY:
        raise KeyError(f"unknown concept {concept!r}; known: {', '.join(CONCEPTS)}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    layout, _, extended = _REGISTRY[concept]
    for _ in range(50):
        params = layout(rng)
        if hard is None or bool(params.get("hard", False)) == hard:
            break
    m = motion
    camera = dict(
        z0=rng.uniform(0.85, 1.35),
        za=rng.uniform(0.0, 0.15) * m,
        zw=rng.uniform(0.1, 0.5),
        zp=rng.uniform(0, 6.28),
        cx=rng.uniform(-0.3, 0.3),
        vx=(rng.uniform(-0.08, 0.08) * m if extended else 0.0),
        ax=rng.uniform(0.0, 0.05 if extended else 0.04) * m,
        wx=rng.uniform(0.2, 0.8),
        px=rng.uniform(0, 6.28),
        cy=0.5 + rng.uniform(-0.06, 0.06),
        ay=rng.uniform(0.0, 0.03) * m,
        wy=rng.uniform(0.2, 0.8),
        py=rng.uniform(0, 6.28),
    )
    light = dict(
        gain=rng.uniform(0.75, 1.15),
        gx=rng.uniform(-0.3, 0.3),
        gy=rng.uniform(-0.3, 0.3),
        vig=rng.uniform(0.0, 0.8),
        tint=np.clip(1 + rng.uniform(-0.08, 0.08, 3), 0.8, 1.2).astype(_F).reshape(3, 1, 1),
        gamma=float(rng.uniform(0.85, 1.15)),
    )
    sec = None
    inset: dict = {}
    if second is not None:
        sec = make_scene(second, rng, motion=motion)
        mode = rng.choice(["rect", "ellipse", "split"])
        inset = dict(
            mode=str(mode),
            cx=rng.uniform(0.3, 0.7),
            cy=rng.uniform(0.35, 0.65),
            hw=rng.uniform(0.2, 0.32),
            hh=rng.uniform(0.25, 0.4),
            side=1.0 if rng.random() < 0.5 else -1.0,
            drift=rng.uniform(0, 0.05),
        )
    return Scene(
        concept=concept, params=params, camera=camera, light=light, second=sec, inset=inset
    )


# ----------------------------------------------------------------------------- nuisances


@dataclass
class Nuisance:
    """A degradation with fixed parameters (drawn once, e.g. per shot).

    kind: noise | blur | fade | occlusion. ``strength`` in [0, 1].
    For ``fade`` the frame is multiplied by ``level`` (1 = untouched, 0 = black),
    which a caller may vary over time.
    """

    kind: str
    strength: float = 0.5
    rect: tuple[float, float, float, float] = (0.3, 0.3, 0.7, 0.7)  # x0, y0, x1, y1 (fractions)
    color: tuple[int, int, int] = (0, 0, 0)

    @classmethod
    def random(cls, kind: str, rng: np.random.Generator, strength: float | None = None) -> Nuisance:
        if kind not in NUISANCES:
            raise ValueError(f"unknown nuisance {kind!r}; known: {', '.join(NUISANCES)}")
        s = float(rng.uniform(0.3, 1.0) if strength is None else strength)
        area = 0.1 + 0.35 * s
        rw = float(np.sqrt(area) * rng.uniform(0.7, 1.4))
        rh = min(area / rw, 0.95)
        rw = min(rw, 0.95)
        x0 = float(rng.uniform(0, 1 - rw))
        y0 = float(rng.uniform(0, 1 - rh))
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.4:
            col = (0, 0, 0)
        return cls(kind=kind, strength=s, rect=(x0, y0, x0 + rw, y0 + rh), color=col)

    def apply(
        self, frame: np.ndarray, rng: np.random.Generator | None = None, level: float | None = None
    ) -> np.ndarray:
        """Degrade a uint8 HxWx3 frame (returns a new array)."""
        return apply_nuisance(
            frame, self.kind, self.strength, rng, rect=self.rect, color=self.color, level=level
        )


def _box_blur(img: np.ndarray, r: int, axis: int) -> np.ndarray:
    if r <= 0:
        return img
    n = img.shape[axis]
    pad = [(0, 0)] * img.ndim
    pad[axis] = (r + 1, r)
    c = np.cumsum(np.pad(img, pad, mode="edge"), axis=axis, dtype=np.float32)
    hi = np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=axis)
    lo = np.take(c, np.arange(0, n), axis=axis)
    return (hi - lo) / (2 * r + 1)


def apply_nuisance(
    frame: np.ndarray,
    kind: str,
    strength: float = 0.5,
    rng: np.random.Generator | None = None,
    *,
    rect: tuple[float, float, float, float] | None = None,
    color=(0, 0, 0),
    level: float | None = None,
) -> np.ndarray:
    """Apply one degradation to a uint8 HxWx3 frame.

    noise: gaussian noise with sigma up to ~45 levels; blur: box blur (two passes, about
    a gaussian) with radius up to ~4% of the width; fade: darken towards black (``level``
    overrides the multiplier); occlusion: a solid rectangle (``rect`` in fractions).
    """
    h, w = frame.shape[:2]
    s = float(np.clip(strength, 0.0, 1.0))
    if kind == "noise":
        rng = rng if rng is not None else np.random.default_rng(0)
        sigma = 6 + 40 * s
        out = frame.astype(np.float32) + rng.normal(0.0, sigma, size=frame.shape).astype(np.float32)
    elif kind == "blur":
        r = max(1, int(round(w * (0.008 + 0.035 * s))))
        out = frame.astype(np.float32)
        for _ in range(2):
            out = _box_blur(_box_blur(out, r, 0), r, 1)
    elif kind == "fade":
        mult = (1.0 - 0.85 * s) if level is None else float(level)
        out = frame.astype(np.float32) * mult
    elif kind == "occlusion":
        x0, y0, x1, y1 = rect if rect is not None else (0.3, 0.3, 0.7, 0.7)
        out = frame.copy()
        out[
            int(y0 * h) : max(int(y1 * h), int(y0 * h) + 1),
            int(x0 * w) : max(int(x1 * w), int(x0 * w) + 1),
        ] = color
        return out
    else:
        raise ValueError(f"unknown nuisance {kind!r}; known: {', '.join(NUISANCES)}")
    return np.clip(out, 0, 255).astype(np.uint8)


def random_nuisances(
    frame: np.ndarray,
    rng: np.random.Generator,
    p: float = 0.5,
    strength: tuple[float, float] = (0.2, 1.0),
) -> np.ndarray:
    """Each nuisance independently with probability ``p`` at a random strength (training/eval)."""
    out = frame
    for kind in ("occlusion", "blur", "fade", "noise"):
        if rng.random() < p:
            nz = Nuisance.random(kind, rng, strength=float(rng.uniform(*strength)))
            out = nz.apply(out, rng)
    return out


def render_sample(
    concept: str,
    rng: np.random.Generator,
    size: tuple[int, int] = (160, 90),
    *,
    nuisance_p: float = 0.0,
    strength: tuple[float, float] = (0.2, 1.0),
    t_max: float = 10.0,
) -> np.ndarray:
    """One still from a fresh random scene of ``concept`` at a random time."""
    scene = make_scene(concept, rng)
    frame = scene.render(float(rng.uniform(0, t_max)), size)
    if nuisance_p > 0:
        frame = random_nuisances(frame, rng, nuisance_p, strength)
    return frame
