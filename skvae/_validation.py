"""Checks of the arguments that every layer of skvae shares, with one message each."""

from numbers import Integral


def check_count(value, name, what, minimum=1):
    """``value`` as an int of at least ``minimum``, or a ``ValueError`` that says what it counts.

    numpy integers are counts; ``True`` and ``False`` are not, though Python
    counts them as integers.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        bound = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{name} must be {bound} ({what}), got {value!r}.")
    return int(value)
