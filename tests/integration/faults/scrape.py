"""One scrape of the exporter, parsed by prometheus-client's own text parser, for assertions.

The fault tests read many values from many scrapes; :class:`Exposition` turns the text into
samples once and answers "the value of this series" (all given labels must match, the rest may
be anything) without any test re-implementing the text format.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Exposition", "Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of the exposition: its name, labels and value."""

    name: str
    labels: Mapping[str, str]
    value: float


class Exposition:
    """The samples of one text exposition, searchable by name and a subset of labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._by_name: dict[str, list[Sample]] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                sample = Sample(s.name, dict(s.labels), float(s.value))
                self._by_name.setdefault(s.name, []).append(sample)

    def samples(self, name: str, **labels: str) -> list[Sample]:
        """Every sample named ``name`` whose labels include ``labels``."""
        return [
            s
            for s in self._by_name.get(name, ())
            if all(s.labels.get(key) == value for key, value in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the one series matching; None if there is none; error if several."""
        found = self.samples(name, **labels)
        if len(found) > 1:
            raise AssertionError(f"{name}{labels} matches {len(found)} series, not one")
        return found[0].value if found else None

    def total(self, name: str, **labels: str) -> float:
        """The sum over every matching series (0 when there is none)."""
        return sum(s.value for s in self.samples(name, **labels))

    def has(self, name: str, **labels: str) -> bool:
        return bool(self.samples(name, **labels))

    def names(self, prefix: str = "") -> Iterator[str]:
        """Sample names present, optionally only those starting with ``prefix``."""
        return (name for name in self._by_name if name.startswith(prefix))
