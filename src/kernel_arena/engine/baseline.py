"""The baseline of a run: the Solution every other one is compared with, per Definition.

A Definition may name its baseline (a top-level ``baseline`` field in its JSON; for the embedded
seed ops, the library wrapper); ``--baseline NAME`` overrides it for the run and ``none`` turns it
off. The baseline is added to the run when the selection left it out, runs before the others, and
every later trace on the same workload records the baseline's kernel time from this run folder
(``performance.baseline_latency_ms``, ``performance.speedup_vs_baseline``,
``performance.baseline``) next to the interop ``speedup_factor`` against the reference.
"""

from __future__ import annotations

from kernel_arena.dataset import Dataset, DatasetError
from kernel_arena.engine.plan import Job
from kernel_arena.engine.plausibility import baseline_flags
from kernel_arena.measure.environment import targets_device
from kernel_arena.schema import Definition, Trace, Workload
from kernel_arena.traces import TraceStore

NO_BASELINE = "none"


def baseline_name(definition: Definition, override: str | None = None) -> str | None:
    """The baseline Solution of ``definition`` for this run, if any."""
    if override is not None:
        return None if override == NO_BASELINE else override
    value = (definition.model_extra or {}).get("baseline")
    return value if isinstance(value, str) and value else None


def add_baseline_jobs(
    ds: Dataset, jobs: list[Job], override: str | None, device: str, hardware: str | None = None
) -> list[Job]:
    """``jobs`` plus, per Definition, its baseline on the union of the selected workloads when the
    selection left it out; baseline jobs first. DatasetError when ``--baseline`` names no
    Solution of a selected Definition. ``hardware``: as for ``plan_run``."""
    by_definition: dict[str, list[Job]] = {}
    for job in jobs:
        by_definition.setdefault(job.definition.name, []).append(job)
    extra: list[Job] = []
    for name, group in by_definition.items():
        definition = group[0].definition
        wanted = baseline_name(definition, override)
        if wanted is None or any(j.solution.name == wanted for j in group):
            continue
        solution = ds.solutions.get(wanted)
        if solution is None or solution.definition != name:
            if override is not None:
                known = sorted(s.name for s in ds.solutions.values() if s.definition == name)
                raise DatasetError(
                    f"--baseline {override}: not a solution of definition {name!r} "
                    f"(its solutions: {', '.join(known) or 'none'}; 'none' runs without a baseline)"
                )
            continue
        if not targets_device(solution.spec.target_hardware, device, hardware):
            continue
        seen: dict[str, Workload] = {}
        for job in group:
            for w in job.workloads:
                seen.setdefault(w.uuid, w)
        extra.append(Job(definition, solution, list(seen.values())))
    everything = extra + jobs
    return sorted(everything, key=lambda j: j.solution.name != baseline_name(j.definition, override))


def is_baseline(job: Job, override: str | None) -> bool:
    """Whether ``job`` runs its Definition's baseline."""
    return job.solution.name == baseline_name(job.definition, override)


def baseline_traces(jobs: list[Job], store: TraceStore, override: str | None) -> dict[tuple[str, str], Trace]:
    """PASSED baseline traces already in the run folder, by (definition, workload uuid)."""
    found: dict[tuple[str, str], Trace] = {}
    for op, name, baseline in sorted(
        {(j.definition.op_type, j.definition.name, baseline_name(j.definition, override)) for j in jobs}
    ):
        if baseline is None:
            continue
        for t in store.read(op, name):
            if t.solution == baseline and t.passed:
                found[(name, t.workload.uuid)] = t
    return found


def annotate(trace: Trace, baseline: Trace | None) -> None:
    """Record the baseline's kernel time and the speedup against it in ``trace`` (in place), and
    flag a speedup too large to be believed."""
    ev = trace.evaluation
    if ev is None or ev.performance is None or baseline is None or trace.solution == baseline.solution:
        return
    base = baseline.evaluation.performance if baseline.evaluation is not None else None
    if base is None or base.latency_ms <= 0:
        return
    perf = ev.performance
    perf.baseline = baseline.solution
    perf.baseline_latency_ms = base.latency_ms
    if perf.latency_ms > 0:
        perf.speedup_vs_baseline = base.latency_ms / perf.latency_ms
    flags = baseline_flags(trace, baseline)
    if flags:
        perf.flags = [*((perf.model_extra or {}).get("flags") or []), *flags]
        ev.log = "\n".join([*(f"flag: {f['message']}" for f in flags), ev.log])
