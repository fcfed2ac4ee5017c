"""PNG pictures for the catalogue: word clouds, bar charts and severity heat maps.

Every function returns PNG bytes (or, for `markdown_image`, a markdown string), so the
caller can write a file, attach Dagster markdown metadata or embed it in a report without
this module knowing about any of them. Drawing is Pillow-only (plus `wordcloud` for the
cloud): it is fast, needs no display backend, and the pixels land exactly where
`heatmap_layout` says, which is what lets tests read colours back out of the PNG.

Severity values are in [0, 1]; NaN means "no data" and is drawn grey everywhere.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import math
import os
import random
from collections.abc import Sequence
from functools import cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "BAR_COLOUR",
    "NO_DATA_COLOUR",
    "bar_chart_png",
    "heatmap_layout",
    "heatmap_png",
    "markdown_image",
    "severity_colour",
    "severity_strip_png",
    "word_cloud_png",
]

RGB = tuple[int, int, int]

# Palette: neutral greys for chrome so only the data carries colour.
BACKGROUND: RGB = (255, 255, 255)
TEXT: RGB = (33, 37, 41)
MUTED: RGB = (108, 117, 125)
RULE: RGB = (206, 212, 218)
BAR_COLOUR: RGB = (52, 101, 164)
NO_DATA_COLOUR: RGB = (200, 202, 206)

# The severity ramp, pale -> yellow -> orange -> dark red (close to ColorBrewer YlOrRd,
# which is colour-blind safe and prints well in greyscale). Pale rather than pure white at
# 0 so a clean video still reads as "data" against the white page.
_RAMP_STOPS: tuple[tuple[float, RGB], ...] = (
    (0.00, (255, 251, 232)),
    (0.20, (254, 234, 150)),
    (0.40, (254, 190, 80)),
    (0.60, (252, 128, 50)),
    (0.80, (218, 36, 30)),
    (1.00, (118, 0, 36)),
)

# Cool, print-safe colours for the word cloud: the wordcloud default (viridis) puts
# unreadable yellow on white, and warm colours would read as "severity" next to the ramp.
_CLOUD_PALETTE = (
    "#1b3a5c",
    "#1f5f99",
    "#2f80c0",
    "#16707a",
    "#2a9d8f",
    "#4b4e8c",
    "#56606b",
)


# --------------------------------------------------------------------------- fonts


@cache
def _font_path(bold: bool = False) -> str | None:
    """A DejaVu Sans file: matplotlib ships one in its wheel, else the system's."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    candidates: list[str] = []
    # find_spec locates matplotlib without importing it (importing costs ~0.5 s).
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            candidates.append(os.path.join(root, "mpl-data", "fonts", "ttf", name))
    candidates += [
        f"/usr/share/fonts/truetype/dejavu/{name}",
        f"/usr/share/fonts/TTF/{name}",
        f"/usr/share/fonts/dejavu/{name}",
    ]
    return next((p for p in candidates if os.path.isfile(p)), None)


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _font_path(bold)
    if path is not None:
        return ImageFont.truetype(path, size)
    # Pillow's built-in scalable font: always there, so pictures never fail on fonts.
    return ImageFont.load_default(size=size)


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    fill: RGB = TEXT,
    anchor: str = "la",
) -> None:
    try:
        draw.text(xy, text, font=font, fill=fill, anchor=anchor)
    except ValueError:  # bitmap fonts (no FreeType) cannot anchor; place top-left
        draw.text(xy, text, font=font, fill=fill)


def _text_width(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> float:
    return float(font.getlength(text))


def _fit(
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    max_width: float,
    *,
    middle: bool = False,
) -> str:
    """Shorten `text` with an ellipsis so it fits `max_width` pixels.

    middle=True keeps both ends ("archive/20…/clip_0042.mp4"): for paths the file name
    at the end is what tells rows apart.
    """
    if _text_width(text, font) <= max_width:
        return text

    def cut(k: int) -> str:
        if middle:
            head = (k + 1) // 3  # a third from the start, two thirds from the end
            return text[:head] + "…" + text[len(text) - (k - head) :]
        return text[:k].rstrip() + "…"

    lo, hi = 0, len(text)
    while lo < hi:  # most characters that still fit with the ellipsis
        mid = (lo + hi + 1) // 2
        if _text_width(cut(mid), font) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return cut(lo)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _message_png(message: str, width: int, height: int, title: str = "") -> bytes:
    """A placeholder picture ("no data", "no tags") so callers never get an exception."""
    width, height = max(int(width), 120), max(int(height), 60)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, height - 1), outline=RULE)
    if title:
        _text(draw, (12, 10), _fit(title, _font(14, True), width - 24), _font(14, True))
    _text(draw, (width / 2, height / 2), message, _font(15), MUTED, anchor="mm")
    return _png(image)


# --------------------------------------------------------------------------- colour


def severity_colour(v: float) -> RGB:
    """The shared severity ramp: 0 pale, then yellow, orange, dark red at 1.

    Values are clipped to [0, 1]; NaN (no data) gives NO_DATA_COLOUR.
    """
    # Same code path as whole images, so a single colour always matches the pixels.
    r, g, b = _colourise(np.array([v], dtype=float))[0]
    return int(r), int(g), int(b)


_STOP_X = np.array([x for x, _ in _RAMP_STOPS])
_STOP_RGB = np.array([c for _, c in _RAMP_STOPS], dtype=float)


def _colourise(values: np.ndarray) -> np.ndarray:
    """(...) floats in [0, 1] / NaN -> (..., 3) uint8 RGB, piecewise-linear between stops."""
    values = np.asarray(values, dtype=float)
    nan = np.isnan(values)
    flat = np.clip(np.where(nan, 0.0, values), 0.0, 1.0).ravel()
    channels = [np.interp(flat, _STOP_X, _STOP_RGB[:, k]) for k in range(3)]
    out = np.rint(np.stack(channels, axis=-1)).astype(np.uint8).reshape(*values.shape, 3)
    out[nan] = NO_DATA_COLOUR
    return out


def _columns(values: np.ndarray, n_cols: int, coverage: float = 1.0) -> np.ndarray:
    """Resample one timeline onto `n_cols` pixel columns spanning the axis [0, 1].

    The row's bins are spread evenly over [0, coverage] (coverage < 1: a video shorter
    than the axis); columns past its end are NaN. A column spanning several bins takes
    their max, so a one-bin spike in a long video is never averaged away.
    """
    values = np.asarray(values, dtype=float).ravel()
    n = values.size
    out = np.full(n_cols, np.nan)
    if n == 0 or n_cols <= 0 or not coverage > 0:
        return out
    edges = np.arange(n_cols + 1) / n_cols * (n / coverage)  # in source-bin units
    starts = np.floor(edges[:-1] + 1e-9).astype(np.intp)
    ends = np.maximum(np.ceil(edges[1:] - 1e-9).astype(np.intp), starts + 1)
    valid = starts < n
    if not valid.any():
        return out
    starts, ends = starts[valid], np.minimum(ends[valid], n)
    span = int((ends - starts).max())
    idx = np.minimum(starts[:, None] + np.arange(span)[None, :], (ends - 1)[:, None])
    filled = np.where(np.isnan(values), -np.inf, values)  # NaN must not win a max
    pooled = filled[idx].max(axis=1)
    pooled[np.isneginf(pooled)] = np.nan
    out[valid] = pooled
    return out


# --------------------------------------------------------------------------- time ticks

_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)


def _format_seconds(t: float, total: float) -> str:
    t = int(round(t))
    if total < 60:
        return f"{t}s"
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if total >= 3600 else f"{m}:{s:02d}"


def _second_ticks(total: float, max_ticks: int) -> list[float]:
    if not total > 0:
        return [0.0]
    step = next((s for s in _NICE_STEPS if total / s <= max_ticks), None)
    if step is None:  # very long: hours, rounded
        step = 3600 * math.ceil(total / 3600 / max_ticks)
    return [float(t) for t in np.arange(0.0, total + 1e-9, step)]


def _draw_time_axis(
    draw: ImageDraw.ImageDraw,
    *,
    left: int,
    plot_width: int,
    y: int,
    ticks: list[tuple[float, str]],
    image_width: int,
    font_size: int = 11,
) -> None:
    """Tick marks and labels; `ticks` are (fraction of the axis, label)."""
    font = _font(font_size)
    for frac, label in ticks:
        x = left + round(frac * plot_width)
        x = min(x, left + plot_width - 1)
        draw.line((x, y, x, y + 3), fill=MUTED)
        half = _text_width(label, font) / 2
        # Keep edge labels inside the picture instead of clipping them.
        cx = min(max(x, half + 1), image_width - half - 2)
        _text(draw, (cx, y + 5), label, font, MUTED, anchor="mt")


# --------------------------------------------------------------------------- word cloud


def word_cloud_png(
    weights: dict[str, float], *, width: int = 480, height: int = 240, seed: int = 0
) -> bytes:
    """A word cloud of tag weights; multi-word tags ("city at night") stay whole.

    Deterministic for a given seed (layout and colours both come from it). Empty or
    all-zero weights give a small "no tags" picture instead of raising.
    """
    from wordcloud import WordCloud  # heavy-ish import, only paid when a cloud is drawn

    clean: dict[str, float] = {}
    for key, value in (weights or {}).items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            continue
        tag = " ".join(str(key).split())  # normalise whitespace, keep the words together
        if tag and math.isfinite(v) and v > 0:
            clean[tag] = clean.get(tag, 0.0) + v
    if not clean:
        return _message_png("no tags", width, height)

    def colour(word: str, font_size: int, position: object, orientation: object,
               random_state: random.Random, **_: object) -> str:  # fmt: skip
        # random_state is WordCloud's own Random(seed): same seed, same colours.
        return random_state.choice(_CLOUD_PALETTE)

    cloud = WordCloud(
        width=int(width),
        height=int(height),
        background_color="white",
        random_state=seed,
        prefer_horizontal=1.0,  # horizontal text reads faster than the default mix
        font_path=_font_path(bold=True),
        color_func=colour,
        margin=4,
        min_font_size=8,
        max_words=200,
        relative_scaling=0.5,
    )
    try:
        cloud.generate_from_frequencies(clean)
    except ValueError:  # nothing fits (picture too small): say so rather than fail
        return _message_png("tags do not fit", width, height)
    return _png(cloud.to_image().convert("RGB"))


# --------------------------------------------------------------------------- bar chart


def bar_chart_png(
    labels: list[str],
    values: list[float],
    *,
    title: str,
    value_format: str = "{:.0%}",
    width: int = 480,
    max_bars: int = 30,
) -> bytes:
    """Horizontal bars, largest on top, with the value printed at each bar's end.

    Bars are scaled to the largest value. More than `max_bars` entries: the largest
    `max_bars` are drawn and the title says "top N of M". Empty input: "no data" picture.
    """
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values")
    width = max(int(width), 240)
    pairs = []
    for label, value in zip(labels, values, strict=True):
        try:
            v = float(value)
        except (TypeError, ValueError):
            v = math.nan
        pairs.append((str(label), v))
    if not pairs:
        return _message_png("no data", width, 120, title)
    # Largest on top; NaN sorts last. Stable, so ties keep the caller's order.
    pairs.sort(key=lambda p: -p[1] if math.isfinite(p[1]) else math.inf)
    total = len(pairs)
    if total > max_bars > 0:
        pairs = pairs[:max_bars]
        title = (
            f"{title} (top {len(pairs)} of {total:,})"
            if title
            else f"Top {len(pairs)} of {total:,}"
        )

    title_font, label_font, value_font = _font(14, True), _font(12), _font(11)
    pad, bar_h, gap = 12, 20, 8
    title_h = 36 if title else pad
    height = title_h + len(pairs) * (bar_h + gap) - gap + pad + 4

    value_texts = [value_format.format(v) if math.isfinite(v) else "n/a" for _, v in pairs]
    value_w = max(_text_width(t, value_font) for t in value_texts) + 8
    label_w = min(max(_text_width(lbl, label_font) for lbl, _ in pairs), width * 0.42)
    bar_x0 = pad + int(label_w) + 10
    bar_max = max(width - bar_x0 - int(value_w) - pad, 20)
    top = max((v for _, v in pairs if math.isfinite(v)), default=0.0)

    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    if title:
        _text(draw, (pad, 12), _fit(title, title_font, width - 2 * pad), title_font)
    draw.line((bar_x0, title_h - 4, bar_x0, height - pad), fill=RULE)  # baseline
    for i, ((label, v), vtext) in enumerate(zip(pairs, value_texts, strict=True)):
        y0 = title_h + i * (bar_h + gap)
        cy = y0 + bar_h / 2
        _text(draw, (bar_x0 - 8, cy), _fit(label, label_font, label_w), label_font, TEXT, "rm")
        length = round(bar_max * v / top) if top > 0 and math.isfinite(v) and v > 0 else 0
        if length > 0:
            draw.rectangle((bar_x0 + 1, y0, bar_x0 + length, y0 + bar_h - 1), fill=BAR_COLOUR)
        _text(draw, (bar_x0 + length + 6, cy), vtext, value_font, MUTED, "lm")
    return _png(image)


# --------------------------------------------------------------------------- heat map

_PLOT_TARGET_W = 720  # preferred width of the grid itself
_MAX_EXACT_COLS = 960  # up to this many bins, every bin gets whole pixels
_PLOT_TARGET_H = 800  # the grid's height budget; rows shrink to fit it
_MAX_ROW_H = 24
_LABEL_MIN_ROW_H = 10  # below this, text labels would overlap: show ranks instead
_TITLE_H = 46
_BOTTOM_H = 66  # time ticks, caption and legend
_LEFT_LABELS = 200
_LEFT_RANKS = 52
_RIGHT = 24


def heatmap_layout(n_rows: int, n_bins: int, *, max_rows: int = 400) -> dict:
    """Geometry of `heatmap_png`, so callers and tests can find a cell's pixels.

    Row i (0-based, in the order given) spans y in [top + i*row_height,
    top + (i+1)*row_height - row_gap); bin j spans x in [left + j*bin_width,
    left + (j+1)*bin_width). The centre of cell (i, j) is therefore at
    (left + (j + 0.5) * bin_width, top + (i + 0.5) * row_height - row_gap / 2).
    bin_width is a whole number unless there are more than 960 bins (then several bins
    share a pixel column, which shows their max).
    """
    n_rows, n_bins, max_rows = max(int(n_rows), 0), max(int(n_bins), 1), max(int(max_rows), 1)
    n_shown = min(n_rows, max_rows)
    if n_bins <= _MAX_EXACT_COLS:
        bin_px = max(1, round(_PLOT_TARGET_W / n_bins))
        plot_width = bin_px * n_bins
    else:
        plot_width = _PLOT_TARGET_W
    row_height = max(1, min(_MAX_ROW_H, _PLOT_TARGET_H // max(n_shown, 1)))
    # A 1 px white seam between tall rows reads as separate videos; thin rows need
    # every pixel for colour.
    row_gap = 1 if row_height >= 8 else 0
    show_labels = row_height >= _LABEL_MIN_ROW_H
    left = _LEFT_LABELS if show_labels else _LEFT_RANKS
    top = _TITLE_H
    plot_height = n_shown * row_height
    width = max(left + plot_width + _RIGHT, 520)  # room for title and legend
    return {
        "n_rows": n_rows,
        "n_shown": n_shown,
        "truncated": n_rows > n_shown,
        "n_bins": n_bins,
        "top": top,
        "left": left,
        "row_height": row_height,
        "row_gap": row_gap,
        "bin_width": plot_width / n_bins,
        "plot_width": plot_width,
        "plot_height": plot_height,
        "show_labels": show_labels,
        "label_font_size": min(12, row_height - 2) if show_labels else 0,
        "width": width,
        "height": top + plot_height + _BOTTOM_H,
    }


def _rank_ticks(n: int) -> list[int]:
    """1-based ranks worth printing down the left edge when rows are too thin for names."""
    if n <= 0:
        return []
    step = next(
        (s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if n / s <= 8), 1000
    )
    ticks = [1] + [r for r in range(step, n + 1, step) if r != 1]
    return ticks


def heatmap_png(
    labels: list[str],
    rows: np.ndarray,
    *,
    title: str = "",
    max_rows: int = 400,
    time_axis: Literal["relative", "seconds"] = "relative",
    durations: Sequence[float] | None = None,
    review_rows: int = 0,
    total: int | None = None,
) -> bytes:
    """The archive severity heat map: one row per video, columns are time bins.

    `total`: the archive's number of videos when `rows` holds only its first ones (an
    archive of a million videos passes its top `max_rows`, not every row).

    The first `review_rows` rows are the videos queued for review: a dark rule (in the
    seam between rows, and as marks beside the grid) divides them from the cleared ones.

    `rows` is (n_videos, n_bins) severity in [0, 1], NaN = no data (grey). Rows are drawn
    in the order given (the caller sorts by risk); beyond `max_rows` only the first
    `max_rows` are drawn and the title says "top N of M". With time_axis="relative" each
    row's bins span its own video start to end. With time_axis="seconds" each row's bins
    still span its own video (pass its length in `durations`), but rows share an absolute
    axis from 0 to the longest shown video, so shorter videos end early in grey.
    Geometry comes from `heatmap_layout(len(rows), n_bins, max_rows=max_rows)`.
    """
    arr = np.asarray(rows, dtype=float)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1) if arr.size else arr.reshape(0, 0)
    if arr.ndim != 2:
        raise ValueError(f"rows must be 2-D (videos x bins), got shape {arr.shape}")
    labels = [str(x) for x in labels]
    if len(labels) != arr.shape[0]:
        raise ValueError(f"{len(labels)} labels but {arr.shape[0]} rows")
    if time_axis not in ("relative", "seconds"):
        raise ValueError(f"time_axis must be 'relative' or 'seconds', not {time_axis!r}")
    if time_axis == "seconds":
        if durations is None or len(durations) != arr.shape[0]:
            raise ValueError("time_axis='seconds' needs one duration per row")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        return _message_png("no data", 520, 140, title)

    n_rows, n_bins = arr.shape
    n_total = max(n_rows, total or 0)
    lay = heatmap_layout(n_total, n_bins, max_rows=max_rows)
    n, rh, gap = lay["n_shown"], lay["row_height"], lay["row_gap"]
    left, top, pw = lay["left"], lay["top"], lay["plot_width"]
    shown = arr[:n]

    # One value per (row, pixel column), then colour and blow up to pixel rows.
    if time_axis == "seconds":
        durs = np.array([float(d) if d is not None else math.nan for d in durations[:n]])  # type: ignore[index]
        good = np.isfinite(durs) & (durs > 0)
        span = float(durs[good].max()) if good.any() else 0.0
        cols = np.vstack(
            [
                _columns(r, pw, d / span) if ok and span > 0 else np.full(pw, np.nan)
                for r, d, ok in zip(shown, durs, good, strict=True)
            ]
        )
    else:
        span = 0.0
        if n_bins == pw:
            cols = shown
        else:
            cols = np.vstack([_columns(r, pw) for r in shown])
    cells = _colourise(cols)  # (n, pw, 3)
    block = np.repeat(cells, rh, axis=0)
    if gap:
        seam = np.arange(block.shape[0]) % rh >= rh - gap
        block[seam] = BACKGROUND

    image = Image.new("RGB", (lay["width"], lay["height"]), BACKGROUND)
    image.paste(Image.fromarray(block, "RGB"), (left, top))
    draw = ImageDraw.Draw(image)
    bottom = top + lay["plot_height"]
    draw.rectangle((left - 1, top - 1, left + pw, bottom), outline=RULE)

    queue_note = ""
    if 0 < review_rows < n:
        y = top + review_rows * rh - 1  # the seam under the last queued row, when there is one
        draw.line((left - 7, y, left - 2, y), fill=TEXT, width=2)
        draw.line((left + pw + 1, y, left + pw + 6, y), fill=TEXT, width=2)
        if gap:
            draw.line((left, y, left + pw - 1, y), fill=TEXT)
        queue_note = " · above the dark rule: to review"

    # Title, with the truncation said out loud so nobody thinks 400 is the archive.
    if lay["truncated"]:
        note = f"top {n:,} of {n_total:,} videos"
        title = f"{title} — {note}" if title else note[0].upper() + note[1:]
    if title:
        tf = _font(15, True)
        _text(draw, (12, 12), _fit(title, tf, lay["width"] - 24), tf)

    # Row names when rows are tall enough to read; otherwise rank numbers.
    if lay["show_labels"]:
        lf = _font(lay["label_font_size"])
        for i, label in enumerate(labels[:n]):
            cy = top + i * rh + (rh - gap) / 2
            _text(draw, (left - 8, cy), _fit(label, lf, left - 20, middle=True), lf, TEXT, "rm")
    else:
        rf = _font(10)
        for r in _rank_ticks(n):
            cy = top + (r - 0.5) * rh
            draw.line((left - 4, cy, left - 2, cy), fill=MUTED)
            _text(draw, (left - 7, cy), f"{r:,}", rf, MUTED, "rm")
        _text(draw, (left - 7, top - 7), "rank", rf, MUTED, "rb")

    # Time axis.
    if time_axis == "seconds" and span > 0:
        ticks = [
            (t / span, _format_seconds(t, span)) for t in _second_ticks(span, max(2, pw // 90))
        ]
        caption = "time from start of video (m:ss)" if span >= 60 else "time from start of video"
        if span >= 3600:
            caption = "time from start of video (h:mm:ss)"
    else:
        ticks = [(f, f"{f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1.0)]
        caption = "position in video (% of its duration)"
    _draw_time_axis(
        draw, left=left, plot_width=pw, y=bottom + 1, ticks=ticks, image_width=lay["width"]
    )
    cf = _font(11)
    legend_y = bottom + 40
    _text(draw, (left, legend_y + 5), caption + queue_note, cf, MUTED, "lm")
    _draw_legend(draw, right=lay["width"] - _RIGHT, y=legend_y)
    return _png(image)


def _draw_legend(draw: ImageDraw.ImageDraw, *, right: int, y: int) -> None:
    """Colour bar 0..1 plus a grey "no data" swatch, right-aligned at `right`."""
    f = _font(10)
    bar_w, bar_h = 120, 10
    nd_w = 14 + 4 + int(_text_width("no data", f))
    x_nd = right - nd_w
    x1 = x_nd - 18
    x0 = x1 - bar_w
    xs = np.linspace(0.0, 1.0, bar_w)
    for k, v in enumerate(xs):
        draw.line((x0 + k, y, x0 + k, y + bar_h - 1), fill=severity_colour(float(v)))
    draw.rectangle((x0 - 1, y - 1, x1, y + bar_h), outline=RULE)
    _text(draw, (x0 - 5, y + bar_h / 2), "severity  0", f, MUTED, "rm")
    _text(draw, (x1 + 4, y + bar_h / 2), "1", f, MUTED, "lm")
    draw.rectangle((x_nd, y, x_nd + 13, y + bar_h - 1), fill=NO_DATA_COLOUR, outline=RULE)
    _text(draw, (x_nd + 18, y + bar_h / 2), "no data", f, MUTED, "lm")


# --------------------------------------------------------------------------- strip


def severity_strip_png(
    values: np.ndarray,
    duration: float,
    *,
    width: int = 480,
    height: int = 36,
    label: str = "",
) -> bytes:
    """One video's severity along its timeline, same ramp as the heat map, with ticks in seconds.

    `values` are bins spread evenly over [0, duration]; NaN is grey. An optional `label`
    is printed to the left of the strip.
    """
    width, height = max(int(width), 120), max(int(height), 24)
    vals = np.asarray(values, dtype=float).ravel()
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    axis_h = 14  # tick marks + 10 px labels under the strip
    strip_top, strip_bottom = 2, height - axis_h - 1  # inclusive bottom row
    x0 = 6
    if label:
        lf = _font(11)
        text = _fit(label, lf, width * 0.3)
        _text(draw, (x0, (strip_top + strip_bottom) / 2), text, lf, TEXT, "lm")
        x0 += int(_text_width(text, lf)) + 10
    x1 = width - 8  # exclusive; leaves room for the last tick label
    strip_w = max(x1 - x0, 10)

    cols = _columns(vals, strip_w) if vals.size else np.full(strip_w, np.nan)
    strip = np.repeat(_colourise(cols)[None, :, :], strip_bottom - strip_top + 1, axis=0)
    image.paste(Image.fromarray(strip, "RGB"), (x0, strip_top))
    draw.rectangle((x0 - 1, strip_top - 1, x0 + strip_w, strip_bottom + 1), outline=RULE)

    dur = float(duration) if duration is not None else math.nan
    if math.isfinite(dur) and dur > 0:
        ticks = [
            (t / dur, _format_seconds(t, dur)) for t in _second_ticks(dur, max(2, strip_w // 70))
        ]
    else:
        ticks = [(f, f"{f:.0%}") for f in (0, 0.5, 1.0)]
    _draw_time_axis(
        draw,
        left=x0,
        plot_width=strip_w,
        y=strip_bottom + 1,
        ticks=ticks,
        image_width=width,
        font_size=9,
    )
    return _png(image)


# --------------------------------------------------------------------------- markdown


def markdown_image(png: bytes, alt: str) -> str:
    """Inline a PNG as markdown (Dagster's markdown metadata renders data: URIs)."""
    alt = alt.replace("[", "(").replace("]", ")").replace("\n", " ")  # keep the syntax intact
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
