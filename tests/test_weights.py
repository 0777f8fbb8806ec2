"""A bundle's weights are checked without numpy before anything loads them: the learner's
tables exactly, and the training requests' meanings where its model reads meanings."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from agentgym.errors import BundleError
from agentgym.weights import LEARNER_NAME, MAX_REFERENCES, MEANING_DIMENSIONS, check
from trainer.model.config import Config
from trainer.model.features import Toolbox
from trainer.model.model import Model, params_of, weights_of

TOOLS = ("lookup_order", "issue_refund")


def references(rows: int, dimensions: int = MEANING_DIMENSIONS) -> np.ndarray:
    found = np.random.default_rng(0).normal(size=(rows, dimensions))
    return (found / np.linalg.norm(found, axis=1, keepdims=True)).astype(np.float16)


def test_weights_with_and_without_references_are_the_learners() -> None:
    model = Model(Config(), Toolbox(TOOLS))
    check(model.weights(), LEARNER_NAME)
    kept = references(5)
    data = weights_of(model.params, kept)
    check(data, LEARNER_NAME)
    params, read = params_of(data)
    assert read is not None and np.array_equal(read, kept)
    assert set(params) == set(model.params)
    assert params_of(model.weights())[1] is None


def with_member(data: bytes, name: str, array: np.ndarray) -> bytes:
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        member = io.BytesIO()
        np.lib.format.write_array(member, array, allow_pickle=False)
        archive.writestr(name, member.getvalue())
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("array", "says"),
    [
        (references(3).astype(np.float64), "'<f8'"),
        (references(3, 12), "(3, 12)"),
        (
            np.zeros((MAX_REFERENCES + 1, MEANING_DIMENSIONS), np.float16),
            f"at most {MAX_REFERENCES}",
        ),
    ],
)
def test_references_of_another_type_or_shape_are_refused_saying_so(
    array: np.ndarray, says: str
) -> None:
    data = with_member(Model(Config(), Toolbox(TOOLS)).weights(), "references.npy", array)
    with pytest.raises(BundleError, match=r"references\.npy") as refused:
        check(data, LEARNER_NAME)
    assert says in str(refused.value)


def test_a_member_the_learner_does_not_write_is_refused() -> None:
    data = with_member(Model(Config(), Toolbox(TOOLS)).weights(), "extra.npy", references(2))
    with pytest.raises(BundleError, match=r"extra\.npy"):
        check(data, LEARNER_NAME)
