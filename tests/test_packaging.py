"""Packaging (issue 10 item 10): the metadata a build backend reads is consistent."""

from __future__ import annotations

from pathlib import Path

import pytest

import scalecli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_spdx_license_needs_setuptools_77(project):
    # PEP 639: `license = "MIT"` (an SPDX expression) is read by setuptools 77 and later only
    assert project["project"]["license"] == "MIT"
    requires = project["build-system"]["requires"]
    assert any(
        r.replace(" ", "").startswith("setuptools>=") and int(r.split(">=")[1].split(".")[0]) >= 77
        for r in requires
    )
    assert project["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_version_has_one_source(project):
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "scalecli.__version__"}
    assert scalecli.__version__.count(".") == 2


def test_dev_extra_and_console_script(project):
    extras = project["project"]["optional-dependencies"]
    # mypy and ruff are CI gates (.ci/run installs the test extra), so they live in `test`; dev is test
    assert extras["dev"] == ["scalecli[test]"]
    assert any(d.startswith("mypy") for d in extras["test"])
    assert any(d.startswith("ruff") for d in extras["test"])
    assert project["project"]["scripts"]["scale"] == "scalecli.entry:main"
