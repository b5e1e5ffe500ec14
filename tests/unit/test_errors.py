"""Every error class lives in spasm_advisor.errors, under EngineError, with its exit code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import spasm_advisor
from spasm_advisor import errors


def _modules():
    for info in pkgutil.walk_packages(spasm_advisor.__path__, "spasm_advisor."):
        if info.name.startswith(("spasm_advisor.rules", "spasm_advisor.knowledge")):
            continue
        yield importlib.import_module(info.name)


def test_every_exception_class_is_defined_in_errors():
    """No module but spasm_advisor.errors defines an exception class."""
    elsewhere = [
        f"{module.__name__}.{name}"
        for module in _modules()
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == module.__name__
        and module is not errors
    ]
    assert elsewhere == []


def test_every_error_is_under_one_root_with_an_exit_code():
    """Every exception class of errors derives from EngineError and carries a documented exit code."""
    classes = [v for v in vars(errors).values() if inspect.isclass(v) and issubclass(v, BaseException)]
    assert len(classes) >= 8
    for cls in classes:
        assert issubclass(cls, errors.EngineError), cls
        assert cls.exit_code in set(errors.ExitCode), cls
        assert cls.__doc__, cls


def test_exit_codes_are_the_documented_contract():
    """0 success, 1 findings, 2 usage or input error, 3 internal error, 130 interrupted."""
    assert {code.name: int(code) for code in errors.ExitCode} == {
        "OK": 0,
        "FINDINGS": 1,
        "USAGE": 2,
        "INTERNAL": 3,
        "INTERRUPTED": 130,
    }
    assert errors.EngineError.exit_code == errors.ExitCode.USAGE
