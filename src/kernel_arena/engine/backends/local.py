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


class LocalBackend:
    """Judges on the devices of this machine."""

    def __init__(self, devices: list[str], settings: JudgeSettings) -> None:
        self.devices = devices
        self.settings = settings

    def run(self, jobs: list[Job], on_start: OnStart, on_trace: OnTrace) -> None:
        work: queue.Queue[Job] = queue.Queue()
        for job in jobs:
            work.put(job)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def device_loop(device: str) -> None:
            judge = Judge(device, self.settings)
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
