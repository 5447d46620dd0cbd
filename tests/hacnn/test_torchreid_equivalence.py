"""HACNN is torchreid's HA-CNN: same state_dict keys, same outputs for the same weights.

torchreid's hacnn.py (a single file that imports only torch) is taken from the PyPI sdist
torchreid==0.2.5 by `make install` (or here, if missing) and kept under .cache/ (git-ignored,
never committed); see tutorial_utils/hacnn/torchreid_reference.py. Without it the tests
skip, and fail under CI=true, where the comparison must run.
"""

from __future__ import annotations

import warnings
from types import ModuleType

import pytest
import torch

from tests.ci import skip_or_fail
from tutorial_utils import HACNN, load_checkpoint, randomize_batchnorm
from tutorial_utils.hacnn.torchreid_reference import fetch_torchreid_hacnn, load_torchreid_hacnn


@pytest.fixture(scope="module")
def torchreid_hacnn() -> ModuleType:
    try:
        path = fetch_torchreid_hacnn()  # at hand after `make install`; fetched here if not
    except RuntimeError as error:
        skip_or_fail(f"torchreid==0.2.5's hacnn.py is missing and could not be fetched ({error})")
    return load_torchreid_hacnn(path)


@pytest.fixture(scope="module")
def pair(torchreid_hacnn):
    torch.manual_seed(0)
    theirs = randomize_batchnorm(torchreid_hacnn.HACNN(num_classes=11, use_gpu=False))
    with torch.no_grad():  # make the hard attention input-dependent, not just its init bias
        for ha in (theirs.ha1, theirs.ha2, theirs.ha3):
            ha.hard_attn.fc.weight.normal_(0, 0.05)
    ours = load_checkpoint(HACNN(num_classes=11), theirs.state_dict(), strict=True)
    return theirs, ours


def _quiet(fn, *args):
    with warnings.catch_warnings():  # torchreid's file calls deprecated F.upsample
        warnings.simplefilter("ignore")
        return fn(*args)


def test_same_state_dict_keys_and_shapes(pair):
    theirs, ours = pair
    assert {k: v.shape for k, v in theirs.state_dict().items()} == {
        k: v.shape for k, v in ours.state_dict().items()
    }
    theirs.load_state_dict(ours.state_dict(), strict=True)


def test_same_eval_features(pair):
    theirs, ours = pair
    x = torch.randn(3, 3, 160, 64)
    with torch.no_grad():
        expected = _quiet(theirs.eval(), x)
        actual = ours.eval()(x)
    assert actual.shape == (3, 1024)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)


def test_same_train_logits(pair):
    theirs, ours = pair
    x = torch.randn(4, 3, 160, 64)
    with torch.no_grad():
        expected = _quiet(theirs.train(), x)
        actual = ours.train()(x)
    # Batch statistics over 4 samples amplify float rounding (mean vs avg_pool2d), hence 1e-3.
    for a, e in zip(actual, expected, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-3, atol=1e-3)
