"""Content checks for reelcat.pictures: decode the PNGs with Pillow and look at pixels."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from reelcat import pictures
from reelcat.pictures import (
    BACKGROUND,
    BAR_COLOUR,
    NO_DATA_COLOUR,
    TEXT,
    bar_chart_png,
    heatmap_layout,
    heatmap_png,
    markdown_image,
    severity_colour,
    severity_strip_png,
    word_cloud_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _open(png: bytes) -> Image.Image:
    assert png[:8] == PNG_MAGIC
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image.convert("RGB")


def _not_blank(image: Image.Image) -> None:
    assert np.asarray(image, dtype=float).var() > 0


def _cell(image: Image.Image, layout: dict, i: int, j: int) -> tuple[int, int, int]:
    """Colour at the centre of heat-map row i, bin j, located only through the layout."""
    x = layout["left"] + (j + 0.5) * layout["bin_width"]
    y = layout["top"] + (i + 0.5) * layout["row_height"] - layout["row_gap"] / 2
    return image.getpixel((int(x), int(y)))


def _darkness(rgb: tuple[int, int, int]) -> int:
    return 765 - sum(rgb)


# --------------------------------------------------------------------------- ramp


def test_severity_colour_ramp() -> None:
    low, mid, high = severity_colour(0.0), severity_colour(0.5), severity_colour(1.0)
    assert min(low) > 220  # pale at 0
    r, g, b = mid
    assert r > 240 and 100 < g < 200 and b < 100  # orange in the middle
    assert high[0] > 2 * max(high[1], high[2]) and sum(high) < 250  # dark red at 1
    darkness = [_darkness(severity_colour(v)) for v in np.linspace(0, 1, 21)]
    assert darkness == sorted(darkness)  # monotone: higher severity is never lighter
    assert severity_colour(-3) == low and severity_colour(7) == high  # clipped
    assert severity_colour(float("nan")) == NO_DATA_COLOUR


# --------------------------------------------------------------------------- word cloud


def test_word_cloud_size_and_determinism() -> None:
    weights = {"beach": 10, "city at night": 5}
    first = word_cloud_png(weights, width=320, height=160, seed=3)
    second = word_cloud_png(weights, width=320, height=160, seed=3)
    assert first == second
    image = _open(first)
    assert image.size == (320, 160)
    _not_blank(image)


def test_word_cloud_keeps_multiword_tags_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    import wordcloud

    seen: dict[str, float] = {}
    original = wordcloud.WordCloud.generate_from_frequencies

    def spy(self, frequencies, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(frequencies)
        return original(self, frequencies, *args, **kwargs)

    monkeypatch.setattr(wordcloud.WordCloud, "generate_from_frequencies", spy)
    word_cloud_png({"beach": 10, "city at night": 5}, width=240, height=120)
    assert set(seen) == {"beach", "city at night"}


@pytest.mark.parametrize("weights", [{}, {"beach": 0, "dog": 0.0}, {"x": float("nan")}])
def test_word_cloud_without_tags_is_a_picture(weights: dict[str, float]) -> None:
    image = _open(word_cloud_png(weights, width=200, height=100))
    assert image.size == (200, 100)
    _not_blank(image)  # it says "no tags"


# --------------------------------------------------------------------------- bar chart


def _bar_lengths(image: Image.Image) -> list[int]:
    """Bar length per bar, top to bottom: runs of rows holding bar-coloured pixels."""
    arr = np.asarray(image)
    per_row = (arr == np.array(BAR_COLOUR, dtype=np.uint8)).all(axis=2).sum(axis=1)
    lengths, current = [], 0
    for count in per_row:
        if count:
            current = max(current, int(count))
        elif current:
            lengths.append(current)
            current = 0
    if current:
        lengths.append(current)
    return lengths


def test_bar_chart_largest_on_top() -> None:
    png = bar_chart_png(
        ["violence", "weapons", "alcohol and drugs"], [0.1, 0.4, 0.25], title="Flagged share"
    )
    image = _open(png)
    assert image.width == 480
    _not_blank(image)
    lengths = _bar_lengths(image)
    assert len(lengths) == 3
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[0] > lengths[1] > lengths[2] > 0
    # Scaled to the largest value: 0.25 / 0.4 of the top bar, give or take a pixel.
    assert abs(lengths[1] / lengths[0] - 0.25 / 0.4) < 0.02


def test_bar_chart_many_and_empty() -> None:
    labels = [f"tag {i}" for i in range(60)]
    image = _open(bar_chart_png(labels, list(range(60)), title="Tags", value_format="{:.0f}"))
    assert len(_bar_lengths(image)) == 30  # capped at max_bars; the title says top 30 of 60
    empty = _open(bar_chart_png([], [], title="Nothing"))
    assert empty.width == 480
    _not_blank(empty)
    with pytest.raises(ValueError):
        bar_chart_png(["a"], [1.0, 2.0], title="mismatch")


# --------------------------------------------------------------------------- heat map


def test_heatmap_rows_coloured_by_severity() -> None:
    n_bins = 10
    rows = np.array([[0.9] * n_bins, [0.1] * n_bins, [np.nan] * n_bins])
    png = heatmap_png(["hot.mp4", "calm.mp4", "broken.mp4"], rows, title="Severity")
    image = _open(png)
    layout = heatmap_layout(3, n_bins)
    assert image.size == (layout["width"], layout["height"])
    _not_blank(image)
    for j in range(n_bins):
        hot, calm, grey = (_cell(image, layout, i, j) for i in range(3))
        assert _darkness(hot) > _darkness(calm) + 200
        assert hot[0] - hot[2] > calm[0] - calm[2]  # redder
        assert hot == severity_colour(0.9) and calm == severity_colour(0.1)
        assert grey == NO_DATA_COLOUR
        assert max(grey) - min(grey) < 16  # grey: no hue


def test_heatmap_keeps_the_given_row_order() -> None:
    rows = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]])
    image = _open(heatmap_png(["a", "b", "c"], rows))
    layout = heatmap_layout(3, 2)
    assert [_cell(image, layout, i, 0) for i in range(3)] == [
        severity_colour(0.0),
        severity_colour(1.0),
        severity_colour(0.5),
    ]


def test_heatmap_rule_divides_the_queued_rows_from_the_cleared() -> None:
    rows = np.array([[0.9, 0.9], [0.2, 0.2], [0.8, 0.8], [0.0, 0.0]])
    image = _open(heatmap_png(["a", "b", "c", "d"], rows, review_rows=2))
    layout = heatmap_layout(4, 2)
    seam = [layout["top"] + (i + 1) * layout["row_height"] - 1 for i in range(3)]
    x_mid = int(layout["left"] + layout["plot_width"] / 2)
    assert [image.getpixel((x_mid, y)) for y in seam] == [BACKGROUND, TEXT, BACKGROUND]
    assert image.getpixel((layout["left"] - 4, seam[1])) == TEXT  # the mark beside the grid
    assert [_cell(image, layout, i, 1) for i in range(4)] == [
        severity_colour(v) for v in rows[:, 1]
    ]


def test_heatmap_single_row_and_bins_in_order() -> None:
    values = np.linspace(0, 1, 7)
    image = _open(heatmap_png(["only.mp4"], values[None, :]))
    layout = heatmap_layout(1, 7)
    assert layout["row_height"] == 24 and layout["show_labels"]
    assert [_cell(image, layout, 0, j) for j in range(7)] == [severity_colour(v) for v in values]


def test_heatmap_many_rows_is_bounded_and_truncated() -> None:
    rng = np.random.default_rng(0)
    n, n_bins = 2000, 50
    rows = rng.random((n, n_bins))
    rows[5] = np.nan
    png = heatmap_png([f"video_{i}.mp4" for i in range(n)], rows, title="Archive", max_rows=400)
    image = _open(png)
    layout = heatmap_layout(n, n_bins, max_rows=400)
    assert layout["n_shown"] == 400 and layout["truncated"]
    assert image.size == (layout["width"], layout["height"])
    assert image.height < 1200
    assert 1 <= layout["row_height"] <= 2 and not layout["show_labels"]
    assert _cell(image, layout, 5, 3) == NO_DATA_COLOUR
    assert _cell(image, layout, 399, 7) == severity_colour(rows[399, 7])
    # No title at all also works when truncating (the title becomes "Top 400 of 2,000 ...").
    _not_blank(_open(heatmap_png([""] * n, rows, max_rows=400)))


def test_heatmap_layout_adapts_row_height() -> None:
    heights = [heatmap_layout(n, 20)["row_height"] for n in (1, 30, 200, 400, 2000)]
    assert heights[0] == 24 and heights == sorted(heights, reverse=True)
    assert heights[-1] >= 1
    for n in (1, 200, 2000):
        assert heatmap_layout(n, 20)["height"] < 1200


def test_heatmap_seconds_axis_ends_short_videos_in_grey() -> None:
    rows = np.array([[0.8] * 4, [0.8] * 4])
    png = heatmap_png(["long", "half"], rows, time_axis="seconds", durations=[120.0, 60.0])
    image = _open(png)
    layout = heatmap_layout(2, 4)
    long_row = [_cell(image, layout, 0, j) for j in range(4)]
    half_row = [_cell(image, layout, 1, j) for j in range(4)]
    assert long_row == [severity_colour(0.8)] * 4
    assert half_row[:2] == [severity_colour(0.8)] * 2
    assert half_row[2:] == [NO_DATA_COLOUR] * 2
    with pytest.raises(ValueError):
        heatmap_png(["a"], rows[:1], time_axis="seconds")


def test_heatmap_many_bins_keeps_spikes() -> None:
    n_bins = 5000
    row = np.zeros(n_bins)
    row[2500] = 1.0  # one bin in 5000: pooled columns must show it, not average it away
    image = _open(heatmap_png(["v"], row[None, :]))
    layout = heatmap_layout(1, n_bins)
    y = int(layout["top"] + layout["row_height"] / 2)
    strip = [image.getpixel((layout["left"] + x, y)) for x in range(layout["plot_width"])]
    assert severity_colour(1.0) in strip


def test_heatmap_empty_and_mismatched() -> None:
    _not_blank(_open(heatmap_png([], np.zeros((0, 10)))))
    with pytest.raises(ValueError):
        heatmap_png(["a", "b"], np.zeros((3, 4)))


# --------------------------------------------------------------------------- strip


def test_severity_strip() -> None:
    values = np.array([0.0, 0.0, 1.0, 1.0, np.nan])
    image = _open(severity_strip_png(values, 95.0, width=400, height=36, label="clip.mp4"))
    assert image.size == (400, 36)
    _not_blank(image)
    arr = np.asarray(image)
    row = [tuple(int(c) for c in px) for px in arr[10]]  # a line through the strip
    assert severity_colour(1.0) in row and severity_colour(0.0) in row
    assert NO_DATA_COLOUR in row
    # Timeline order: the clean start comes before the red part, the grey end last.
    assert (
        row.index(severity_colour(0.0))
        < row.index(severity_colour(1.0))
        < row.index(NO_DATA_COLOUR)
    )
    _not_blank(_open(severity_strip_png(np.array([]), 0.0)))


# --------------------------------------------------------------------------- markdown


def test_markdown_image_round_trips() -> None:
    png = pictures.severity_strip_png(np.array([0.2, 0.7]), 10.0)
    md = markdown_image(png, "severity [clip]")
    assert md.startswith("![severity (clip)](data:image/png;base64,")
    assert md.endswith(")")
    payload = md.split("base64,", 1)[1][:-1]
    assert base64.b64decode(payload) == png
