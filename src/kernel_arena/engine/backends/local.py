"""The local backend: one judge per device in this process, jobs taken from one queue.

Each device gets a thread with its own ``Judge``; the judge starts one sandbox process per Job
(Solution) on that device. With one device everything runs on the calling thread, so Ctrl-C,
SIGTERM and SIGHUP reach the loop directly and the sandboxes are stopped on the way out.
"""

from __future__ import annotations

import queue
import threading

from kernel_arena.engine.backends import OnStart, OnTrace
from kernel_arena.engine.judge import Judge, JudgeSettings
from kernel_arena.engine.plan import Job
from kernel_arena.measure.environment import expand_devices, hardware_name


class LocalBackend:
    """Judges on the devices of this machine."""

    def __init__(self, devices: list[str]) -> None:
        self.devices = devices
        self.device = devices[0]
        self.hardware = hardware_name(self.device) if self.device != "cpu" else None

    @classmethod
    def for_device(cls, device: str | None) -> LocalBackend:
        """``cpu``, ``cuda``, ``cuda:N``, ``all`` or None (the default device); ValueError else."""
        return cls(expand_devices(device))

    def close(self) -> None:
        """Nothing to give back: judges end with ``run``."""

    def run(self, jobs: list[Job], settings: JudgeSettings, on_start: OnStart, on_trace: OnTrace) -> None:
        work: queue.Queue[Job] = queue.Queue()
        for job in jobs:
            work.put(job)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def device_loop(device: str) -> None:
            judge = Judge(device, settings)
            try:
                while True:
                    try:
                        job = work.get_nowait()
                    except queue.Empty:
                        return
                    for trace in judge.evaluate(job, lambda w, j=job: on_start(j, w, device)):
                        with lock:
                            on_trace(job, trace)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)

        if len(self.devices) == 1:
            device_loop(self.devices[0])
        else:
            threads = [threading.Thread(target=device_loop, args=(d,), daemon=True) for d in self.devices]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        if errors:
            raise errors[0]
