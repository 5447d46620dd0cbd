"""Deprecated: torchreid's reference file moved to ``tutorial_utils.hacnn.torchreid_reference``.

Importing this module warns and gives that module; it goes in the next release.
"""

import sys

from ..common.deprecation import warn_moved
from ..hacnn import torchreid_reference

warn_moved("tutorial_utils.bench.torchreid_reference", "tutorial_utils.hacnn.torchreid_reference")
sys.modules[__name__] = torchreid_reference
