"""Law families: each module holds a loss surface, its parameter schema and its compute model."""

from scalecli.laws.base import Conditions, Law
from scalecli.laws.batch import BatchRule
from scalecli.laws.chinchilla import ChinchillaLaw
from scalecli.laws.dynamics import DynamicsLaw
from scalecli.laws.frontier import Frontier
from scalecli.laws.kaplan import KaplanLaw

FAMILIES: dict[str, type[Law]] = {
    "chinchilla": ChinchillaLaw,
    "kaplan": KaplanLaw,
    "dynamics": DynamicsLaw,
}

__all__ = [
    "BatchRule",
    "ChinchillaLaw",
    "Conditions",
    "DynamicsLaw",
    "FAMILIES",
    "Frontier",
    "KaplanLaw",
    "Law",
]
