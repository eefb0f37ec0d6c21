"""The sandbox process: builds one Solution, calls it, runs the timing loops. Untrusted.

Started as ``python -m kernel_arena.engine.sandbox.serve REPLY_FD PARENT_PID``. Requests arrive
pickled on stdin (written by the judge only); replies leave as JSON lines on ``REPLY_FD``; the
Solution's prints go to the log file (stdout and stderr). The process never sees reference
outputs, the reference code, the reference cache or the run folder: it gets tensors the judge
lent it and writes outputs into the judge's buffers.

What it reports is checked by the judge, never believed: output values are read from the judge's
own memory, timed outputs are re-checked, and timing numbers are bounded and flagged. What it can
tell the judge honestly is what the Solution did to this process: timer functions replaced,
threads left running (``Integrity``).
"""

from __future__ import annotations

import faulthandler
import os
import resource
import sys
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from kernel_arena.engine.sandbox.containment import die_with_parent
from kernel_arena.engine.sandbox.integrity import IntegrityWatch
from kernel_arena.engine.sandbox.protocol import (
    MAX_TEXT,
    BuildFailed,
    BuildRequest,
    Built,
    Called,
    CallRequest,
    Looped,
    Ready,
    ReadyRequest,
    ReturnedOutput,
    StopRequest,
    Timed,
    TimeRequest,
    encode_reply,
)
from kernel_arena.engine.sandbox.shared import ChunkMaps
from kernel_arena.engine.sandbox.tracebacks import solution_traceback

FILE_SIZE_LIMIT = 1 << 30
"""Largest file the sandbox (and its children) may write: logs, build folders, JIT caches."""


class Sandbox:
    """State of one sandbox process: the built Solution and the watch on its reach."""

    def __init__(self, reply_fd: int) -> None:
        self.reply_fd = reply_fd
        self.fn: Callable[..., Any] | None = None
        self.build_dir: Path | None = None
        self.dps = True
        self.device: Any = None
        self.watch = IntegrityWatch()
        self.maps = ChunkMaps()
        self.hardware = ""
        self.libs: dict[str, str] = {}

    def reply(self, message: Any) -> None:
        data = encode_reply(message)
        view = memoryview(data)
        while view:
            written = os.write(self.reply_fd, view)
            view = view[written:]

    # ------------------------------------------------------------------ start-up and build
    def ready(self, req: ReadyRequest) -> None:
        """Import what every later request needs before any Solution code runs."""
        self._start(req.device)
        self.reply(Ready(type="ready", nonce=req.nonce, hardware=self.hardware, libs=self.libs))

    def _start(self, device: str) -> None:
        import torch

        import kernel_arena.engine.sandbox.build  # noqa: F401 - imported ahead, on the harness's time
        import kernel_arena.measure.timing  # noqa: F401
        from kernel_arena.measure.environment import hardware_name, library_versions

        cuda = device.startswith("cuda")
        self.device = torch.device("cuda:0" if cuda else "cpu")
        if cuda:
            torch.cuda.set_device(self.device)
            torch.empty(1, device=self.device)  # creates the CUDA context
        self.hardware = hardware_name("cuda:0" if cuda else "cpu")
        self.libs = library_versions(device)

    def build(self, req: BuildRequest) -> None:
        from kernel_arena.engine.sandbox.build import BuildError, build_solution
        from kernel_arena.schema import Solution

        if self.device is None:
            self._start(req.device)
        hardware, libs = self.hardware, dict(self.libs)
        solution = Solution.model_validate(req.solution)
        self.dps = solution.spec.destination_passing_style
        try:
            built = build_solution(solution, Path(req.build_root))
        except BuildError as exc:
            self.reply(
                BuildFailed(
                    type="build_failed", nonce=req.nonce, error=_cut(str(exc)), hardware=hardware, libs=libs
                )
            )
            return
        self.fn = built.fn
        self.build_dir = built.build_dir
        libs.update(built.libs)
        self.reply(Built(type="built", nonce=req.nonce, hardware=hardware, libs=libs))

    # ------------------------------------------------------------------ one correctness call
    def call(self, req: CallRequest) -> None:
        import torch

        from kernel_arena.measure.phases import PhaseClock

        assert self.fn is not None
        clock = PhaseClock()
        with clock.phase("open"):
            values = [*req.inputs, *req.outputs]
            self.maps.retain(values)
            opened = [self.maps.open_value(v) for v in values]
        args, outs = opened[: len(req.inputs)], opened[len(req.inputs) :]
        before = self.watch.threads()
        returned: list[ReturnedOutput] = []
        count: int | None = None
        try:
            with clock.phase("call"), torch.no_grad():
                if self.dps:
                    self.fn(*args, *outs)
                else:
                    result = _as_tuple(self.fn(*args), req.output_names)
                    count = len(result)
                    returned = _copy_returned(result, outs, req.output_names)
            with clock.phase("sync"):
                self._sync()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the Solution's error is its RUNTIME_ERROR
            self.reply(
                Called(
                    type="called",
                    nonce=req.nonce,
                    error=_cut(solution_traceback(exc, self.build_dir)),
                    integrity=self.watch.check(before),
                )
            )
            return
        with clock.phase("integrity"):
            integrity = self.watch.check(before)
        self.reply(
            Called(
                type="called",
                nonce=req.nonce,
                returned_count=count,
                returned=returned,
                integrity=integrity,
                harness_ms=clock.rounded(),
            )
        )

    # ------------------------------------------------------------------ the timing loops
    def time(self, req: TimeRequest) -> None:
        import torch

        from kernel_arena.measure.phases import PhaseClock
        from kernel_arena.measure.timing import TimingSettings, time_call

        assert self.fn is not None
        fn, dps = self.fn, self.dps
        clock = PhaseClock(self.device)
        with clock.phase("prepare"):
            self.maps.retain(
                [*req.inputs, *req.variants.values(), *(r for trial in req.outputs for r in trial)]
            )
            open_value = self.maps.open_value
            base = [open_value(v) for v in req.inputs]
            index = {name: i for i, name in enumerate(req.input_names)}
            variants = [(index[name], open_value(ref).unbind(0)) for name, ref in req.variants.items()]
            n_variants = min((len(views) for _, views in variants), default=1)
            out_sets = [tuple(open_value(r) for r in trial) for trial in req.outputs]
            columns: list[Any] = [[value] * n_variants for value in base]
            for i, views in variants:
                columns[i] = views[:n_variants]
            per_variant: list[tuple[Any, ...]] = list(zip(*columns)) or [()] * n_variants
        plan: list[int] = []  # [warmup, iters] once the warm-up is over
        last_returned: dict[int, Any] = {}
        counter = [0]

        def call() -> None:
            n = counter[0]
            counter[0] = n + 1
            trial = 0 if not plan else ((n - plan[0]) % (req.trials * plan[1])) // plan[1]
            with torch.no_grad():
                if dps:
                    fn(*per_variant[n % n_variants], *out_sets[trial])
                else:
                    last_returned[trial] = fn(*per_variant[n % n_variants])

        returned: list[ReturnedOutput] = []
        looped = [False]

        def loops_done() -> None:
            """Every output set now holds its trial's last outputs: tell the judge, which checks
            one of them while the profile is read here."""
            nonlocal returned
            if looped[0]:
                return  # called again by the fallback to host timing: the loops are the same
            looped[0] = True
            try:
                returned = self._copy_last_returned(last_returned, out_sets, req.output_names)
                self._sync()
                self.reply(Looped(type="looped", nonce=req.nonce, calls=counter[0], iters=plan[1]))
            except Exception:  # noqa: BLE001 - a failed copy is reported with the Timed reply
                returned = []
                looped[0] = False

        before = self.watch.threads()
        try:
            settings = TimingSettings(req.warmup, req.iters, req.trials, req.budget_ms, req.min_iters)
            timing = time_call(
                call,
                self.device,
                settings,
                clock,
                on_plan=lambda w, i: plan.extend((w, i)),
                on_done=loops_done,
            )
            with clock.phase("finish"):
                if not looped[0]:
                    returned = self._copy_last_returned(last_returned, out_sets, req.output_names)
                self._sync()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failure while timing is a runtime error
            self.reply(
                Timed(
                    type="timed",
                    nonce=req.nonce,
                    error=_cut(solution_traceback(exc, self.build_dir)),
                    calls=counter[0],
                    integrity=self.watch.check(before),
                )
            )
            return
        self.reply(
            Timed(
                type="timed",
                nonce=req.nonce,
                calls=counter[0],
                warmup=timing.warmup,
                iters=timing.iters,
                latency_ms=timing.latency_ms,
                call_latency_ms=timing.call_latency_ms,
                method=timing.method[:300],
                spread=timing.spread,
                trial_medians_ms=timing.trial_medians_ms,
                kernels_per_call=timing.kernels_per_call,
                harness_ms=clock.rounded(),
                returned=returned,
                integrity=self.watch.check(before),
            )
        )

    def _copy_last_returned(
        self, last_returned: dict[int, Any], out_sets: list[tuple[Any, ...]], names: list[str]
    ) -> list[ReturnedOutput]:
        """A value-returning Solution: copy each trial's last returned outputs into its output set."""
        returned: list[ReturnedOutput] = []
        if self.dps:
            return returned
        for trial, outs in enumerate(out_sets):
            if trial in last_returned:
                returned = _copy_returned(_as_tuple(last_returned[trial], names), list(outs), names)
        return returned

    def _sync(self) -> None:
        if self.device is not None and self.device.type == "cuda":
            self.watch.synchronize(self.device)  # device-wide: side streams included


def _as_tuple(result: Any, names: list[str]) -> tuple[Any, ...]:
    if isinstance(result, dict):
        return tuple(result.get(n) for n in names)
    if isinstance(result, (tuple, list)):
        return tuple(result)
    return (result,)


def _copy_returned(result: tuple[Any, ...], outs: list[Any], names: list[str]) -> list[ReturnedOutput]:
    """Copy what a value-returning Solution returned into the judge's buffers, where it fits.

    The copy runs with ``__torch_function__`` overrides disabled and reads the returned tensor as a
    plain tensor, so a subclass cannot change what lands in the buffer. Mismatches are data: the
    judge turns them into INCORRECT_SHAPE / INCORRECT_DTYPE.
    """
    import torch

    from kernel_arena.measure.dtypes import dtype_name

    report = []
    for i, value in enumerate(result):
        name = names[i] if i < len(names) else f"#{i}"
        if not isinstance(value, torch.Tensor):
            report.append(ReturnedOutput(name=name, type_name=type(value).__name__[:200]))
            continue
        with torch._C.DisableTorchFunction():
            plain = torch.Tensor.as_subclass(value, torch.Tensor)
            entry = ReturnedOutput(
                name=name,
                type_name="Tensor",
                shape=[int(n) for n in plain.shape],
                dtype=_dtype_text(plain.dtype, dtype_name),
                contiguous=bool(plain.is_contiguous()),
            )
            if i < len(outs):
                buf = outs[i]
                if tuple(plain.shape) == tuple(buf.shape) and plain.dtype == buf.dtype:
                    torch.Tensor.copy_(buf, plain.to(buf.device))
                    entry = entry.model_copy(update={"copied": True})
        report.append(entry)
    return report


def _dtype_text(dtype: Any, name: Callable[[Any], str]) -> str:
    try:
        return name(dtype)[:40]
    except (KeyError, ValueError):
        return str(dtype)[:40]


def _cut(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    half = MAX_TEXT // 2 - 64
    return text[:half] + f"\n[... {len(text) - 2 * half} characters cut ...]\n" + text[-half:]


def _limit_resources() -> None:
    for limit, value in ((resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT), (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(limit)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (cap, hard))
        except (ValueError, OSError):
            pass


def serve(requests: Connection, sandbox: Sandbox) -> None:
    """Answer requests until stop or EOF."""
    handlers = {
        ReadyRequest: sandbox.ready,
        BuildRequest: sandbox.build,
        CallRequest: sandbox.call,
        TimeRequest: sandbox.time,
    }
    while True:
        try:
            req = requests.recv()
        except (EOFError, OSError):
            return
        if isinstance(req, StopRequest):
            return
        handler = handlers.get(type(req))
        if handler is None:
            return
        if not isinstance(req, (ReadyRequest, BuildRequest)) and sandbox.fn is None:
            return  # the judge only sends calls after a successful build
        handler(req)
        sys.stdout.flush()
        sys.stderr.flush()


def main() -> None:
    """Entry point: rewire fds, leash to the parent, serve."""
    reply_fd, parent = int(sys.argv[1]), int(sys.argv[2])
    die_with_parent(parent)
    _limit_resources()
    requests_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(tempfile.mkdtemp(prefix="kernel-arena-sandbox-"))
    faulthandler.enable(file=sys.stderr, all_threads=False)
    serve(Connection(requests_fd, writable=False), Sandbox(reply_fd))


if __name__ == "__main__":
    main()
