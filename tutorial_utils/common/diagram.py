"""Deprecated: HA-CNN's diagram moved to ``tutorial_utils.hacnn.diagram``.

Importing this module warns and gives that module; it goes in the next release.
"""

import sys

from ..hacnn import diagram
from .deprecation import warn_moved

warn_moved("tutorial_utils.common.diagram", "tutorial_utils.hacnn.diagram")
sys.modules[__name__] = diagram
