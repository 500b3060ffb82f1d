"""The law families and the registry that maps their names to them.

A family is one module (``laws/<family>.py``) that defines a ``Family``: its parameters, the law
object a preset builds, its fit forms and fit variants, its notes. Everything else in scalecli
asks this registry, so a new family is one module plus one line here.
"""

from __future__ import annotations

from scalecli.errors import InputError
from scalecli.laws import chinchilla, dynamics, kaplan, moe, precision
from scalecli.laws.base import AllocationLaw, Conditions, Family, FitVariant, Law, Param
from scalecli.laws.batch import BatchRule
from scalecli.laws.chinchilla import ChinchillaLaw
from scalecli.laws.dynamics import DynamicsLaw
from scalecli.laws.forms import FitForm
from scalecli.laws.frontier import Frontier
from scalecli.laws.kaplan import KaplanJointLaw, KaplanLaw, KaplanStepsLaw

REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a family (its forms and fit variants become available to scale fit too)."""
    REGISTRY[family.name] = family
    return family


for _family in (chinchilla.FAMILY, kaplan.FAMILY, dynamics.FAMILY, moe.FAMILY, precision.FAMILY):
    register(_family)


def family(name: str) -> Family:
    if name not in REGISTRY:
        raise InputError(f"'family' must be one of {', '.join(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


def fit_form(name: str) -> FitForm:
    forms = {f.name: f for fam in REGISTRY.values() for f in fam.forms}
    if name not in forms:
        raise InputError(f"unknown fit form {name!r}; expected one of {', '.join(forms)}")
    return forms[name]


def fit_forms() -> tuple[str, ...]:
    return tuple(f.name for fam in REGISTRY.values() for f in fam.forms)


def fit_variants() -> dict[str, tuple[Family, FitVariant]]:
    """``scale fit --law NAME`` choices: name -> (family, variant)."""
    return {v.name: (fam, v) for fam in REGISTRY.values() for v in fam.variants}


__all__ = [
    "REGISTRY",
    "AllocationLaw",
    "BatchRule",
    "ChinchillaLaw",
    "Conditions",
    "DynamicsLaw",
    "Family",
    "FitForm",
    "FitVariant",
    "Frontier",
    "KaplanJointLaw",
    "KaplanLaw",
    "KaplanStepsLaw",
    "Law",
    "Param",
    "family",
    "fit_form",
    "fit_forms",
    "fit_variants",
    "register",
]
