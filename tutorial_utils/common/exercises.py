"""Exercise checks that report instead of crashing, so unsolved student notebooks still run."""

from __future__ import annotations

from collections.abc import Callable


def check_exercise(name: str, test: Callable[[], object]) -> None:
    """Run ``test`` and print one verdict line; never raises, returns nothing (no stray repr).

    The exercise cell's scaffold raises NotImplementedError until it is filled in, which
    reads as "not solved yet". A failed ``assert_close`` or ``assert`` reads as "not right
    yet" with its message; any other error is shown by name so the learner can fix it.
    """
    try:
        test()
    except NotImplementedError:
        print(f"{name}: not solved yet (fill in the exercise cell above, then run this cell again)")
        return
    except AssertionError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "a check failed"
        print(f"{name}: not right yet: {first_line}")
        return
    except Exception as error:  # a learner's half-written code can fail in any way
        print(f"{name}: your code raised {type(error).__name__}: {error}")
        return
    print(f"{name}: solved")
