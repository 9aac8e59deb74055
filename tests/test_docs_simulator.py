"""docs/simulator.md's `hl_sim` example is a working pytest file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _example() -> str:
    text = (ROOT / "docs" / "simulator.md").read_text()
    section = text.split("## Simulator tests under pytest: the `hl_sim` fixture", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )


def test_the_hl_sim_example_passes_under_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_balance.py").write_text(_example())
    proc = _pytest(tmp_path, "test_balance.py", "--hl-sim-iterations", "200", "--hl-sim-seed", "7")
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr


def test_a_failing_hl_sim_test_reports_its_replay_command(tmp_path: Path) -> None:
    broken = _example().replace("t in (0, 5, 12)", "t in (0, 12)")  # a read may see 5: the simulator finds it
    (tmp_path / "test_balance.py").write_text(broken)
    proc = _pytest(tmp_path, "test_balance.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "hydrologic sim" in proc.stdout and "--hl-sim-replay hl1." in proc.stdout, proc.stdout
