"""Exercise checks that report instead of crashing, so unsolved student notebooks still run."""

from __future__ import annotations

from collections.abc import Callable


def check_exercise(name: str, test: Callable[[], object], *, strict: bool = False) -> None:
    """Run ``test`` and print one verdict line; returns nothing (no stray repr).

    The exercise cell's scaffold raises NotImplementedError until it is filled in, which
    reads as "not solved yet". A failed ``assert_close`` or ``assert`` reads as "not right
    yet" with its message; any other error is shown by name so the learner can fix it.

    By default nothing is raised, so a student notebook runs top to bottom. With
    ``strict=True`` (the graded edition) the same line is printed and then the error is
    raised again, so an autograder such as nbgrader sees the check fail.
    """
    try:
        test()
    except NotImplementedError:
        print(f"{name}: not solved yet (fill in the exercise cell above, then run this cell again)")
        if strict:
            raise
        return
    except AssertionError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "a check failed"
        print(f"{name}: not right yet: {first_line}")
        if strict:
            raise
        return
    except Exception as error:  # a learner's half-written code can fail in any way
        print(f"{name}: your code raised {type(error).__name__}: {error}")
        if strict:
            raise
        return
    print(f"{name}: solved")
