"""The project's own files agree with each other: environment.yml mirrors pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def normalise(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement).lower()


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= set(extra)
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = {r for r in pip_section if not r.startswith("-e")}
    assert {normalise(r) for r in listed} == {normalise(r) for r in declared}
    assert "-e ." in pip_section


def test_torch_requirement_avoids_the_broken_cpu_wheel():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_requirement = next(d for d in dependencies if d.startswith("torch>") or d.startswith("torch="))
    assert "!=2.13.0" in torch_requirement  # see the torchvision trap in README.md
    assert "<" not in torch_requirement  # no upper pin: Colab's preinstalled torch must satisfy it
