"""Documentation ships with the code (issue 10 items 8, 9, 11): docs/ is current, its examples
run, the README's examples print what the README shows, and nothing a user reads cites a file
outside the repository."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scalecli import presets
from scalecli.laws import Law

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = ("REFERENCE", "CLI.md", "ARCHITECTURE.md", "../shared/REFERENCE")


def test_python_api_examples_run():
    for target in (ROOT / "docs" / "python.md", ROOT / "scalecli" / "app.py"):
        if target.suffix == ".md":
            result = doctest.testfile(str(target), module_relative=False, optionflags=doctest.ELLIPSIS)
        else:
            import scalecli.app

            result = doctest.testmod(scalecli.app)
        assert result.failed == 0 and result.attempted > 0, target


def test_generated_docs_are_current():
    r = subprocess.run(
        [sys.executable, "tools/gen_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_readme_examples_print_what_the_readme_shows():
    r = subprocess.run(
        [sys.executable, "tools/readme_examples.py"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_readme_points_to_docs_not_outside_files():
    readme = (ROOT / "README.md").read_text()
    for page in ("docs/laws.md", "docs/output.md", "docs/files.md", "docs/python.md", "docs/architecture.md"):
        assert page in readme and (ROOT / page).exists()
    prose = "\n".join(line for line in readme.splitlines() if not line.startswith((" ", "•", "$")))
    for name in ("REFERENCE.md", "CLI.md", "ARCHITECTURE.md"):
        assert name not in prose, name
    for page in (ROOT / "docs").glob("*.md"):
        text = page.read_text()
        for name in OUTSIDE:
            assert name not in text, (page.name, name)


@pytest.mark.parametrize("name", presets.shipped_names())
def test_what_users_read_cites_papers_or_docs(cli, name):
    preset = presets.load(name)
    texts = [preset.source_line(), preset.description, *preset.notes, *map(str, preset.source.values())]
    args = ["plan", "--flops", "1e22", "--law", name, "--format", "json"]
    if isinstance(preset.law, Law):
        args += ["--inference-tokens", "1T", "--unique-tokens", "1e11", "--allow-repeats"]
    r = cli(*args)
    assert r.code == 0, r.err
    texts += r.json()["plans"][0]["notes"]
    texts.append(cli("presets", "show", name).out)
    for text in texts:
        for outside in OUTSIDE:
            assert outside not in text, (name, text)


@pytest.mark.parametrize("name", presets.shipped_names())
def test_presets_show_yaml_is_a_law_file(cli, tmp_path, name):
    r = cli("presets", "show", name, "--format", "yaml")
    path = tmp_path / f"{name}.yaml"
    path.write_text(r.out)
    again = presets.load(str(path))
    assert again.law.params == presets.load(name).law.params
    assert yaml.safe_load(r.out)["family"] == presets.load(name).family


def test_every_preset_and_field_is_documented():
    from scalecli import fields

    laws = (ROOT / "docs" / "laws.md").read_text()
    output = (ROOT / "docs" / "output.md").read_text()
    for name in presets.shipped_names():
        assert f"`{name}`" in laws, name
    for f in fields.PLAN_FIELDS:
        assert f"`max_{f.name}`" in output, f.name
