"""The machine's text-embedding cache (reelcat.tagging.text_cache) with the bundled tiny
model: only texts it has not seen are embedded, a bank made from it equals one built
directly by open_clip, and processes writing it at once neither corrupt it nor lose texts."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import zlib

import numpy as np
import pytest
import yaml

from reelcat.config import model_id
from reelcat.tagging.scoring import TEMPLATES, TextBank, bank_texts
from reelcat.tagging.step import text_bank
from reelcat.tagging.text_cache import TextStore, embedded, store_path
from reelcat.tagging.vocabulary import load_vocabulary
from tests.conftest import REPO, copy_of, tiny_config

SYNTHETIC = REPO / "reelcat" / "vocabularies" / "synthetic.yaml"
NEW_TAG = {"name": "volcano", "category": "scene", "prompts": ["volcano", "erupting volcano"]}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own, found the way a user's is (XDG_CACHE_HOME)."""
    monkeypatch.delenv("REELCAT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "reelcat"


def vocabulary(path, extra_tags=(), **tag_fields):
    """The synthetic vocabulary, written to `path` with more tags or fields on every tag."""
    doc = yaml.safe_load(SYNTHETIC.read_text())
    doc["tags"] = [{**t, **tag_fields} for t in doc["tags"]] + list(extra_tags)
    path.write_text(yaml.safe_dump(doc))
    return path


def new_embeddings(fn, *args) -> tuple[object, int]:
    """fn(*args), and how many texts it put through the text tower."""
    before = embedded().texts
    result = fn(*args)
    return result, embedded().texts - before


def assert_same_bank(a: TextBank, b: TextBank, atol=1e-6):
    assert a.tags == b.tags and a.logit_scale == pytest.approx(b.logit_scale)
    np.testing.assert_array_equal(a.membership, b.membership)
    np.testing.assert_allclose(a.positives, b.positives, atol=atol)
    np.testing.assert_allclose(a.negatives, b.negatives, atol=atol)


def test_an_added_tag_embeds_only_its_prompts(cache, tmp_path):
    cfg = tiny_config(tmp_path, tmp_path / "out")
    vocab = load_vocabulary(cfg.vocabulary)
    first, n = new_embeddings(text_bank, cfg, vocab)
    assert n == len(bank_texts(vocab))
    store = store_path(model_id(cfg.model))
    assert store.is_file() and store.parent == cache / "text-embeddings"

    edited = load_vocabulary(vocabulary(tmp_path / "edited.yaml", [NEW_TAG]))
    bank, n = new_embeddings(text_bank, cfg, edited)
    assert n == len(NEW_TAG["prompts"]) * len(TEMPLATES)
    assert bank.tags == [*first.tags, "volcano"]
    np.testing.assert_allclose(bank.positives[:-1], first.positives, atol=1e-6)


def test_a_second_output_folder_embeds_nothing_and_loads_no_model(cache, tmp_path):
    vocab = load_vocabulary(SYNTHETIC)
    first, n = new_embeddings(text_bank, tiny_config(tmp_path, tmp_path / "one"), vocab)
    assert n > 0
    second, n = new_embeddings(text_bank, tiny_config(tmp_path, tmp_path / "two"), vocab)
    assert n == 0
    assert_same_bank(second, first, atol=0)
    # A new process (another run) makes a third folder's bank without importing torch.
    overrides = {"archive_roots": [str(tmp_path)], "output_dir": str(tmp_path / "three")}
    script = (
        "import json, sys\n"
        "from reelcat.config import load_config\n"
        "from reelcat.tagging.step import text_bank\n"
        "from reelcat.tagging.text_cache import embedded\n"
        "from reelcat.tagging.vocabulary import load_vocabulary\n"
        f"cfg = load_config('reelcat.yaml', overrides={overrides!r}, environ={{}})\n"
        "text_bank(cfg, load_vocabulary(cfg.vocabulary))\n"
        "print(json.dumps([embedded().texts, 'torch' in sys.modules, 'open_clip' in sys.modules]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "REELCAT_CACHE"}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [0, False, False]
    assert_same_bank(TextBank.from_npz(next((tmp_path / "three" / "text").iterdir())), first, 0)


def test_another_model_embeds_every_text(cache, tmp_path):
    vocab = load_vocabulary(SYNTHETIC)
    new_embeddings(text_bank, tiny_config(tmp_path, tmp_path / "one"), vocab)
    weights = tmp_path / "other-tiny-clip.pt"  # the same bytes under another name: a new id
    shutil.copy(REPO / "reelcat" / "models" / "reelcat-tiny-clip.pt", weights)
    other = tiny_config(tmp_path, tmp_path / "two", model={"pretrained": str(weights)})
    assert model_id(other.model) != model_id(tiny_config(tmp_path, tmp_path / "one").model)
    _, n = new_embeddings(text_bank, other, vocab)
    assert n == len(bank_texts(vocab))


def test_a_bank_from_the_cache_equals_one_open_clip_builds(cache, tmp_path):
    from open_clip.zero_shot_metadata import SIMPLE_IMAGENET_TEMPLATES

    from reelcat.tagging.model import load_model
    from reelcat.tagging.scoring import negative_prompts

    assert [t.format("x") for t in TEMPLATES] == [t("x") for t in SIMPLE_IMAGENET_TEMPLATES]
    cfg = tiny_config(tmp_path, tmp_path / "one")
    vocab = load_vocabulary(cfg.vocabulary)
    text_bank(cfg, vocab)  # fills the cache
    cached, n = new_embeddings(text_bank, tiny_config(tmp_path, tmp_path / "two"), vocab)
    assert n == 0
    model = load_model(cfg.model.model_dump_json())
    fresh = TextBank(
        vocab.names,
        model.embed_prompt_sets([t.prompts for t in vocab.tags]),
        model.embed_prompt_sets([(p,) for p in negative_prompts(vocab)]),
        cached.membership,
        model.logit_scale,
    )
    assert_same_bank(cached, fresh, atol=1e-5)


def test_the_learning_step_builds_no_bank_it_does_not_need(cache, out, tmp_path):
    """No answers and a vocabulary that sets every accept level: nothing is scored."""
    from reelcat.feedback.step import learn_from_verdicts
    from reelcat.storage.layout import Layout

    work = copy_of(out, tmp_path)
    levels = vocabulary(tmp_path / "levels.yaml", accept=0.6)
    cfg = tiny_config(tmp_path, work, vocabulary=str(levels))
    report, n = new_embeddings(learn_from_verdicts, cfg)
    assert n == 0 and report.changes == [] and report.refitted
    assert {r["source"] for r in report.thresholds} == {"vocabulary"}
    bank = Layout(work).text_bank(model_id(cfg.model), load_vocabulary(levels).id)
    assert not bank.exists() and not (cache / "text-embeddings").exists()


def _writer(path, seed: int) -> None:
    """Adds texts one at a time, each with a vector that its text determines."""
    for i in range(25):
        text = f"text {seed}-{i}"
        TextStore.add(path, [text], vector_of(text)[None], 10.0)


def vector_of(text: str) -> np.ndarray:
    return np.random.default_rng(zlib.crc32(text.encode())).standard_normal(8).astype(np.float32)


def test_processes_adding_at_once_keep_every_text(tmp_path):
    path = tmp_path / "text" / "model.npz"
    spawn = multiprocessing.get_context("spawn")
    writers = [spawn.Process(target=_writer, args=(path, s)) for s in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
        assert w.exitcode == 0
    store = TextStore.read(path)
    assert store.logit_scale == 10.0 and len(store.row) == 100  # none lost to a race
    for text, row in store.row.items():
        np.testing.assert_array_equal(store.vectors[row], vector_of(text))
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.npz", "model.npz.lock"]
