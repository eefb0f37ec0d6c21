"""FlashInfer-Trace data model (pydantic v2): Definition, Workload, Solution, Trace.

Pure data and static validation. Imports nothing heavy (no torch).
"""

from kernel_arena.schema.definition import (
    DTYPE_BYTES,
    FLOAT_DTYPES,
    AxisConst,
    AxisVar,
    Definition,
    DType,
    TensorSpec,
)
from kernel_arena.schema.solution import BuildSpec, Language, Solution, SourceFile
from kernel_arena.schema.trace import (
    Correctness,
    Environment,
    Evaluation,
    EvaluationStatus,
    Performance,
    Trace,
)
from kernel_arena.schema.workload import (
    InputSpec,
    RandomInput,
    SafetensorsInput,
    ScalarInput,
    Workload,
)

__all__ = [
    "DTYPE_BYTES",
    "FLOAT_DTYPES",
    "AxisConst",
    "AxisVar",
    "BuildSpec",
    "Correctness",
    "DType",
    "Definition",
    "Environment",
    "Evaluation",
    "EvaluationStatus",
    "InputSpec",
    "Language",
    "Performance",
    "RandomInput",
    "SafetensorsInput",
    "ScalarInput",
    "Solution",
    "SourceFile",
    "TensorSpec",
    "Trace",
    "Workload",
]
