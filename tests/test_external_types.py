"""External ports check declared element types, including parameterised containers."""

from __future__ import annotations

from typing import Any

from hydrologic.net.external_codec import check_value_type


def test_plain_types() -> None:
    assert check_value_type("x", str) is None
    assert check_value_type(True, int) is not None  # a bool is not an int on the wire
    assert check_value_type(1, float) is None  # JSON writes 1.0 as 1


def test_parameterised_types_are_checked_by_container() -> None:
    why = check_value_type("a string", dict[str, Any])
    assert why is not None and "expected a value of type dict" in why
    assert check_value_type({"a": 1}, dict[str, Any]) is None
    assert check_value_type([1, 2], list[int]) is None
    assert check_value_type({"a": 1}, list[int]) is not None


def test_unknown_types_are_not_checked() -> None:
    class Custom: ...

    assert check_value_type(object(), Custom) is None
    assert check_value_type("x", None) is None
