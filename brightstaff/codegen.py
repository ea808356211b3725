"""Regenerate brightstaff/_generated from proto/ with grpcio-tools: `python -m brightstaff.codegen`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = Path(__file__).resolve().parent / "_generated"
PROTOS = ("ext_proc.proto",)


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto into `out_dir`; return the files written."""
    import grpc_tools
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    include = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    for proto in PROTOS:
        rc = protoc.main(
            [
                "protoc",
                f"-I{PROTO_DIR}",
                f"-I{include}",
                f"--python_out={out_dir}",
                f"--pyi_out={out_dir}",
                str(PROTO_DIR / proto),
            ]
        )
        if rc != 0:
            raise RuntimeError(f"protoc failed on {proto} (exit {rc})")
    return sorted(p for p in out_dir.iterdir() if p.suffix in (".py", ".pyi") and p.name != "__init__.py")


def stale_files() -> list[str]:
    """Names of generated files that differ from a fresh compile (empty when up to date)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p.read_bytes() for p in generate(Path(tmp))}
    current = {
        p.name: p.read_bytes() for p in OUT_DIR.iterdir() if p.suffix in (".py", ".pyi") and p.name != "__init__.py"
    }
    return sorted(name for name in fresh.keys() | current.keys() if fresh.get(name) != current.get(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m brightstaff.codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the generated code is stale; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        if stale:
            print(
                f"stale generated code: {', '.join(stale)}; run python -m brightstaff.codegen",
                file=sys.stderr,
            )
            return 1
        print("generated code is up to date")
        return 0
    for path in generate(OUT_DIR):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
