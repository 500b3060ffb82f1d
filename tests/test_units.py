import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalecli.errors import InputError
from scalecli.units import human_count, human_flops, parse_number


@pytest.mark.parametrize(
    "text, value",
    [
        ("1e23", 1e23),
        ("1.5e+23", 1.5e23),
        ("3.2E22", 3.2e22),
        ("1.0e+23", 1e23),
        ("12345", 12345.0),
        ("70B", 70e9),
        ("1.4T", 1.4e12),
        ("4M", 4e6),
        ("2K", 2e3),
        ("1G", 1e9),
        ("3P", 3e15),
        ("70b", 70e9),
        (" 7B ", 7e9),
        (1e23, 1e23),
        (7, 7.0),
    ],
)
def test_parse_number_accepts_cli_md_forms(text, value):
    # CLI.md "Numbers on the command line and in YAML"
    assert parse_number(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("-5", "positive"),
        ("0", "positive"),
        ("nan", "number"),
        ("inf", "number"),
        ("1e400", "finite"),
        ("abc", "number"),
        ("", "number"),
        ("70X", "number"),
        (True, "number"),
        (None, "number"),
        ("1e23e4", "number"),
        ([1], "number"),
    ],
)
def test_parse_number_rejects_bad_values(text, fragment):
    with pytest.raises(InputError, match=fragment):
        parse_number(text, "--flops")


def test_parse_number_zero_allowed_when_asked():
    assert parse_number("0", allow_zero=True) == 0.0


@given(st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False))
def test_parse_number_round_trips_repr(x):
    assert parse_number(repr(x)) == x


def test_human_magnitudes():
    # the examples: 70.0B params, 1.40T tokens, 2.3e23 FLOP
    assert human_count(70e9) == "70.0B"
    assert human_count(1.4e12) == "1.40T"
    assert human_count(999.6e6) == "1.00B"
    assert human_count(950) == "950"
    assert human_flops(2.3e23) == "2.3e23"
    assert human_flops(1e23) == "1e23"
    assert human_count(math.inf) == "-"
