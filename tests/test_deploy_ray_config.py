"""How ``hl.deploy.Ray`` turns its options into Ray's, without a Ray cluster: what code is shipped
(and the address the actors build), what each location's ``Placement`` reserves, and the
refusals of requests that cannot mean anything. The Ray runs are in test_deploy_ray.py."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from hydrologic.deploy import Placement
from hydrologic.deploy.ray_code import DEFAULT_EXCLUDES, ship
from hydrologic.deploy.ray_placement import bundle_of, describe_request, resolve_placement
from hydrologic.lang.program import build_graph
from hydrologic.types.errors import UsageError

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")


# ---- code shipping ------------------------------------------------------------------------------


def test_a_file_program_ships_its_folder_and_the_actors_build_it_by_its_relative_name(tmp_path: Path) -> None:
    prog = tmp_path / "app" / "prog.py"
    prog.parent.mkdir()
    prog.write_text("def build(flow): ...\n")
    code = ship(f"{prog}:build", {"pip": ["requests"], "env_vars": {"A": "1"}, "excludes": ["data/"]})
    assert code.address == "prog.py:build"
    assert code.root == str(prog.parent)
    assert code.runtime_env["working_dir"] == str(prog.parent)
    assert code.runtime_env["pip"] == ["requests"] and code.runtime_env["env_vars"] == {"A": "1"}  # the user's, kept
    assert code.runtime_env["excludes"] == DEFAULT_EXCLUDES + ["data/"]


def test_a_user_working_dir_wins_and_the_program_is_addressed_inside_it(tmp_path: Path) -> None:
    prog = tmp_path / "app" / "sub" / "prog.py"
    prog.parent.mkdir(parents=True)
    prog.write_text("def build(flow): ...\n")
    code = ship(f"{prog}:build", {"working_dir": str(tmp_path / "app")})
    assert code.address == os.path.join("sub", "prog.py") + ":build"
    assert code.runtime_env["working_dir"] == str(tmp_path / "app")


def test_a_program_outside_the_user_working_dir_is_refused(tmp_path: Path) -> None:
    prog = tmp_path / "app" / "prog.py"
    prog.parent.mkdir()
    prog.write_text("def build(flow): ...\n")
    (tmp_path / "other").mkdir()
    with pytest.raises(UsageError, match=r"HL501.*outside the runtime_env working_dir"):
        ship(f"{prog}:build", {"working_dir": str(tmp_path / "other")})


def test_a_module_program_ships_the_folder_it_is_imported_from_unless_it_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "mypkg_hl_ship"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "prog.py").write_text("def build(flow): ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code = ship("mypkg_hl_ship.prog:build", None)
    assert code.address == "mypkg_hl_ship.prog:build" and code.root == str(tmp_path)
    installed = ship("pytest:main", None)  # under site-packages: the nodes install it themselves
    assert installed.root is None and "working_dir" not in installed.runtime_env


def test_without_shipping_the_address_stays_absolute_and_modules_come_from_pythonpath(tmp_path: Path) -> None:
    prog = tmp_path / "prog.py"
    prog.write_text("def build(flow): ...\n")
    assert ship(f"{prog}:build", None, enabled=False).address == f"{prog}:build"
    module = ship("mod:build", {"env_vars": {"B": "2"}}, enabled=False)
    assert module.address == "mod:build" and "working_dir" not in module.runtime_env
    assert module.runtime_env["env_vars"]["B"] == "2"
    assert module.runtime_env["env_vars"]["PYTHONPATH"].split(os.pathsep)[0] == os.getcwd()


def test_the_portable_fingerprint_is_the_same_for_a_copy_of_the_program_elsewhere(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    shutil.copy(PROGS, a / "progs_copy_hl.py")
    shutil.copytree(a, b)
    ga = build_graph(f"{a}/progs_copy_hl.py:aggregate")
    sys.modules.pop("_hydrologic_program_progs_copy_hl", None)
    gb = build_graph(f"{b}/progs_copy_hl.py:aggregate")
    assert ga.fingerprint(portable=True) == gb.fingerprint(portable=True)
    assert ga.fingerprint() != gb.fingerprint()  # the default names each site by its full path


# ---- placement ----------------------------------------------------------------------------------


def test_a_placement_maps_to_one_bundle_per_member() -> None:
    p = Placement(num_cpus=1, num_gpus=0.5, memory=2**30, resources={"ssd": 1}, strategy="strict_spread")
    assert bundle_of(p) == {"CPU": 1.0, "GPU": 0.5, "memory": float(2**30), "ssd": 1.0}
    assert bundle_of(Placement()) == {"CPU": 0.0001}  # Ray refuses empty bundles
    assert describe_request("Workers", 3, Placement(label={"zone": "a"})) == (
        "Workers: 3 member(s), spread, each {CPU: 0.0001}, on nodes labelled {'zone': 'a'}"
    )
    assert describe_request("Leader", 1, Placement(num_cpus=2, memory=2**31, strategy="pack")) == (
        "Leader: 1 member(s), pack, each {CPU: 2, memory: 2.00 GiB}"
    )


def test_placements_are_keyed_by_location_name_and_unknown_names_are_refused() -> None:
    graph = build_graph(f"{PROGS}:aggregate")
    by_id = resolve_placement(graph, {"Workers": Placement(strategy="pack")})
    (loc,) = [l for l in graph.locations if l.id in by_id]
    assert loc.name == "Workers" and by_id[loc.id].strategy == "pack"
    with pytest.raises(UsageError, match=r"HL501.*placement key 'Wrokers' names no location \(locations: .*Workers"):
        resolve_placement(graph, {"Wrokers": Placement()})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "scatter"}, "strategy 'scatter' is not one of spread, pack, strict_spread, strict_pack"),
        ({"num_cpus": -1}, "amounts must be numbers >= 0"),
        ({"timeout": 0}, "timeout must be > 0"),
    ],
)
def test_a_placement_that_means_nothing_is_refused_when_it_is_written(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match="HL501") as info:
        Placement(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


# ---- the command line ---------------------------------------------------------------------------


def test_placement_flags_need_ray_and_a_well_formed_spec(capsys: pytest.CaptureFixture[str]) -> None:
    from hydrologic.cli import run

    with pytest.raises(SystemExit) as info:
        run.main([f"{PROGS}:aggregate", "--placement", "Workers=strategy=pack"])
    assert info.value.code == 2 and "--placement and --no-ship-code need --ray ADDRESS" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        run.main([f"{PROGS}:aggregate", "--ray", "auto", "--placement", "Workers=cpus=2"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "'cpus=2' is not KEY=VALUE with KEY one of strategy, num_cpus" in err, err


def test_a_placement_spec_parses_to_placement_arguments() -> None:
    from hydrologic.cli._args import placement_spec

    name, kwargs = placement_spec("Workers=strategy=strict_spread,num_cpus=1,memory=1024,label.zone=a,resource.ssd=2")
    assert name == "Workers"
    assert kwargs == {"strategy": "strict_spread", "num_cpus": 1.0, "memory": 1024, "label": {"zone": "a"}, "resources": {"ssd": 2.0}}
    assert Placement(**kwargs).strategy == "strict_spread"


# --- TLS across machines: Ray's default


def test_ray_turns_tls_on_by_default_only_when_live_nodes_have_more_than_one_address() -> None:
    from hydrologic.deploy.ray import node_addresses
    from hydrologic.deploy.security import resolve_tls

    def default_tls(nodes: list[dict[str, Any]]) -> bool:
        ips = node_addresses(nodes)
        return resolve_tls(None, False, across_hosts=len(ips) > 1, hosts=ips).internal is not None

    one_host: list[dict[str, Any]] = [{"NodeManagerAddress": "10.0.0.5", "Alive": True}, {"NodeManagerAddress": "10.0.0.5", "Alive": True}]
    two_hosts: list[dict[str, Any]] = [{"NodeManagerAddress": "10.0.0.5", "Alive": True}, {"NodeManagerAddress": "10.0.0.6", "Alive": True}]
    dead_other: list[dict[str, Any]] = [{"NodeManagerAddress": "10.0.0.5", "Alive": True}, {"NodeManagerAddress": "10.0.0.6", "Alive": False}]
    assert not default_tls(one_host)  # two nodes of one machine: no channel leaves it
    assert default_tls(two_hosts)
    assert not default_tls(dead_other)  # a dead node hosts no actor
    assert node_addresses(two_hosts) == ["10.0.0.5", "10.0.0.6"]  # named in the generated certificate
