"""Request handlers that run inside the worker: build once, then evaluate workloads."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any


def handle_request(message: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Dispatch one request; never raises (errors become replies)."""
    op = message.get("op")
    try:
        if op == "build":
            return _build(message, state)
        if op == "eval":
            return _eval(message, state)
        return {"ok": False, "error": f"unknown request {op!r}"}
    except Exception:  # noqa: BLE001 - reported to the parent
        return {"ok": False, "error": traceback.format_exc()}


def _build(message: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    import torch

    from kernel_arena.engine.config import RunConfig
    from kernel_arena.engine.evaluate import EvalContext
    from kernel_arena.engine.sandbox.build import BuildError, build_solution
    from kernel_arena.measure.environment import hardware_name, library_versions
    from kernel_arena.measure.reference import ReferenceCache
    from kernel_arena.schema import Definition, Solution

    device_name = message["device"]
    device = torch.device("cuda:0" if device_name.startswith("cuda") else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    solution = Solution.model_validate(message["solution"])
    definition = Definition.model_validate(message["definition"])
    hardware = hardware_name("cuda:0" if device.type == "cuda" else "cpu")
    libs = library_versions(device_name)
    try:
        built = build_solution(solution, Path(message["build_root"]))
    except BuildError as exc:
        return {"ok": False, "build_error": str(exc), "hardware": hardware, "libs": libs}
    libs.update(built.libs)
    state["ctx"] = EvalContext(
        definition=definition,
        built=built,
        device=device,
        hardware=hardware,
        dataset_root=Path(message["dataset_root"]),
        config=RunConfig.from_json(message["config"]),
        cache=ReferenceCache(Path(message["cache_dir"]) if message.get("cache_dir") else None),
    )
    return {"ok": True, "hardware": hardware, "libs": libs}


def _eval(message: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    from kernel_arena.engine.evaluate import evaluate_workload
    from kernel_arena.schema import Workload

    ctx = state.get("ctx")
    if ctx is None:
        return {"ok": False, "error": "eval before a successful build"}
    workload = Workload.model_validate(message["workload"])
    outcome = evaluate_workload(ctx, workload)
    reply = {"ok": True, **outcome.to_json(), "cache": {"hits": ctx.cache.hits, "misses": ctx.cache.misses}}
    return reply
