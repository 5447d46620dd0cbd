"""torchreid's own hacnn.py: the correctness reference our HACNN is checked against, and the
baseline the benchmark's speed-ups are measured against.

torchreid's HA-CNN is one file that imports only torch. ``make install`` copies it out of the
torchreid==0.2.5 source distribution on PyPI into ``.cache/torchreid-0.2.5/`` (git-ignored,
never committed, never downloaded at run time). The equivalence tests and the benchmark load it
from there with ``load_torchreid_hacnn``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path
from types import ModuleType

from torch import nn

VERSION = "0.2.5"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"torchreid-{VERSION}"
MEMBER = f"torchreid-{VERSION}/torchreid/reid/models/hacnn.py"


def torchreid_hacnn_path() -> Path:
    """Where torchreid's hacnn.py is kept (it may not be there yet)."""
    return CACHE / "hacnn.py"


def fetch_torchreid_hacnn(timeout_s: float = 300.0) -> Path:
    """Download torchreid's sdist with pip (an install step) and keep only hacnn.py.

    Raises RuntimeError, naming the cause, when the download or the extraction fails.
    """
    target = torchreid_hacnn_path()
    if target.is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--quiet", "-d", str(CACHE), f"torchreid=={VERSION}"]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=timeout_s)
        with tarfile.open(CACHE / f"torchreid-{VERSION}.tar.gz") as sdist:
            source = sdist.extractfile(MEMBER)
            target.write_bytes(source.read())
    except (subprocess.SubprocessError, OSError, KeyError, tarfile.TarError) as error:
        raise RuntimeError(f"could not get torchreid=={VERSION}'s hacnn.py: {error}") from error
    return target


def load_torchreid_hacnn(path: Path | None = None) -> ModuleType:
    """torchreid's hacnn.py imported as a module (its HACNN class is ``.HACNN``)."""
    path = torchreid_hacnn_path() if path is None else path
    if not path.is_file():
        raise FileNotFoundError(
            f"torchreid's hacnn.py is not at {path}; `make install` fetches it (or, in Python, "
            "tutorial_utils.hacnn.torchreid_reference.fetch_torchreid_hacnn())"
        )
    spec = importlib.util.spec_from_file_location("torchreid_hacnn", path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module


def torchreid_twin(model: nn.Module) -> nn.Module:
    """torchreid's HACNN in eval mode, holding ``model``'s weights (strict load).

    ``model`` is a tutorial_utils HACNN at 160 x 64 (torchreid's only input size).
    """
    module = load_torchreid_hacnn()
    widths = [ha.hard_attn.fc.in_features for ha in (model.ha1, model.ha2, model.ha3)]
    twin = module.HACNN(
        num_classes=model.classifier_global.out_features,
        nchannels=widths,
        feat_dim=model.fc_global[0].out_features,
        learn_region=model.learn_region,
        use_gpu=False,
    )
    twin.load_state_dict(model.state_dict(), strict=True)
    return twin.eval()
