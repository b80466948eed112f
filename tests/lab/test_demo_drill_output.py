"""What `mailha demo` and `mailha lab drill` tell an admin, checked without a lab."""

from __future__ import annotations

import dataclasses

import pytest

from mailha import demo
from mailha.lab import cli as lab_cli
from mailha.lab import drill
from mailha.lab.layout import Layout


def help_of(main, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_demo_help_says_what_the_demo_does_in_plain_text(capsys):
    text = help_of(demo.main, ["--help"], capsys)
    assert "`" not in text  # no reStructuredText or Markdown markup
    assert "Pacemaker" in text and "fencing" in text and "root" in text
    for _what, command in demo.STEPS:  # every step, as the command an admin would type
        assert f"mailha lab {' '.join(command)}\n" in text
    assert "--keep" in text and "mailha lab down" in text


def test_lab_drill_help_explains_every_scenario_and_runs(capsys):
    text = help_of(lab_cli.main, ["drill", "--help"], capsys)
    assert "`" not in text
    for scenario in drill.SCENARIOS:
        assert f"  {scenario:13} {drill.SCENARIO_HELP[scenario]}\n" in text
    assert "every scenario above" in text  # "all"
    runs = " ".join(text.split("--runs N", 2)[2].split())  # the option's own help, unwrapped
    assert runs.startswith("run each scenario N times") and "one row per run" in runs


@pytest.fixture
def fake_lab(monkeypatch):
    """The drill command with the lab's effects replaced: deploys, restores and runs do nothing."""
    result = drill.DrillResult("power-off", 1, "node1", "node2", 9.52, 93, True, 190)
    monkeypatch.setattr(lab_cli, "_layout", lambda nodes=None: Layout(root="/nonexistent/lab"))
    monkeypatch.setattr(lab_cli.services, "default_kind", lambda: "389ds")
    monkeypatch.setattr(drill.services, "deploy", lambda layout, kind: None)
    monkeypatch.setattr(drill.gwservices, "deploy", lambda layout: None)
    monkeypatch.setattr(drill.msgservices, "deploy", lambda layout: None)
    monkeypatch.setattr(drill.faults, "restore", lambda layout: None)
    monkeypatch.setattr(drill, "run_once", lambda layout, scenario, directory, run, gw=None, ms=None:
                        dataclasses.replace(result, scenario=scenario, run=run))
    return result


def test_each_drill_row_is_printed_once_under_one_header_with_units(fake_lab, capsys):
    assert lab_cli.main(["drill", "power-off", "--runs", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines.count(drill.HEADER) == 1 and lines[0] == drill.HEADER
    assert "downtime (s)" in drill.HEADER and "failed/sent probes" in drill.HEADER
    rows = [line for line in lines if line.startswith("power-off")]
    assert [line.split()[:2] for line in rows] == [["power-off", "1"], ["power-off", "2"]]  # each run once
    assert rows[0].split()[2:] == ["node1", "node2", "9.52", "93/190", "yes"]
    assert "\n".join(lines[len(rows) + 1:]) == drill.LEGEND  # what the columns mean, after the rows


def test_drill_runs_must_be_positive(fake_lab, capsys):
    assert lab_cli.main(["drill", "power-off", "--runs", "0"]) == 2
    assert "--runs must be at least 1" in capsys.readouterr().err
