"""One notice torch logs that says nothing to a learner, silenced in one place."""

from __future__ import annotations

import logging


def quiet_cpp_extension_notice() -> None:
    """Hide the CUDA_HOME notice ``torch.utils.cpp_extension`` logs on GPU-less machines.

    It is logged when torch.utils.benchmark or inductor looks for a C++ toolchain, and it is
    about building CUDA extensions, which neither does. Errors from that logger still show.
    """
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
