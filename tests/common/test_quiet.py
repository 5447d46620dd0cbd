"""The CUDA_HOME notice is silenced; errors from the same logger still show."""

from __future__ import annotations

import logging

import pytest

from tutorial_utils.common import quiet_cpp_extension_notice


def test_the_notice_is_hidden_and_errors_are_not(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("torch.utils.cpp_extension")
    before = logger.level
    try:
        logger.setLevel(logging.NOTSET)
        quiet_cpp_extension_notice()
        with caplog.at_level(logging.NOTSET):
            logger.warning("No CUDA runtime is found, using CUDA_HOME='/usr/local'")
            logger.error("a real failure")
        assert [r.getMessage() for r in caplog.records] == ["a real failure"]
    finally:
        logger.setLevel(before)
