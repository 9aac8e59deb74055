"""Tests that need a system tool say so, and only the tests whose point is that tool need it.

A fault test (a replica killed under load, malformed requests) talks to the store with redis-py
(the `dev` extra), so it runs wherever `pip install -e '.[dev]'` ran; only the tests of
`redis-cli`'s own replies need Debian's `redis-tools`. README.md names the tools next to the test
command.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _decorated(marker: str) -> list[str]:
    out: list[str] = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == marker for d in node.decorator_list
            ):
                out.append(f"{path.name}::{node.name}")
    return out


def test_only_the_redis_cli_tests_need_redis_cli() -> None:
    needing = _decorated("needs_redis_cli")
    assert needing, "the redis-cli tests are gone: update README.md's table of system tools"
    assert all("redis_cli" in name.split("::")[1] for name in needing), needing


def test_readme_names_the_system_tools_next_to_the_test_command() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Run the tests", 1)[1].split("\n## ", 1)[0]
    for tool in ("redis-tools", "chromium", "pip install -e '.[dev]'"):
        assert tool in section, tool
