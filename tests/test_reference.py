"""docs/reference.md is generated from the typed signatures and must stay in sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reference_is_up_to_date() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_reference.py")], capture_output=True, text=True, check=True)
    assert (ROOT / "docs" / "reference.md").read_text() == out.stdout, (
        "regenerate with: python tools/gen_reference.py > docs/reference.md"
    )


def test_every_spec_operator_is_documented() -> None:
    text = (ROOT / "docs" / "reference.md").read_text()
    for op in (
        "map", "filter", "filter_map", "inspect", "partition", "flat_map_ordered", "flat_map_unordered",
        "enumerate", "scan", "collect_list", "for_each", "first", "last", "count", "max", "min", "unique",
        "fold", "reduce", "chain", "merge_unordered", "merge_ordered", "cross_product", "join",
        "cross_singleton", "anti_join", "filter_not_in", "sort", "assume_ordering", "assume_retries",
        "weaken_ordering", "weaken_retries", "into_keyed", "entries", "values", "value_counts", "zip",
        "into_stream", "snapshot", "latest", "unwrap_or", "is_some", "is_none", "keys", "get",
        "join_keyed_stream", "batch", "all_ticks", "defer_tick", "forward_ref", "cycle", "cycle_with_initial",
        "atomic", "end_atomic", "snapshot_atomic", "source_iter", "source_external", "singleton",
        "source_interval", "sim_input", "send", "demux", "broadcast", "round_robin", "self_id",
    ):
        assert f"| `{op}(" in text, f"{op} missing from docs/reference.md"
