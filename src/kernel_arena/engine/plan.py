"""The plan of a run: which Solutions on which Workloads, and the Solutions skipped for a device.

A Job is one Solution on a list of Workloads of its Definition; it is plain data, so a backend
can ship it to a judge on another process or machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kernel_arena.dataset import Dataset, DatasetError
from kernel_arena.dataset.solution_folder import (
    SOLUTION_FILE,
    SolutionFolderError,
    is_solution_folder,
    pack_solution,
)
from kernel_arena.engine.run_folder import check_name
from kernel_arena.measure.environment import targets_device
from kernel_arena.problems import validation_summary
from kernel_arena.schema import Definition, Solution, Workload


@dataclass
class Skip:
    """A solution not run, and why."""

    definition: str
    solution: str
    reason: str


@dataclass
class Job:
    """One solution on a list of workloads."""

    definition: Definition
    solution: Solution
    workloads: list[Workload]

    def to_json_dict(self) -> dict[str, Any]:
        """Plain form, for a backend that ships jobs to another process or machine."""
        return {
            "definition": self.definition.to_json_dict(),
            "solution": self.solution.to_json_dict(),
            "workloads": [w.to_json_dict() for w in self.workloads],
        }

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> Job:
        """Inverse of ``to_json_dict``."""
        return cls(
            Definition.model_validate(obj["definition"]),
            Solution.model_validate(obj["solution"]),
            [Workload.model_validate(w) for w in obj["workloads"]],
        )


def load_solution_arg(arg: str) -> Solution | None:
    """A solution given as a path: an authoring folder or an inline JSON file; else None.

    DatasetError naming the file (and the fields) when it is not a valid Solution.
    """
    path = Path(arg)
    try:
        if is_solution_folder(path):
            return pack_solution(path)
        if path.is_file() and path.suffix == ".json":
            return Solution.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        file = path / SOLUTION_FILE if path.is_dir() else path
        raise DatasetError(validation_summary(exc, file)) from None
    except (SolutionFolderError, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: {exc}" if str(path) not in str(exc) else str(exc)) from None
    return None


def select_workloads(
    definition: Definition,
    workloads: list[Workload],
    device: str,
    wanted: Sequence[str] | None,
    tags: Sequence[str] | None,
) -> list[Workload]:
    """Workloads to run: by uuid/name when given, else by tag (``cpu`` on CPU, ``gpu`` on GPU)."""
    if wanted:
        chosen = [
            w for w in workloads if any(w.uuid == x or w.uuid.startswith(x) or w.name == x for x in wanted)
        ]
        return chosen
    if tags is None:
        tags = ["cpu"] if device == "cpu" else ["gpu"]
    if "all" in tags:
        return list(workloads)
    return [w for w in workloads if not w.tags or set(w.tags) & set(tags)]


def plan_run(
    ds: Dataset,
    definitions: Sequence[str] | None,
    solutions: Sequence[str] | None,
    extra_solutions: Sequence[Solution],
    device: str,
    workloads: Sequence[str] | None,
    tags: Sequence[str] | None,
    hardware: str | None = None,
) -> tuple[list[Job], list[Skip]]:
    """Jobs for the selection, and the solutions skipped for this device.

    ``hardware`` is the GPU name a Solution's ``target_hardware`` is matched against (None: any
    GPU Solution runs on a GPU device)."""
    for name in definitions or []:
        ds.definition(name)  # DatasetError naming the known definitions
    candidates: list[Solution] = []
    if solutions:
        for name in solutions:
            candidates.append(ds.solution(name))
    elif not extra_solutions:
        candidates = sorted(ds.solutions.values(), key=lambda s: (s.definition, s.name))
    candidates += list(extra_solutions)
    jobs, skips = [], []
    for sol in candidates:
        if definitions and sol.definition not in definitions:
            continue
        if sol.definition not in ds.definitions:
            raise DatasetError(
                f"solution {sol.name!r} implements {sol.definition!r}, which is not in the dataset"
                + ds.load_failure(sol.definition, "definitions")
            )
        definition = ds.definitions[sol.definition]
        check_name("op type", definition.op_type, f"definition {definition.name!r}")
        check_name("definition", definition.name)
        check_name("solution", sol.name)
        if not targets_device(sol.spec.target_hardware, device, hardware):
            skips.append(
                Skip(
                    sol.definition,
                    sol.name,
                    f"targets {', '.join(sol.spec.target_hardware)}; this run uses {device}",
                )
            )
            continue
        chosen = select_workloads(definition, ds.workloads_for(definition.name), device, workloads, tags)
        if chosen:
            jobs.append(Job(definition, sol, chosen))
    return jobs, skips
