"""`hydrologic graph`: Mermaid, DOT and a self-contained HTML page drawn in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hydrologic as hl
from hydrologic.ir.render import edge_label, to_dot, to_html, to_mermaid

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = f"{ROOT / 'examples' / 'wordcount.py'}:build"


def _graph() -> hl.FlowBuilder:
    sys.path.insert(0, str(ROOT / "examples"))
    import wordcount  # type: ignore[import-not-found]  # pyright: ignore

    flow = hl.FlowBuilder()
    wordcount.build(flow)  # pyright: ignore
    flow.build()
    return flow


def test_mermaid_groups_by_location_and_marks_nondet() -> None:
    text = to_mermaid(_graph().graph)
    assert text.startswith("flowchart TD")
    assert 'subgraph L0["Process[Leader]"]' in text and 'subgraph L1["Cluster[Workers]"]' in text
    assert "-.->" in text  # network edges are distinct
    assert "classDef nondet" in text and "any worker may count any word" in text
    assert "Stream Unb TO 1x" in text


def test_dot_has_clusters_labels_and_highlighted_nondet() -> None:
    text = to_dot(_graph().graph)
    assert "subgraph cluster_L0" in text and 'label="Process[Leader]"' in text
    assert "style=dashed" in text and 'fillcolor="#ffd8a8"' in text
    assert "nondet: report the totals seen so far" in text


def test_edge_labels_carry_guarantees() -> None:
    flow = hl.FlowBuilder()
    s = flow.process(type("P", (), {})).source_iter([1]).weaken_retries()
    assert edge_label(s._node) == "Stream Bnd TO ≥1x"  # pyright: ignore[reportPrivateUsage]


def test_html_is_self_contained() -> None:
    page = to_html(_graph().graph, "wc")
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<script src" not in page
    assert "any worker may count any word" in page


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("Chromium is not installed")
    page = tmp_path / "graph.html"
    done = subprocess.run(
        [sys.executable, "-m", "hydrologic", "graph", PROGRAM, "--format", "html", "-o", str(page)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000",
            f"--screenshot={shot}", page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists(), "Chromium produced no screenshot"
    from PIL import Image

    img = Image.open(shot).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20) or []
    counts = {rgb: n for n, rgb in colours}
    # the nondet node fill (#ffd8a8), the cluster box fill (#e7f5ff) and network edges (#1c7ed6)
    assert counts.get((0xFF, 0xD8, 0xA8), 0) > 2000, "no highlighted nondet node was drawn"
    assert counts.get((0xE7, 0xF5, 0xFF), 0) > 20000, "the cluster location box was not drawn"
    assert sum(n for rgb, n in counts.items() if abs(rgb[0] - 0x1C) < 40 and abs(rgb[2] - 0xD6) < 40 and rgb[1] < 0xA0) > 100
