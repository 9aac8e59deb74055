"""What a user reads stands alone in a clone of this repository.

README, docs/, examples, tools, docstrings, CLI output and error messages must not send the
reader to files outside the repository (a specification kept beside it, numbered sections of it).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a specification beside the repository, its numbered sections, or the notes on Rust Hydro kept with it
OUTSIDE = re.compile(r"SPEC §|SPEC\.md|\.\./shared|§\s*\d|\bhydro-(?:sim|lang|parity|runtime-deploy)\.md")


def test_nothing_a_user_reads_points_outside_the_repository() -> None:
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "examples").rglob("*"), *(ROOT / "tools").rglob("*.py")]
    files += [p for p in (ROOT / "src").rglob("*.py")]
    hits = [
        f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
        for p in files
        if p.is_file() and p.suffix in (".py", ".md")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits, "user-facing text points outside the repository:\n" + "\n".join(hits)
