"""The Ray backend on a real two-node Ray cluster on this machine (CPU only).

The cluster is two ``ray start --block`` processes (a head and a second node joined with
``--address``), each with its own custom resource (``node_a``, ``node_b``) so that a trace's
judge can be traced back to its node, in a temporary folder of their own and on ports picked
free. They are stopped by signalling the process groups this module started, never with
``ray stop`` (which stops every Ray process of the machine).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import GOOD_DPS, TINY_DEF, kill_run, make_tiny_dataset, run_command, solution_json

import kernel_arena
from kernel_arena.dataset import load_dataset
from kernel_arena.engine.config import RunConfig
from kernel_arena.engine.plan import Job
from kernel_arena.engine.run import RunListener
from kernel_arena.measure.timing import TimingSettings
from kernel_arena.schema import EvaluationStatus as S
from kernel_arena.schema import Workload

pytestmark = pytest.mark.slow  # a real two-node cluster: ~90 s of CPU in all; CI runs it (-m slow)

ray = pytest.importorskip("ray")

LIGHT = RunConfig(timing=TimingSettings(0, 1, 1), timeout_s=60, draws=1)
START_TIMEOUT_S = 90.0
SLOW_DPS = """
    import time

    def run(x, y, alpha, out):
        time.sleep(0.3)
        out.copy_(alpha * x + y)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A head node and a second node, each a ``ray start --block`` process group of ours."""

    def __init__(self) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="karay", dir="/tmp"))  # short: socket paths
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(Path(kernel_arena.__file__).resolve().parents[1]),
            "RAY_DISABLE_USAGE_STATS": "1",
            "TRITON_INTERPRET": "1",
            "TMPDIR": str(self.temp / "tmp"),  # the judges' node folders, removed with the cluster
        }
        (self.temp / "tmp").mkdir()
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}

    def _ray_start(self, name: str, *args: str) -> None:
        log = self.temp / f"{name}.log"
        cmd = [
            str(Path(sys.executable).parent / "ray"),
            "start",
            "--block",
            "--disable-usage-stats",
            "--num-cpus",
            "1",
            "--resources",
            json.dumps({name: 1}),
            "--object-store-memory",
            str(100 * 1024 * 1024),
            "--node-manager-port",
            str(_free_port()),
            "--object-manager-port",
            str(_free_port()),
            "--dashboard-agent-listen-port",
            str(_free_port()),
            "--dashboard-agent-grpc-port",
            str(_free_port()),
            "--metrics-export-port",
            str(_free_port()),
            "--runtime-env-agent-port",
            str(_free_port()),
            *args,
        ]
        with open(log, "wb") as handle:
            self.nodes[name] = subprocess.Popen(
                cmd, stdout=handle, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while b"Ray runtime started" not in log.read_bytes():
            if self.nodes[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray start {name} failed:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)

    def start(self) -> None:
        self._ray_start(
            "node_a",
            "--head",
            "--port",
            str(self.port),
            "--include-dashboard",
            "false",
            "--dashboard-port",
            str(_free_port()),
            "--temp-dir",
            str(self.temp),
        )
        ray.init(address=self.address, log_to_driver=False)
        self.start_node_b()

    def start_node_b(self) -> None:
        self._ray_start("node_b", "--address", self.address)
        deadline = time.monotonic() + START_TIMEOUT_S
        while "node_b" not in self.alive().values():
            if time.monotonic() > deadline:
                raise RuntimeError("node_b started but did not join the cluster")
            time.sleep(0.2)

    def ensure_two_nodes(self) -> None:
        if self.nodes["node_b"].poll() is not None:
            self.start_node_b()
        assert sorted(self.alive().values()) == ["node_a", "node_b"]

    def alive(self) -> dict[str, str]:
        """Node id -> the custom resource naming it, for the nodes that are up."""
        return {
            n["NodeID"]: next(k for k in n["Resources"] if k.startswith("node_"))
            for n in ray.nodes()
            if n["Alive"]
        }

    def stop_node(self, name: str) -> None:
        """Stop a node as ``ray stop`` would (SIGTERM: it drains, reports and ends its processes)."""
        proc = self.nodes[name]
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def close(self) -> None:
        if ray.is_initialized():
            ray.shutdown()
        for proc in self.nodes.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the head drains for 30 s after SIGTERM
            except ProcessLookupError:
                pass
            proc.wait()
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.close()


class Starts(RunListener):
    """Where each workload started: (solution, workload uuid) -> the judges' labels, in order."""

    def __init__(self) -> None:
        self.where: dict[tuple[str, str], list[str]] = {}

    def started(self, job: Job, workload: Workload, device: str) -> None:
        self.where.setdefault((job.solution.name, workload.uuid), []).append(device)


def _triples(traces: list) -> list[tuple[str, str, str]]:
    return sorted((t.solution, t.workload.uuid, t.evaluation.status.value) for t in traces)


def test_embedded_dataset_spreads_over_both_nodes_like_a_local_run(cluster, tmp_path):
    """The embedded dataset's PyTorch Solutions (paged workloads: blobs travel through the object
    store) on two nodes: the same (solution, workload, status) as a local run; both nodes judge."""
    cluster.ensure_two_nodes()
    names = {v: k for k, v in cluster.alive().items()}
    chosen = ["gqa_paged_decode_torch", "mla_paged_decode_torch"]
    starts = Starts()
    on_ray = kernel_arena.run(
        solutions=chosen, out=tmp_path / "ray", config=LIGHT, device="cpu", backend="ray",
        address=cluster.address, listener=starts,
    )  # fmt: skip
    local = kernel_arena.run(solutions=chosen, out=tmp_path / "local", config=LIGHT, device="cpu")
    assert _triples(on_ray.traces) == _triples(local.traces)
    assert len(on_ray.traces) >= 6 and all(t.passed for t in on_ray.traces)
    assert all(len(labels) == 1 for labels in starts.where.values())  # each workload judged once
    used = {
        name
        for labels in starts.where.values()
        for label in labels
        for name, node_id in names.items()
        if f"node {node_id[:8]}" in label
    }
    assert used == {"node_a", "node_b"}
    blobs = [w for t in on_ray.traces for w in t.workload.inputs.values() if w.type == "safetensors"]
    assert blobs, "the chosen workloads read page tables from blob files"


def test_a_solution_that_kills_its_judge_twice_is_a_runtime_error(cluster, tmp_path):
    """Its judge's process dies with it, twice: re-queued once, then RUNTIME_ERROR with both
    reasons; the other Solution passes on a replacement judge. That one also records where its
    module was imported: in a sandbox, never in the driver."""
    cluster.ensure_two_nodes()
    killer = solution_json(
        "killer", "import os\n\ndef run(x, y, alpha, out):\n    os.kill(os.getppid(), 9)\n"
    )
    marker = tmp_path / "imported.txt"
    spy = solution_json(
        "good",
        f"import os\nwith open({str(marker)!r}, 'a') as f:\n    f.write(f'{{os.getpid()}} {{os.getppid()}}\\n')\n"
        + textwrap.dedent(GOOD_DPS),
    )
    root = make_tiny_dataset(tmp_path / "ds", [killer, spy], workloads=2)
    starts = Starts()
    result = kernel_arena.run(
        dataset=root, out=tmp_path / "out", config=LIGHT, device="cpu", backend="ray",
        address=cluster.address, listener=starts,
    )  # fmt: skip
    view = load_dataset(tmp_path / "out")
    assert Counter(t.key for t in view.traces) == Counter({k: 1 for k in {t.key for t in view.traces}})
    status = {(t.solution, t.workload.uuid): t.evaluation for t in result.traces}
    assert len(status) == 4
    for uuid in ("wl-0", "wl-1"):
        assert status[("good", uuid)].status == S.PASSED
        ev = status[("killer", uuid)]
        assert ev.status == S.RUNTIME_ERROR
        assert "died twice" in ev.log and ev.log.count("\n- ") == 2 and "died" in ev.log.split("\n- ")[1]
    assert len(starts.where[("killer", "wl-0")]) == 2  # the first workload was tried on two judges
    imports = [tuple(map(int, line.split())) for line in marker.read_text().splitlines()]
    assert imports and all(os.getpid() not in pair for pair in imports)


def test_resume_after_the_driver_is_killed(cluster, tmp_path):
    cluster.ensure_two_nodes()
    sols = [solution_json(f"slow{i}", SLOW_DPS) for i in range(2)]
    root = make_tiny_dataset(tmp_path / "ds", sols, workloads=2)
    out = tmp_path / "out"
    traces_file = out / "traces" / "elementwise" / f"{TINY_DEF}.jsonl"
    cmd = run_command(root, out, "--backend", "ray", "--address", cluster.address)
    kill_run(cmd, until=lambda: traces_file.exists() and traces_file.read_text().count("\n") >= 1)
    done_before = traces_file.read_text().count("\n")
    assert 1 <= done_before < 4
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{done_before} evaluation(s) already traced" in " ".join(again.stdout.split())
    lines = [ln for ln in again.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 4 - done_before and all("· cpu on " in ln and "(node " in ln for ln in lines)
    keys = [t.key for t in load_dataset(out).traces]
    assert len(keys) == 4 and len(set(keys)) == 4


def test_second_node_stopped_mid_run(cluster, tmp_path):
    """Node B is stopped while it judges a Solution's second workload: the Job goes back to the
    queue with what is left, node A finishes it; every trace written once, none lost."""
    cluster.ensure_two_nodes()
    names = {v: k for k, v in cluster.alive().items()}
    sols = [solution_json(f"slow{i}", SLOW_DPS) for i in range(3)]
    root = make_tiny_dataset(tmp_path / "ds", sols, workloads=3)

    class StopNodeB(Starts):
        stopped: tuple[str, str] | None = None

        def started(self, job: Job, workload: Workload, device: str) -> None:
            super().started(job, workload, device)
            on_b = f"node {names['node_b'][:8]}" in device
            if on_b and self.stopped is None and workload.uuid == "wl-1":
                self.stopped = (job.solution.name, workload.uuid)
                threading.Timer(0.2, cluster.stop_node, args=("node_b",)).start()  # mid-evaluation

    listener = StopNodeB()
    result = kernel_arena.run(
        dataset=root, out=tmp_path / "out", config=LIGHT, device="cpu", backend="ray",
        address=cluster.address, listener=listener,
    )  # fmt: skip
    assert listener.stopped is not None
    keys = [t.key for t in load_dataset(tmp_path / "out").traces]
    assert len(keys) == 9 and len(set(keys)) == 9
    assert all(t.passed for t in result.traces)
    moved = listener.where[listener.stopped]
    assert len(moved) == 2 and f"node {names['node_a'][:8]}" in moved[1]
    assert len(listener.where[(listener.stopped[0], "wl-0")]) == 1  # traced on B before: not re-run


def test_without_ray_the_backend_says_how_to_install_it(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("a", GOOD_DPS)])
    argv = run_command(root, tmp_path / "out", "--backend", "ray")[3:]
    code = (
        "import sys; sys.modules['ray'] = None\n"  # what an environment without ray looks like
        "from kernel_arena.cli import main\n"
        f"sys.argv = ['kernel-arena', *{argv!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "pip install 'kernel-arena[ray]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_ray_options_need_the_ray_backend(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("a", GOOD_DPS)])
    with pytest.raises(ValueError, match="options of the ray backend"):
        kernel_arena.run(dataset=root, out=tmp_path / "out", device="cpu", address="127.0.0.1:1")
    with pytest.raises(ValueError, match="unknown backend 'slurm'"):
        kernel_arena.run(dataset=root, out=tmp_path / "out", device="cpu", backend="slurm")
    with pytest.raises(ValueError, match="actors must be at least 1"):
        kernel_arena.run(dataset=root, out=tmp_path / "out", device="cpu", backend="ray", actors=0)
    assert not (tmp_path / "out").exists()


def test_an_address_where_no_cluster_answers_exits_2(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("a", GOOD_DPS)])
    port = _free_port()  # nothing listens there
    cmd = run_command(root, tmp_path / "out", "--backend", "ray", "--address", f"127.0.0.1:{port}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"no Ray cluster answers at 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
