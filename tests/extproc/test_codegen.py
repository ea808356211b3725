"""The generated protobuf code is what `python -m brightstaff.codegen` produces today."""

from __future__ import annotations

from brightstaff import codegen


def test_generated_code_is_not_stale() -> None:
    stale = codegen.stale_files()
    assert not stale, f"stale generated code {stale}: run python -m brightstaff.codegen"
