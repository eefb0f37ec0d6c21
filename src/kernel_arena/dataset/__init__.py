"""The data layer: a dataset folder in the FlashInfer-Trace layout.

- ``model.py``: the ``Dataset`` index, its lookups and atomic saves; ``DatasetError``.
- ``load.py``: loading a dataset folder (or a run view) leniently; reading what was appended to a
  trace file since a ``TraceFileMark``.
- ``validate.py``: every problem of a dataset, per file and across files.
- ``run_view.py``: the manifest that makes a run folder a view of its source dataset.
- ``solution_folder.py``: the authoring-folder form of a Solution (``solution.json`` + files).

The names below are the package's API; import them from ``kernel_arena.dataset``.
"""

from kernel_arena.dataset.load import (
    builtin_dataset_path,
    load_dataset,
    read_trace_file,
    resolve_dataset_path,
)
from kernel_arena.dataset.model import BUILTIN, Dataset, DatasetError, TraceFileMark
from kernel_arena.dataset.run_view import RUN_MANIFEST, read_run_manifest, write_run_manifest
from kernel_arena.dataset.solution_folder import (
    SOLUTION_FILE,
    SolutionFolderError,
    is_solution_folder,
    pack_solution,
    read_solution_folder_json,
    unpack_solution,
)
from kernel_arena.dataset.validate import validate_dataset

__all__ = [
    "BUILTIN",
    "RUN_MANIFEST",
    "SOLUTION_FILE",
    "Dataset",
    "DatasetError",
    "SolutionFolderError",
    "TraceFileMark",
    "builtin_dataset_path",
    "is_solution_folder",
    "load_dataset",
    "pack_solution",
    "read_run_manifest",
    "read_solution_folder_json",
    "read_trace_file",
    "resolve_dataset_path",
    "unpack_solution",
    "validate_dataset",
    "write_run_manifest",
]
