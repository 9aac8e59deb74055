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


def test_codec_names_are_checked_while_building_and_match_the_wire_codecs() -> None:
    import pytest

    import hydrologic as hl
    from hydrologic.lang.collection import EXTERNAL_CODECS
    from hydrologic.net.external_codec import CODECS

    assert sorted(EXTERNAL_CODECS) == sorted(CODECS)

    class P: ...

    class C: ...

    flow = hl.FlowBuilder()
    p, c = flow.process(P), flow.external(C)
    with pytest.raises(hl.UsageError) as info:
        p.source_external(c, name="in", codec="xml")
    assert "unknown codec 'xml'" in str(info.value) and info.value.site.file == __file__
    with pytest.raises(hl.UsageError):
        p.source_iter([1]).send_external(c, name="out", codec="yaml")
    with pytest.raises(hl.UsageError):
        p.source_external_bidi(c, name="kv", codec="xml")
