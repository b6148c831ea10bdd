"""The project's set-up files agree with each other and with the README."""

import re
import tomllib

import yaml

from .conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def _spec(requirement: str) -> str:
    return requirement.replace(" ", "").lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip = project["dependencies"] + extras["dev"] + extras["engines"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [
        d for d in env["dependencies"] if isinstance(d, str) and _name(d) not in ("python", "pip")
    ]
    assert sorted(map(_spec, pip)) == sorted(map(_spec, conda))


def test_dbt_core_is_pinned_below_1_12_with_the_reason():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"dbt-core>=1.10,<1.12"' in text
    assert "dbt-core-experimental-parser" in text


def test_readme_shows_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make workbook" in readme and "make test" in readme


def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):.*?## ", makefile, flags=re.M))
    assert {"workbook", "test", "notebooks", "lint", "data", "clean", "env"} <= targets


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_dbt_projects_keep_tracking_off():
    for project in (ROOT / "warehouse").glob("*/dbt_project.yml"):
        flags = yaml.safe_load(project.read_text())["flags"]
        assert flags["send_anonymous_usage_stats"] is False
