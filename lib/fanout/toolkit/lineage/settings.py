"""What a project tells lint about itself: exclusions and options, read where a dbt user
puts them.

In `dbt_project.yml`, under `vars` (dbt-project-evaluator's own variables are read too,
so a project set up for it needs nothing more):

```yaml
vars:
  fanout:
    exclude_paths: ["models/legacy/", "source_3.table_6"]   # regular expressions
    exclude_packages: ["some_package"]                      # or "all"
    exclude_models: ["metricflow_time_spine"]
    seeds_as_sources: false      # seeds are models by default, as the evaluator counts them
    unique_alone: false          # a `unique` test alone does not make a tested primary key
  exclude_paths_from_project: ["/to_exclude/"]              # the evaluator's
  exclude_packages: ["exclude_package"]                     # the evaluator's
```

On a model, source or seed (in its YAML or `config()`): `meta: {fanout: {exclude: true}}`
silences every rule on it, `meta: {fanout: {skip: [fan-out, missing-grain]}}` the rules
named. A path pattern is a regular expression searched (case-insensitively) in the
resource's file path, for a source the path, a colon and `source_name.table`, as the
evaluator does; it applies to the project's own resources, `exclude_packages` to the
packages' ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fanout import bounded
from fanout.errors import DataError

__all__ = ["Settings"]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{where} must be a list of strings")
    return tuple(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DataError(f"{where} must be true or false")
    return value


@dataclass(frozen=True)
class Settings:
    """Exclusions and options of a lint run.

    >>> s = Settings.from_vars({"fanout": {"exclude_models": ["spine"]},
    ...                         "exclude_paths_from_project": ["/to_exclude/"]})
    >>> s.exclude_models, s.exclude_paths, s.seeds_as_sources
    (('spine',), ('/to_exclude/',), False)
    """

    exclude_paths: tuple[str, ...] = ()
    exclude_packages: tuple[str, ...] = ()
    exclude_models: tuple[str, ...] = ()
    seeds_as_sources: bool = False
    unique_alone: bool = False
    strict: bool = False  # also the rules stricter than dbt-project-evaluator's
    patterns: tuple[re.Pattern, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            patterns = tuple(re.compile(p, re.IGNORECASE) for p in self.exclude_paths)
        except re.error as exc:
            raise DataError(f"exclude_paths: {exc.pattern!r} is not a regular expression") from None
        object.__setattr__(self, "patterns", patterns)

    @classmethod
    def from_vars(cls, variables: Mapping[str, Any], where: str = "vars") -> Settings:
        """Settings from a `dbt_project.yml`'s `vars` (ours under `fanout`, the evaluator's)."""
        ours = variables.get("fanout") or {}
        if not isinstance(ours, Mapping):
            raise DataError(f"{where}.fanout must be a mapping")
        known = {"exclude_paths", "exclude_packages", "exclude_models"}
        known |= {"seeds_as_sources", "unique_alone", "strict"}
        unknown = sorted(set(ours) - known)
        if unknown:
            raise DataError(f"{where}.fanout has an unknown key {unknown[0]!r}")
        paths = _strings(ours.get("exclude_paths"), f"{where}.fanout.exclude_paths")
        paths += _strings(
            variables.get("exclude_paths_from_project"), f"{where}.exclude_paths_from_project"
        )
        packages = _strings(ours.get("exclude_packages"), f"{where}.fanout.exclude_packages")
        packages += _strings(variables.get("exclude_packages"), f"{where}.exclude_packages")
        return cls(
            exclude_paths=tuple(dict.fromkeys(paths)),
            exclude_packages=tuple(dict.fromkeys(packages)),
            exclude_models=_strings(ours.get("exclude_models"), f"{where}.fanout.exclude_models"),
            **{
                k: _flag(ours[k], f"{where}.fanout.{k}")
                for k in ("seeds_as_sources", "unique_alone", "strict")
                if k in ours
            },
        )

    @classmethod
    def from_project(cls, path: str | Path) -> Settings:
        """Settings from a `dbt_project.yml` (its `vars`)."""

        path = Path(path)
        project = bounded.load_yaml(path, "dbt project file")
        if not isinstance(project, Mapping):
            raise DataError(f"{path} is not a dbt_project.yml: it is not a mapping")
        variables = project.get("vars") or {}
        if not isinstance(variables, Mapping):
            raise DataError(f"{path}: vars must be a mapping")
        return cls.from_vars(variables, f"{path.name} vars")

    def merged(
        self,
        exclude_paths: Iterable[str] = (),
        exclude_packages: Iterable[str] = (),
        exclude_models: Iterable[str] = (),
        **flags: bool,
    ) -> Settings:
        """These settings with more exclusions and the given options (from the command line)."""
        return replace(
            self,
            exclude_paths=tuple(dict.fromkeys((*self.exclude_paths, *exclude_paths))),
            exclude_packages=tuple(dict.fromkeys((*self.exclude_packages, *exclude_packages))),
            exclude_models=tuple(dict.fromkeys((*self.exclude_models, *exclude_models))),
            **flags,
        )
