"""KEY=VALUE parsing, shared by the command lines."""

from __future__ import annotations

import argparse

import pytest

from tutorial_utils.common import parse_key_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("num_ids=200", ("num_ids", 200)),
        ("occlusion=0.25", ("occlusion", 0.25)),
        ("difficulty=medium", ("difficulty", "medium")),
        ("size=(160, 64)", ("size", (160, 64))),
        ("note=a=b", ("note", "a=b")),
    ],
)
def test_values_are_literals_when_they_can_be(text: str, expected: tuple) -> None:
    assert parse_key_value(text) == expected


@pytest.mark.parametrize("text", ["num_ids", "=3", ""])
def test_a_word_without_key_or_equals_is_a_usage_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
        parse_key_value(text)


def test_argparse_reports_it_as_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--option", type=parse_key_value, action="append", default=[])
    assert parser.parse_args(["--option", "a=1"]).option == [("a", 1)]
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args(["--option", "oops"])
    assert stopped.value.code == 2
    assert "expected KEY=VALUE, got 'oops'" in capsys.readouterr().err
