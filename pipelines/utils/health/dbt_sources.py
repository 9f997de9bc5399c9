"""Freshness declared the dbt way, on the `queries/` sources a flow loads.

    sources:
      - name: rain_staging
        freshness: {error_after: {count: 2, period: day}}   # every table of the source
        tables:
          - name: gauges
          - name: archive
            freshness: null                                 # never stale

A source table `<dataset_id>_staging.<table_id>` is the raw table a flow writes as
`<dataset_id>.<table_id>`, so its freshness is that table's. `error_after` is the limit
(`warn_after` when it is the only one given); `loaded_at_field` is not needed, because load
times come from each load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.errors import HealthError
from pipelines.utils.naming import raw_table_of

_PERIODS = {
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
}
_UNSET = object()


@dataclass(frozen=True)
class SourceFreshness:
    """A raw table's freshness from dbt: a span, or None where dbt says `freshness: null`."""

    table: str  # <dataset_id>.<table_id>
    freshness: dt.timedelta | None
    where: str  # the YAML file, relative to the repo


def _declared(block: Mapping[str, Any]) -> Any:
    """The `freshness` a source or table sets (directly or under `config:`), or _UNSET."""
    config = block.get("config")
    if isinstance(config, Mapping) and "freshness" in config:
        return config["freshness"]
    return block.get("freshness", _UNSET)


def _span(value: Any, where: str) -> dt.timedelta | None:
    if value is None:
        return None
    limit = None
    if isinstance(value, Mapping):
        limit = value.get("error_after") or value.get("warn_after")
    if not isinstance(limit, Mapping):
        raise HealthError(
            f"{where}: freshness {value!r} has no error_after; write "
            "freshness: {error_after: {count: 2, period: day}} (or freshness: null)."
        )
    count, period = limit.get("count"), limit.get("period")
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise HealthError(f"{where}: freshness count {count!r} is not a positive whole number.")
    if period not in _PERIODS:
        raise HealthError(
            f"{where}: freshness period {period!r} is not one of {', '.join(_PERIODS)}."
        )
    return count * _PERIODS[period]


def readable_freshness(queries: Path) -> tuple[dict[str, SourceFreshness], list[str]]:
    """`source_freshness`, with what stops it as a problem line (for `check`, and for pages
    that show check's problems) instead of an error."""
    try:
        return source_freshness(queries), []
    except HealthError as error:
        return {}, [str(error)]


def source_freshness(queries: Path) -> dict[str, SourceFreshness]:
    """Every source table under `queries/models` that declares a freshness, by raw table.

    Raises:
        HealthError: A YAML file that does not parse, or a freshness dbt would not take,
            naming the file and the source table.
    """
    import yaml  # type: ignore[import-untyped]  # no stubs in the image

    models = queries / "models"
    found: dict[str, SourceFreshness] = {}
    files = sorted([*models.rglob("*.yml"), *models.rglob("*.yaml")]) if models.is_dir() else []
    for path in files:
        where = path.relative_to(queries.parent).as_posix()
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise HealthError(f"{where}: not valid YAML: {error}") from None
        sources = document.get("sources") if isinstance(document, Mapping) else None
        for source in sources if isinstance(sources, list) else []:
            if not isinstance(source, Mapping) or "name" not in source:
                continue
            dataset = str(source.get("schema") or source["name"])
            default = _declared(source)
            for table in source.get("tables") or []:
                if not isinstance(table, Mapping) or "name" not in table:
                    continue
                own = _declared(table)
                value = default if own is _UNSET else own
                if value is _UNSET:
                    continue
                name = raw_table_of(dataset, str(table.get("identifier") or table["name"]))
                label = f"{where}: source {source['name']}.{table['name']}"
                found[name] = SourceFreshness(name, _span(value, label), where)
    return found
