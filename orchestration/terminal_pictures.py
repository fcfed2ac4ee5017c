"""The terminal review's input and pictures: one key per answer where stdin is a
terminal, and the frame drawn inline (kitty's or iTerm2's image protocol, or colour
half-blocks where the terminal has true colour)."""

from __future__ import annotations

import base64
import io
import os
import shutil
import sys
from pathlib import Path

PICTURE_COLUMNS = 48  # how wide the terminal review draws a frame, in characters


def read_key(prompt: str) -> str:
    """One answer: on a terminal a single key press, no Enter needed (cbreak mode, so
    Ctrl-C still interrupts); from a pipe or file, the first character of the next line.
    EOFError at the end of the input (Ctrl-D on a terminal)."""
    if not sys.stdin.isatty():
        return input(prompt).strip().lower()[:1]
    import termios
    import tty

    print(prompt, end="", flush=True)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)  # (the default flushes keys typed ahead)
        pressed = os.read(fd, 8).decode(errors="replace")  # a key's whole escape sequence
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    if pressed in ("", "\x04"):
        raise EOFError
    print(pressed if pressed.isprintable() else "")
    return pressed.lower() if len(pressed) == 1 else "?"


def picture_file(shown: str) -> Path | None:
    """The image file ReviewSession.picture names ("PATH", "PATH  (thumbnail: why)"), if
    there is one ("no picture: why")."""
    path = Path(shown.split("  (", 1)[0])
    return path if path.is_file() else None


def draw_picture(path: Path | None) -> None:
    """Draw the picture on stdout where the terminal can: inline at full resolution in
    kitty (its graphics protocol) or iTerm2 and WezTerm (iTerm2's), otherwise in 24-bit
    colour half blocks (COLORTERM=truecolor). Nothing when stdout is not a terminal or
    it has neither (the path printed with the question is then all)."""
    if path is None or not sys.stdout.isatty():
        return

    from PIL import Image

    env = os.environ
    columns = min(PICTURE_COLUMNS, shutil.get_terminal_size().columns - 4)
    if "TMUX" not in env and (env.get("TERM") == "xterm-kitty" or "KITTY_WINDOW_ID" in env):
        png = io.BytesIO()
        Image.open(path).save(png, "PNG")
        data = base64.standard_b64encode(png.getvalue()).decode()
        chunks = [data[k : k + 4096] for k in range(0, len(data), 4096)]
        for k, chunk in enumerate(chunks):
            more = int(k < len(chunks) - 1)
            keys = f"a=T,f=100,c={columns},m={more}" if k == 0 else f"m={more}"
            sys.stdout.write(f"\x1b_G{keys};{chunk}\x1b\\")
        print()
    elif "TMUX" not in env and (
        env.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm") or env.get("LC_TERMINAL") == "iTerm2"
    ):
        data = base64.standard_b64encode(path.read_bytes()).decode()
        print(f"\x1b]1337;File=inline=1;width={columns};preserveAspectRatio=1:{data}\a")
    elif env.get("COLORTERM") in ("truecolor", "24bit"):
        print("\n".join(half_blocks(Image.open(path).convert("RGB"), columns)))


def half_blocks(image, columns: int) -> list[str]:
    """The image in lines of "▀" characters, each two pixels: the upper one its colour,
    the lower one its background (24-bit ANSI colours)."""
    rows = max(1, round(columns * image.height / image.width / 2))
    small = image.resize((columns, 2 * rows))
    px = small.load()
    lines = []
    for y in range(0, 2 * rows, 2):
        cells = (
            "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m▀".format(*px[x, y], *px[x, y + 1])
            for x in range(columns)
        )
        lines.append("    " + "".join(cells) + "\x1b[0m")
    return lines
