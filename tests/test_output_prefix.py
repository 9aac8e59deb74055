"""Every line hydrologic prints for a person starts with one prefix, ``[hydrologic]``.

The README's sample output shows ``[hydrologic] ...``; a command's own messages follow it with
the command (``[hydrologic] sim: ...``, ``[hydrologic] check: ...``). A second form
(``[hydrologic sim]``, ``hydrologic sim: ...``) makes grepping a log for the framework's lines
miss some, so this test reads the sources, tests and docs for any other form.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# "[hydrologic" not closed right away ("[hydrologic sim]"; a regex's "\[hydrologic\]" is closed),
# or a printed "hydrologic <cmd>: ..."
OTHER_PREFIX = re.compile(r"""\[hydrologic(?!\]|\\\])|print\(\s*f?["'](?:\[)?hydrologic(?: \w+)?:""")


def _files() -> list[Path]:
    out = sorted((ROOT / "src").rglob("*.py")) + sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    out += [p for p in sorted((ROOT / "tests").rglob("*.py")) if p.name != Path(__file__).name]
    out += sorted((ROOT / "examples").rglob("*.py"))
    return out


def test_one_prefix_everywhere() -> None:
    bad = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in _files()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if OTHER_PREFIX.search(line)
    ]
    assert not bad, "use the one prefix `[hydrologic] <command>: ...`:\n" + "\n".join(bad)


def test_the_pattern_catches_the_old_forms() -> None:
    """The check above is not vacuous: the forms it forbids do match."""
    for old in ('print(f"[hydrologic sim] estimate")', 'print(f"hydrologic sim: {e}")', 'print("hydrologic: unknown")'):
        assert OTHER_PREFIX.search(old), old
    for ok in ('print(f"[hydrologic] sim: estimate")', 'print("[hydrologic] stopping")'):
        assert not OTHER_PREFIX.search(ok), ok


def test_cli_errors_use_the_prefix(capsys: object) -> None:
    from hydrologic.cli import main

    code = main(["no-such-command"])
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert code != 0 and err.startswith("[hydrologic] unknown command 'no-such-command'"), err
