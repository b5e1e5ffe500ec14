"""The command table of spasm_advisor.cli: a command is one function and one table entry."""

from __future__ import annotations

import argparse

import pytest

from spasm_advisor import cli
from spasm_advisor.errors import ExitCode


def _greet(args: argparse.Namespace) -> int:
    print(f"hello {args.name}{'!' if args.loud else ''}")
    return ExitCode.FINDINGS if args.name == "nobody" else ExitCode.OK


GREET = cli.Command(
    _greet, "say hello", (cli.arg("name"), cli.arg("--loud", action="store_true", help="with an exclamation mark"))
)


def test_a_new_command_is_one_function_and_one_entry(monkeypatch, capsys):
    """An entry added to COMMANDS is parsed, dispatched and sets the exit code, with nothing else changed."""
    monkeypatch.setitem(cli.COMMANDS, "greet", GREET)
    assert cli.main(["greet", "world", "--loud"]) == 0
    assert capsys.readouterr().out == "hello world!\n"
    assert cli.main(["greet", "nobody"]) == ExitCode.FINDINGS


def test_a_new_subcommand_of_a_group_is_one_entry(monkeypatch, capsys):
    """An entry added to a group's table becomes a subcommand, and the group's hint names it."""
    monkeypatch.setitem(cli.COMMANDS["rules"].commands, "greet", GREET)
    assert cli.main(["rules", "greet", "clinician"]) == 0
    assert capsys.readouterr().out == "hello clinician\n"
    assert cli.main(["rules"]) == ExitCode.USAGE
    assert capsys.readouterr().err.strip().endswith("report, diff, safety-case, seal or greet")


def test_a_new_group_is_one_entry(monkeypatch, capsys):
    """A new group with its own table dispatches to its subcommands."""
    monkeypatch.setitem(cli.COMMANDS, "feedback", cli.Group("collect feedback", {"greet": GREET}))
    assert cli.main(["feedback", "greet", "you"]) == 0
    assert capsys.readouterr().out == "hello you\n"
    assert cli.main(["feedback"]) == ExitCode.USAGE
    assert "feedback needs a subcommand: greet" in capsys.readouterr().err


def test_exclusive_arguments(monkeypatch, capsys):
    """one_of declares arguments a call may give only one of."""
    quiet = cli.Command(
        lambda args: 0,
        "quiet or loud",
        (cli.one_of(cli.arg("--quiet", action="store_true"), cli.arg("--loud", action="store_true")),),
    )
    monkeypatch.setitem(cli.COMMANDS, "speak", quiet)
    assert cli.main(["speak", "--quiet"]) == 0
    assert cli.main(["speak", "--quiet", "--loud"]) == ExitCode.USAGE
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unexpected_exception_in_a_command_is_exit_3(monkeypatch, capsys):
    """An exception that is not an EngineError is a bug: exit 3, one line."""

    def broken(args: argparse.Namespace) -> int:
        raise KeyError("missing")

    monkeypatch.setitem(cli.COMMANDS, "broken", cli.Command(broken, "always fails"))
    assert cli.main(["broken"]) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert err == "spasm-advisor: internal error: KeyError: 'missing' (run with --debug for details)\n"


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_help(name, capsys):
    """Every table entry answers --help with its usage and exits 0."""
    with pytest.raises(SystemExit) as info:
        cli.main([name, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: spasm-advisor {name}")
