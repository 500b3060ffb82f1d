from __future__ import annotations

import json
from pathlib import Path

import pytest

from scalecli.cli import main

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run the console entry point in-process: cli('plan', '--flops', '1e23')."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def data_file(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset {path} not present (tests read ../shared/data beside the checkout)")
    return path
