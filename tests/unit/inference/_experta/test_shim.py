"""Importing experta: the pinned version is checked, and the collections aliases do not outlive the import."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from locations import REPO

from spasm_advisor.errors import DependencyError, ExitCode
from spasm_advisor.inference._experta.shim import EXPERTA_VERSION, check_experta_version

ALIASES = ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Hashable")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_no_collections_alias_is_left_after_the_import():
    """After importing the package, collections has none of the aliases experta needed."""
    code = (
        "import collections, sys; from spasm_advisor import Advisor; assert 'experta' in sys.modules; "
        f"print([n for n in {ALIASES!r} if hasattr(collections, n)])"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_an_alias_the_host_set_is_kept():
    """An alias the host application set before the import is still there afterwards."""
    code = (
        "import collections, collections.abc; collections.Mapping = collections.abc.Mapping; "
        "from spasm_advisor import Advisor; "
        "print(collections.Mapping is collections.abc.Mapping, hasattr(collections, 'Sequence'))"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "False"]


def test_the_engine_works_without_the_aliases():
    """Assessing after the aliases are gone works: experta needed them only to import."""
    out = _python(
        "import collections; from spasm_advisor import Advisor; assert not hasattr(collections, 'Mapping'); "
        "print(Advisor.default().assess({'saddle_anaesthesia': True}).triage)"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "emergency"


@pytest.mark.parametrize(("installed", "found"), [("1.9.5", "is at version 1.9.5"), (None, "is not installed")])
def test_another_experta_version_is_refused(installed, found):
    """Any experta but the pinned one is refused with a message naming both versions and the fix."""
    with pytest.raises(DependencyError) as info:
        check_experta_version(installed)
    message = str(info.value)
    assert f"needs experta {EXPERTA_VERSION} exactly" in message
    assert f"but experta {found}" in message
    assert f"pip install 'experta=={EXPERTA_VERSION}'" in message
    assert isinstance(info.value, ImportError)
    assert info.value.exit_code == ExitCode.INTERNAL


def test_importing_with_another_experta_version_fails_clearly():
    """Importing the engine stops with that message when the installed experta is another release."""
    code = (
        "import collections, collections.abc; "
        "collections.Mapping = collections.MutableMapping = collections.abc.Mapping; "
        "import experta; experta.__version__ = '2.0.0'; "
        "from spasm_advisor import Advisor"
    )
    out = _python(code)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        f"spasm_advisor.errors.DependencyError: spasm_advisor needs experta {EXPERTA_VERSION} exactly "
        "(its matcher builds on experta's internals), but experta is at version 2.0.0: "
        f"pip install 'experta=={EXPERTA_VERSION}'"
    )


def test_the_engine_does_not_read_package_metadata_to_start():
    """Loading the engine checks experta's version without importing importlib.metadata (start-up time)."""
    out = _python("import sys; from spasm_advisor import Advisor; print('importlib.metadata' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_pin_in_pyproject_is_the_version_checked():
    """pyproject.toml pins exactly the experta release the import accepts."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert f"experta=={EXPERTA_VERSION}" in project["dependencies"]
