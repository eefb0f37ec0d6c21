"""`kernel-arena show`: dataset strings are text (never rich markup); folders and JSON files are
accepted like check/try/run/pack accept them; a definition whose file did not load is named."""

from __future__ import annotations

import json

from helpers import (
    GOOD_DPS,
    TINY_DEF,
    assert_exit,
    kernel_arena_cli,
    make_tiny_dataset,
    solution_json,
    tiny_definition,
    write_json,
)


def test_shapes_and_descriptions_are_not_taken_as_markup(tmp_path):
    r = kernel_arena_cli("show", "gqa_paged_decode_h32_kv8_d128_ps1")
    assert_exit(r, 0)
    assert "[batch_size, num_qo_heads, head_dim]" in r.stdout
    assert "[num_pages, page_size, num_kv_heads, head_dim]" in r.stdout
    # Markup-looking text of a dataset is printed as written, also in names and descriptions.
    root = make_tiny_dataset(tmp_path / "ds")
    write_json(
        root / "definitions" / "elementwise" / f"{TINY_DEF}.json",
        tiny_definition(description="scales [bold]x[/bold] by [alpha]"),
    )
    r = kernel_arena_cli("show", TINY_DEF, "--dataset", str(root))
    assert_exit(r, 0)
    assert "scales [bold]x[/bold] by [alpha]" in r.stdout
    assert "[n]" in r.stdout


def test_show_accepts_an_authoring_folder_and_json_files(tmp_path):
    r = kernel_arena_cli(
        "new", "gdn_decode_qk4_v8_d128_k_last", "--name", "mine", "--template", "torch", cwd=tmp_path
    )
    assert_exit(r, 0)
    r = kernel_arena_cli("show", "mine", cwd=tmp_path)
    assert_exit(r, 0)
    assert "mine for gdn_decode_qk4_v8_d128_k_last" in r.stdout and "main.py" in r.stdout
    assert_exit(kernel_arena_cli("pack", "mine", "--out", "mine.json", cwd=tmp_path), 0)
    r = kernel_arena_cli("show", "mine.json", "--json", cwd=tmp_path)
    assert_exit(r, 0)
    assert json.loads(r.stdout)["name"] == "mine"
    definition = write_json(tmp_path / "def.json", tiny_definition())
    r = kernel_arena_cli("show", str(definition))
    assert_exit(r, 0)
    assert f"{TINY_DEF}  (op_type elementwise)" in r.stdout


def test_show_of_an_invalid_folder_is_one_located_line(tmp_path):
    assert_exit(
        kernel_arena_cli(
            "new", "gdn_decode_qk4_v8_d128_k_last", "--name", "mine", "--template", "torch", cwd=tmp_path
        ),
        0,
    )
    spec = tmp_path / "mine" / "solution.json"
    spec.write_text(spec.read_text().replace('"main.py::run"', '"main.py"'))
    r = kernel_arena_cli("show", "mine", cwd=tmp_path)
    assert_exit(r, 2)
    assert "mine/solution.json: spec.entry_point: entry_point 'main.py' must contain" in r.stderr
    assert "validation error" not in r.stderr


def test_a_definition_file_with_a_json_typo_is_named(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds", [solution_json("good", GOOD_DPS)])
    file = root / "definitions" / "elementwise" / f"{TINY_DEF}.json"
    file.write_text(file.read_text().replace('"op_type": "elementwise",', '"op_type": "elementwise"'))
    r = kernel_arena_cli("show", TINY_DEF, "--dataset", str(root))
    assert_exit(r, 2)
    assert f"definitions/elementwise/{TINY_DEF}.json:4 did not load (invalid JSON" in r.stderr
    # Every command that loads the dataset warns once with file:line and the parse error.
    r = kernel_arena_cli("list", "definitions", "--dataset", str(root))
    assert_exit(r, 0)
    assert r.stderr.count("warning:") == 1
    assert f"{TINY_DEF}.json:4: invalid JSON: Expecting ',' delimiter (file skipped)" in r.stderr
    r = kernel_arena_cli("new", TINY_DEF, "--name", "x", "--dataset", str(root), cwd=tmp_path)
    assert_exit(r, 2)
    assert (
        f"no definition named '{TINY_DEF}': definitions/elementwise/{TINY_DEF}.json:4 did not load"
        in r.stderr
    )
    r = kernel_arena_cli("run", "--dataset", str(root), "--out", str(tmp_path / "out"))
    assert_exit(r, 2)
    assert "invalid JSON" in r.stderr and f"{TINY_DEF}.json:4" in r.stderr


def test_list_prints_tags_and_axes_as_written(tmp_path):
    root = make_tiny_dataset(tmp_path / "ds")
    workloads = root / "workloads" / "elementwise" / f"{TINY_DEF}.jsonl"
    line = json.loads(workloads.read_text())
    line["workload"]["tags"] = ["[bold]cpu[/bold]", "[n]"]
    workloads.write_text(json.dumps(line) + "\n")
    r = kernel_arena_cli("list", "workloads", "--dataset", str(root), env={"COLUMNS": "200"})
    assert_exit(r, 0)
    assert "[bold]cpu[/bold], [n]" in r.stdout
