"""Golden tests of `hydrologic check` on the known-bad programs, with mypy and with pyright.

Every ``tests/programs/fail_<rule>.py`` breaks one rule on the line marked ``# expect: HLnnn``.
``check`` must report, for each of mypy and pyright (default and strict), exactly one error on
that line, with that HL code, and the fix written as code; building must report the same code
there. Build-only rules (``fail_buildonly_*``) are reported by the build alone (unless marked
``static``). Every passing twin must produce no error at all.

The checkers run once per mode over all programs (``run_checkers`` batches the files), so the
whole suite costs two mypy and two pyright runs. The exact text of each error (code, line,
needed, present, origin, fix) is compared with ``tests/golden/check_errors.txt``; regenerate it
with ``HL_UPDATE_GOLDEN=1 pytest tests/test_check_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from hydrologic.cli.check import check_program, render_text
from hydrologic.cli.static_map import Diagnostic, run_checkers

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "programs"
GOLDEN = ROOT / "tests" / "golden" / "check_errors.txt"
EXPECT_RE = re.compile(r"#\s*expect:\s*(HL\d{3})(\s+static)?\s*$")

FAIL = sorted(PROGRAMS.glob("fail_*.py"))
PASS = sorted(PROGRAMS.glob("pass_*.py"))
MULTILINE = ROOT / "tests" / "check_programs" / "multiline_scan.py"
MODES = {
    "default": {"mypy_config": str(PROGRAMS / "mypy.ini"), "pyright_project": str(PROGRAMS / "pyrightconfig.basic.json")},
    "strict": {
        "mypy_config": str(PROGRAMS / "mypy.ini"),
        "pyright_project": str(PROGRAMS / "pyrightconfig.strict.json"),
        "strict": True,
    },
}

# The fix each rule's error must carry, as code (a fragment that must appear in the fix text).
FIX_SNIPPETS: dict[str, str | tuple[str, ...]] = {
    "HL101": 'assume_ordering(nondet("',
    "HL102": ".unique()",
    "HL103": 'commutative=proof("',
    "HL104": 'idempotent=proof("',
    "HL105": 'batch(tick, nondet("',
    "HL106": 'batch(tick, nondet("',
    "HL107": ".all_ticks()",
    "HL108": 'batch(tick, nondet("',
    "HL109": ".atomic(tick)",
    "HL110": ".sort()",
    "HL111": 'monotone=proof("',
    "HL112": ("broadcast_closed(cluster)", "assert_has_consistency_of("),
    "HL201": ".send(",
    "HL202": ".tick()",
    "HL203": ("flow.cluster(", "round_robin(cluster"),
    "HL204": "send_external(client",
    "HL301": 'nondet("',
    "HL304": 'proof("',
    "HL403": "complete_next_tick(",
}


def _expect(path: Path) -> tuple[str, int, bool]:
    for lineno, text in enumerate(path.read_text().splitlines(), start=1):
        m = EXPECT_RE.search(text)
        if m:
            static = not path.name.startswith("fail_buildonly_") or m.group(2) is not None
            return m.group(1), lineno, static
    raise AssertionError(f"{path.name} has no `# expect: HLnnn` marker")


@pytest.fixture(scope="session")
def diagnostics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[list[str], dict[str, list[Diagnostic]]]]:
    files = [str(p) for p in FAIL + PASS + [MULTILINE]]
    cache = str(tmp_path_factory.mktemp("golden-mypy"))

    def run(mode: str) -> tuple[list[str], dict[str, list[Diagnostic]]]:
        opts: Any = MODES[mode]
        return run_checkers(files, cache_dir=cache, **opts)

    with ThreadPoolExecutor(max_workers=len(MODES)) as pool:
        futures = {mode: pool.submit(run, mode) for mode in MODES}
        return {mode: fut.result() for mode, fut in futures.items()}


def _report(path: Path, diags: tuple[list[str], dict[str, list[Diagnostic]]]) -> list[dict[str, Any]]:
    return check_program(f"{path}:build", diagnostics=diags).errors


def _golden_lines(path: Path, errors: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for e in errors:
        out.append(f"{path.name} [{e['source']}] {e['code']} line {e['line']}")
        for key in ("needed", "present", "origin", "fix"):
            if e.get(key):
                text = str(e[key]).replace(str(PROGRAMS) + os.sep, "").replace(f"tests{os.sep}programs{os.sep}", "")
                out.append(f"    {key}: {text}")
    return out


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("path", FAIL, ids=lambda p: p.name)
def test_check_reports_the_rule_at_the_line_with_the_fix(path: Path, mode: str, diagnostics: Any) -> None:
    code, line, static = _expect(path)
    errors = _report(path, diagnostics[mode])
    build = [e for e in errors if e["source"] == "build"]
    assert [(e["code"], e["line"]) for e in build] == [(code, line)], errors
    for checker in ("mypy", "pyright"):
        found = [e for e in errors if e["source"] == checker]
        if not static:
            assert not found, f"{checker} should be silent on a build-only rule: {found}"
            continue
        assert [(e["code"], e["line"]) for e in found] == [(code, line)], (
            f"{checker} ({mode}): expected exactly {code} at line {line}, got "
            + "; ".join(f"{e['code']} line {e['line']}: {e['checker_message'].splitlines()[0]}" for e in found)
        )
        e = found[0]
        assert e["site"].endswith(f"{path.name}:{line}")
        snippets = FIX_SNIPPETS[code]
        alternatives = (snippets,) if isinstance(snippets, str) else snippets
        assert e["fix"] and any(s in e["fix"] for s in alternatives), f"{code} fix lacks {snippets!r}: {e['fix']}"
        if code in ("HL101", "HL102", "HL103", "HL104", "HL105"):
            assert e["needed"] and e["present"], e
            assert e["origin"], f"{path.name}: the origin of the weak guarantee should be named: {e}"


@pytest.mark.parametrize("path", PASS, ids=lambda p: p.name)
def test_passing_twins_have_no_error(path: Path, diagnostics: Any) -> None:
    for mode in MODES:
        errors = _report(path, diagnostics[mode])
        assert not errors, f"{path.name} ({mode}): {errors}"


def test_golden_text(diagnostics: Any) -> None:
    """The exact needed/present/origin/fix of every error, identical in default and strict mode."""
    by_mode = {mode: [line for p in FAIL for line in _golden_lines(p, _report(p, diagnostics[mode]))] for mode in MODES}
    assert by_mode["default"] == by_mode["strict"], "strict mode changed the report"
    text = "\n".join(by_mode["default"]) + "\n"
    if os.environ.get("HL_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), "run with HL_UPDATE_GOLDEN=1 to create the golden file"
    expected = GOLDEN.read_text()
    assert text == expected, "check output changed; rerun with HL_UPDATE_GOLDEN=1 and review the diff"


def test_every_static_rule_is_covered_in_both_checkers(diagnostics: Any) -> None:
    """Each HL code a type can express has a program that both checkers map to it."""
    seen: dict[str, set[str]] = {}
    for p in FAIL:
        for e in _report(p, diagnostics["default"]):
            if e["source"] != "build":
                seen.setdefault(e["code"], set()).add(e["source"])
    missing = {code for code in FIX_SNIPPETS if seen.get(code) != {"mypy", "pyright"}}
    assert not missing, f"no program maps to these codes in both checkers: {sorted(missing)}"


def test_rendered_text_shows_the_mapped_error(diagnostics: Any) -> None:
    path = PROGRAMS / "fail_fold_noorder.py"
    report = check_program(f"{path}:build", diagnostics=diagnostics["default"])
    text = render_text(report)
    assert "[mypy] HL103 at " in text and "[pyright] HL103 at " in text
    assert 'fix:     s.fold(..., commutative=proof("' in text
    assert "origin:  NoOrder was introduced by `merge_unordered`" in text


@pytest.mark.parametrize("mode", list(MODES))
def test_a_multi_line_chain_is_reported_at_the_call(mode: str, diagnostics: Any) -> None:
    """mypy reports the chain's first line and pyright strict adds unknown-type complaints at the
    annotated variable; check reports each checker's rule once, at the `.scan` call's line."""
    call = next(i for i, t in enumerate(MULTILINE.read_text().splitlines(), 1) if "# the call" in t)
    errors = _report(MULTILINE, diagnostics[mode])
    got = sorted((e["source"], e["code"], e["line"]) for e in errors)
    assert got == [("build", "HL101", call), ("mypy", "HL101", call), ("pyright", "HL101", call)], errors
    mypy_error = next(e for e in errors if e["source"] == "mypy")
    assert mypy_error["reported_line"] < call  # where mypy itself pointed


def test_the_messages_docs_agents_md_quotes_are_what_the_checkers_print(diagnostics: Any) -> None:
    text = (ROOT / "docs" / "agents.md").read_text()
    block = text.split("### What mypy and pyright print", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    quoted = [line.split(":", 1) for line in block.strip().splitlines()]
    printed: dict[str, list[str]] = {"mypy": [], "pyright": []}
    for path in (PROGRAMS / "fail_first_noorder.py", PROGRAMS / "fail_fold_noorder.py"):
        for d in diagnostics["default"][1].get(str(path.resolve()), []):
            printed[d.source] += [line.strip() for line in d.message.splitlines()]
    for checker, message in quoted:
        assert message.strip() in printed[checker.strip()], f"{checker} does not print: {message.strip()}"


# What a checker's own message must show for each rule: the guarantee (or location) the call
# needed, as a marker, a location type or a guard class named after the rule.
RAW_NAMES: dict[str, str] = {
    "HL101": r"TotalOrder",
    "HL102": r"ExactlyOnce",
    "HL103": r"HL103_NoOrder_input_needs_commutative_proof|commutative",
    "HL104": r"HL104_AtLeastOnce_input_needs_idempotent_proof|idempotent",
    "HL105": r"Bounded",
    "HL106": r"Bounded",
    "HL107": r"Tick\[",
    "HL108": r"Tick\[",
    "HL109": r"Atomic\[",
    "HL110": r"HL110_NoOrder_stream_cannot_feed_an_ordered_port|HL110_AtLeastOnce_stream_cannot_feed_a_no_duplicates_port"
    r"|TotalOrder",
    "HL111": r"Monotonic|Bounded",  # mypy names the first overload (a Bounded self), pyright both
    "HL112": r"EventualConsistency",
    "HL201": r"Process\[\w+\].*Process\[\w+\]",
    "HL202": r"Tick\[Process\[\w+\]\].*Tick\[Process\[\w+\]\]",
    "HL203": r"Cluster",  # "HL203_self_id_exists_only_on_a_Cluster" for self_id on a process
    "HL204": r"External\[|HL204_send_external_needs_flow_external",
    "HL301": r"NonDet",
    "HL304": r"Proof|HL304_needs_a_proof_token",
    "HL403": r"Tick\[",
}


@pytest.mark.parametrize("path", [p for p in FAIL if _expect(p)[2]], ids=lambda p: p.name)
def test_raw_checker_messages_name_the_guarantee(path: Path, diagnostics: Any) -> None:
    """Without `hydrologic check`, mypy's and pyright's own text (with mypy's notes and pyright's
    detail lines) at the call names what the rule needs."""
    code, line, _ = _expect(path)
    for checker in ("mypy", "pyright"):
        at = [d for d in diagnostics["default"][1].get(str(path.resolve()), []) if d.source == checker and d.line <= line <= max(d.line, d.end_line)]
        assert at, f"{checker} reports nothing at line {line}"
        text = "\n".join(d.message for d in at)
        assert re.search(RAW_NAMES[code], text, re.S), f"{checker}'s message does not name {code}'s guarantee: {text}"


@pytest.mark.parametrize(
    ("program", "keyword", "guard"),
    [
        ("fail_external_output_contract.py", "ordered", "HL110_NoOrder_stream_cannot_feed_an_ordered_port"),
        ("fail_external_output_exactly_once.py", "delivery", "HL110_AtLeastOnce_stream_cannot_feed_a_no_duplicates_port"),
        ("fail_buildonly_proof_str.py", "commutative", "HL304_needs_a_proof_token_not_a_str"),
        ("fail_send_external_to_process.py", "external", "HL204_send_external_needs_flow_external_use_send_for_a_process"),
    ],
)
def test_keyword_guard_headline_names_keyword_and_rule(program: str, keyword: str, guard: str, diagnostics: Any) -> None:
    """HL110 on `send_external`, HL304 on `fold`: both checkers' first line names the keyword and
    the guard class (mypy used to say only "No overload variant of ... matches")."""
    path = PROGRAMS / program
    for mode in MODES:
        diags = diagnostics[mode][1].get(str(path.resolve()), [])
        for checker in ("mypy", "pyright"):
            heads = [d.headline for d in diags if d.source == checker]
            # mypy names a positional argument by its number ("Argument 1 to ...")
            assert any((f'"{keyword}"' in h or "Argument 1 to" in h) and guard in h for h in heads), f"{checker} ({mode}): {heads}"
        for e in _report(path, diagnostics[mode]):
            if e["source"] != "build":  # the specific message is kept, not pyright's "No overloads"
                assert guard in e["checker_message"], e
        text = render_text(check_program(f"{path}:build", diagnostics=diagnostics[mode]))
        assert re.search(rf'expected "(Refused|NotAClient)\[{guard}\]"', text) and "__mul__" not in text, text  # the name, not the protocol's insides


def _diag(source: str, message: str, rule: str | None = None) -> Diagnostic:
    return Diagnostic(source, "/x/prog.py", 3, message, rule)


@pytest.mark.parametrize(
    ("source", "message", "code"),
    [
        # an input lacking both guarantees binds one overload: the missing keywords are named
        ("mypy", 'Missing named argument "commutative" for "fold" of "Stream"', "HL103"),
        ("pyright", 'Argument missing for parameter "idempotent"', "HL104"),
        # a singleton where a bounded one is needed (an expected union)
        (
            "mypy",
            'Argument 1 to "cross_singleton" of "Stream" has incompatible type "Optional[int, Process[P], Unbounded]"; '
            'expected "Singleton[Never, Process[P], Bounded] | Optional[Never, Process[P], Bounded]"',
            "HL105",
        ),
        # a tick of another process
        (
            "mypy",
            'Argument 1 to "batch" of "Stream" has incompatible type "Tick[Process[Q]]"; expected "Tick[Process[P]]"',
            "HL202",
        ),
        # a plain type error that is not about hydrologic
        ("mypy", 'Incompatible types in assignment (expression has type "str", variable has type "int")', "static"),
        ("pyright", 'Type "Literal[\'a\']" is not assignable to declared type "int"', "static"),
    ],
)
def test_classify_message_forms(source: str, message: str, code: str) -> None:
    from hydrologic.cli.static_map import classify

    assert classify(_diag(source, message)).code == code


def test_an_unrelated_type_error_is_kept_beside_a_rule(tmp_path: Path) -> None:
    """Follow-on complaints are folded into a rule; an unrelated error on another line is not."""
    from hydrologic.cli.check import _drop_consequences  # pyright: ignore[reportPrivateUsage]

    rule = {"source": "pyright", "code": "HL101", "line": 5, "reported_line": 5, "checker_rule": "reportAttributeAccessIssue"}
    unknown = {"source": "pyright", "code": "static", "line": 9, "reported_line": 9, "checker_rule": "reportUnknownVariableType"}
    unrelated = {"source": "pyright", "code": "static", "line": 2, "reported_line": 2, "checker_rule": "reportAssignmentType"}
    assert _drop_consequences([unrelated, rule, unknown]) == [unrelated, rule]


def test_mypy_names_the_port_location_for_bidi_responses_from_elsewhere(diagnostics: Any) -> None:
    """`port.complete(responses, ordered=False)` with responses at another process: mypy's first
    line names the location the port needs (it said only "No overload variant of complete" while
    TotalOrder responses had to pass a literal ``ordered``)."""
    path = PROGRAMS / "fail_bidi_replies_other_process.py"
    heads = [d.headline for d in diagnostics["default"][1].get(str(path.resolve()), []) if d.source == "mypy"]
    assert any("Process[Worker]" in h and 'expected "KeyedStream[ClientId, Any, Process[Server]' in h for h in heads), heads


def test_self_id_on_a_process_is_named_by_both_checkers(diagnostics: Any) -> None:
    path = PROGRAMS / "fail_self_id_on_process.py"
    diags = diagnostics["default"][1].get(str(path.resolve()), [])
    for checker in ("mypy", "pyright"):
        heads = [d.headline for d in diags if d.source == checker]
        assert any('"HL203_self_id_exists_only_on_a_Cluster"' in h for h in heads), (checker, heads)
