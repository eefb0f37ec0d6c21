"""The thin launcher in the GQA/MLA Solutions, without a GPU: argument order, caching, fallback.

The CPU interpreter never takes the fast path (it has no compiled kernels), so a stand-in for a
Triton JIT function drives it here; the GPU tests cover the real thing.
"""

from __future__ import annotations

import pytest
import torch
from solutions.test_triton_kernels import GQA, MLA, _load


class FakeCompiled:
    """What Triton's launch returns: a compiled kernel with a low-level `run`."""

    def __init__(self, fail: type[Exception] | None = None) -> None:
        self.function = object()
        self.packed_metadata = object()
        self.fail = fail
        self.calls: list[tuple] = []

    def run(self, *args):
        if self.fail is not None:
            raise self.fail("this Triton has another launcher signature")
        self.calls.append(args)


class FakeJit:
    """A JIT function with two runtime args and two constexprs (signature order: A, B)."""

    arg_names = ["x", "n", "A", "B"]

    def __init__(self, compiled: FakeCompiled) -> None:
        self.compiled = compiled
        self.slow_launches: list[tuple] = []

    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            self.slow_launches.append((grid, args, kwargs))
            return self.compiled

        return launch


@pytest.fixture(params=["gqa", "mla"])
def fast_launch(request, monkeypatch):
    module = _load(GQA if request.param == "gqa" else MLA)
    monkeypatch.setattr(module, "_raw_stream", lambda: 7)
    return module.FastLaunch


def _launcher(fast_launch, compiled):
    launcher = fast_launch(FakeJit(compiled))
    launcher.enabled = True  # the interpreter (these tests' environment) disables it at creation
    return launcher


def test_first_call_compiles_then_calls_go_straight_to_the_compiled_kernel(fast_launch):
    compiled = FakeCompiled()
    launcher = _launcher(fast_launch, compiled)
    x = torch.zeros(4)
    for _ in range(3):
        launcher((2, 3), (x, 5), {"B": 2, "A": 1}, num_warps=4)
    assert len(launcher.jit_fn.slow_launches) == 1
    assert len(compiled.calls) == 2
    grid0, grid1, grid2, stream, function, metadata, *rest = compiled.calls[0]
    assert (grid0, grid1, grid2, stream) == (2, 3, 1, 7)
    assert function is compiled.function and metadata is compiled.packed_metadata
    # Hooks and launch metadata are None, then runtime args, then constexprs in signature order.
    assert rest[:3] == [None, None, None] and rest[3] is x and rest[4:] == [5, 1, 2]


def test_a_misaligned_tensor_or_another_dtype_is_its_own_specialization(fast_launch):
    compiled = FakeCompiled()
    launcher = _launcher(fast_launch, compiled)
    base = torch.zeros(64)
    launcher((1,), (base, 5), {"A": 1, "B": 2})
    launcher((1,), (base[1:], 5), {"A": 1, "B": 2})  # 4 bytes off a 16-byte boundary
    launcher((1,), (base.double(), 5), {"A": 1, "B": 2})
    assert len(launcher.jit_fn.slow_launches) == 3 and not compiled.calls
    launcher((1,), (base[4:], 5), {"A": 1, "B": 2})  # 16 bytes off: aligned like the first
    assert len(compiled.calls) == 1


def test_constexprs_are_keyed_by_name_not_by_the_order_they_were_passed(fast_launch):
    compiled = FakeCompiled()
    launcher = _launcher(fast_launch, compiled)
    x = torch.zeros(4)
    launcher((1,), (x, 5), {"A": 1, "B": 2})
    launcher((1,), (x, 5), {"B": 1, "A": 2})  # same values, other names: another kernel
    assert len(launcher.jit_fn.slow_launches) == 2 and not compiled.calls


def test_a_new_specialization_takes_the_slow_path_once(fast_launch):
    compiled = FakeCompiled()
    launcher = _launcher(fast_launch, compiled)
    x = torch.zeros(4)
    launcher((1,), (x, 5), {"A": 1, "B": 2})
    launcher((1,), (x, 1), {"A": 1, "B": 2})  # an int equal to 1 is specialized by Triton
    launcher((1,), (x, 16), {"A": 1, "B": 2})  # so is divisibility by 16
    launcher((1,), (x, 5), {"A": 1, "B": 3})  # another constexpr value
    assert len(launcher.jit_fn.slow_launches) == 4 and not compiled.calls
    launcher((1,), (x, 7), {"A": 1, "B": 2})  # same specialization as the first call
    assert len(compiled.calls) == 1


@pytest.mark.parametrize("error", [TypeError, AttributeError])
def test_an_incompatible_triton_falls_back_to_the_normal_launch_for_good(fast_launch, error):
    compiled = FakeCompiled(fail=error)
    launcher = _launcher(fast_launch, compiled)
    x = torch.zeros(4)
    for _ in range(3):
        launcher((1,), (x, 5), {"A": 1, "B": 2})
    assert not launcher.enabled
    assert len(launcher.jit_fn.slow_launches) == 3  # every call launched exactly once


def test_an_argument_the_launcher_refuses_is_the_callers_error_and_keeps_the_fast_path(fast_launch):
    """Triton's launcher raises ValueError for a pointer it cannot use (a CPU tensor): that call
    fails, and later calls still take the compiled kernel's launcher."""
    compiled = FakeCompiled()
    launcher = _launcher(fast_launch, compiled)
    x = torch.zeros(4)
    launcher((1,), (x, 5), {"A": 1, "B": 2})  # compiles
    compiled.fail = ValueError
    with pytest.raises(ValueError):
        launcher((1,), (x, 5), {"A": 1, "B": 2})
    compiled.fail = None
    launcher((1,), (x, 5), {"A": 1, "B": 2})
    assert launcher.enabled and len(compiled.calls) == 1 and len(launcher.jit_fn.slow_launches) == 1


class KernelShapedJit(FakeJit):
    """A stand-in with the real GQA kernel's signature."""

    def __init__(self, compiled: FakeCompiled, arg_names: list[str]) -> None:
        super().__init__(compiled)
        self.arg_names = arg_names


def _gqa_call_args():
    q = torch.zeros(3, 32, 128, dtype=torch.bfloat16)
    k = torch.zeros(64, 1, 8, 128, dtype=torch.bfloat16)
    indptr = torch.tensor([0, 10, 25, 40], dtype=torch.int32)
    return [q, k, torch.zeros_like(k), indptr, torch.arange(40, dtype=torch.int32), 0.125,
            torch.empty(3, 32, 128, dtype=torch.bfloat16), torch.empty(3, 32)]


def _mla_call_args():
    qn, qp = torch.zeros(3, 16, 512, dtype=torch.bfloat16), torch.zeros(3, 16, 64, dtype=torch.bfloat16)
    ckv, kpe = torch.zeros(64, 1, 512, dtype=torch.bfloat16), torch.zeros(64, 1, 64, dtype=torch.bfloat16)
    indptr = torch.tensor([0, 10, 25, 40], dtype=torch.int32)
    return [qn, qp, ckv, kpe, indptr, torch.arange(40, dtype=torch.int32), 0.125,
            torch.empty(3, 16, 512, dtype=torch.bfloat16), torch.empty(3, 16)]


# op -> (folder, kernel name, call args, index of sm_scale in run's and in the kernel's arguments)
_OPS = {"gqa": (GQA, "gqa_decode_kernel", _gqa_call_args, 5, 10),
        "mla": (MLA, "mla_decode_kernel", _mla_call_args, 6, 11)}


@pytest.fixture(params=sorted(_OPS))
def with_fake_kernel(request, monkeypatch):
    """A Solution module whose kernel is a stand-in, and CPU tensors that report themselves CUDA
    ones (run()'s prepared launch is only taken for CUDA tensors) unless listed in ``host``."""
    folder, kernel_name, call_args, run_scale, kernel_scale = _OPS[request.param]
    module = _load(folder)
    host: list[torch.Tensor] = []
    monkeypatch.setattr(torch.Tensor, "is_cuda", property(lambda t: not any(t is h for h in host)))
    request.node.host = host
    monkeypatch.setattr(module, "_raw_stream", lambda: 7)
    compiled = FakeCompiled()
    launcher = module.FastLaunch(KernelShapedJit(compiled, list(getattr(module, kernel_name).arg_names)))
    launcher.enabled = True
    monkeypatch.setattr(module, "_DECODE", launcher)
    return module, launcher, compiled, call_args, run_scale, kernel_scale


def test_bound_call_passes_what_the_full_launch_passed(with_fake_kernel):
    """run() prepares a shape's launch once; later calls must hand the compiled kernel exactly the
    arguments the full path would (constexprs in signature order, the per-call scale)."""
    module, launcher, compiled, call_args, run_scale, kernel_scale = with_fake_kernel
    args = call_args()
    module.run(*args)  # full path: Triton's launch
    (grid, slow_args, slow_kwargs), = launcher.jit_fn.slow_launches
    args[run_scale] = 0.25  # another scale: it is a per-call argument, not part of the prepared launch
    module.run(*args)  # the prepared launch
    assert len(launcher.jit_fn.slow_launches) == 1 and len(compiled.calls) == 1
    g0, g1, g2, stream, function, metadata, h1, h2, h3, *passed = compiled.calls[0]
    assert (g0, g1, g2, stream, h1, h2, h3) == (*grid, *(1,) * (3 - len(grid)), 7, None, None, None)
    names = launcher.jit_fn.arg_names
    expected = [*slow_args, *(slow_kwargs[n] for n in names[len(slow_args) :])]
    expected[kernel_scale] = 0.25 * module.LOG2E
    assert len(passed) == len(expected)
    for a, b in zip(passed, expected):  # tensors as their device addresses, the rest as they were
        if isinstance(b, torch.Tensor):
            assert type(a) is int and a == b.data_ptr()
        else:
            assert a == b and type(a) is type(b)


def test_bound_call_refuses_a_host_tensor_by_name_and_keeps_the_fast_path(with_fake_kernel, request):
    """The prepared launch hands the kernel addresses, so it must check the device itself: a
    tensor off the GPU is refused, named, before anything is launched."""
    module, launcher, compiled, call_args, run_scale, _ = with_fake_kernel
    args = call_args()
    module.run(*args)
    request.node.host.append(args[run_scale + 2])  # lse
    with pytest.raises(ValueError, match="lse is on cpu"):
        module.run(*args)
    assert not compiled.calls and len(launcher.jit_fn.slow_launches) == 1 and launcher.enabled
    request.node.host.clear()
    module.run(*args)
    assert len(compiled.calls) == 1


def test_bound_call_is_skipped_for_misaligned_or_other_dtype_tensors(with_fake_kernel):
    module, launcher, compiled, call_args, run_scale, _ = with_fake_kernel
    args = call_args()
    module.run(*args)
    out = args[run_scale + 1]
    wide = torch.empty(out.numel() + 1, dtype=torch.bfloat16)
    args[run_scale + 1] = wide[1:].view(out.shape)  # 2 bytes off a 16-byte boundary
    module.run(*args)
    args[run_scale + 1] = torch.empty(out.shape, dtype=torch.float16)
    module.run(*args)
    # Neither went through the prepared launch: each is its own specialization in the full path.
    assert len(launcher.jit_fn.slow_launches) == 3 and not compiled.calls


def test_mla_output_column_split_is_its_own_specialization(monkeypatch):
    """decode(d_split=2) passes D_SPLIT in its place among the kernel's constexprs (signature
    order) with the doubled segment grid; d_split 1 and 2 are two compiled kernels."""
    module = _load(MLA)
    monkeypatch.setattr(module, "_raw_stream", lambda: 7)
    compiled = FakeCompiled()
    launcher = module.FastLaunch(KernelShapedJit(compiled, list(module.mla_decode_kernel.arg_names)))
    launcher.enabled = True
    monkeypatch.setattr(module, "_DECODE", launcher)
    args = _mla_call_args()  # 40 tokens in 3 sequences: 5 chunks of 8, no merge programs at merge_last 8
    module.decode(*args, 8, merge_last=8)
    module.decode(*args, 8, merge_last=8, d_split=2)
    assert not compiled.calls
    (grid1, _, consts1), (grid2, _, consts2) = launcher.jit_fn.slow_launches
    assert grid1 == (5 + 3,) and grid2 == (2 * (5 + 3),)
    assert consts1["D_SPLIT"] == 1 and consts2["D_SPLIT"] == 2
    module.decode(*args, 8, merge_last=8, d_split=2)
    (call,) = compiled.calls
    assert call[0] == 16 and launcher.jit_fn.arg_names[-2:] == ["D_SPLIT", "PROBE"]
    assert call[-2:] == (2, False)
