"""h2spec, the HTTP/2 conformance suite, against a freshly started `brightstaff serve` (native transport).

Run by `./dev conformance` (which finds the binary); by hand:
    .venv/bin/python tests/extproc/h2spec_conformance.py --h2spec ../shared/tools/h2spec [--strict]

Exit status 0 only if every h2spec test passed or is on the allow-list (h2spec_expected_failures.txt,
one `package | description | reason` per line). Allow-listed tests that pass are reported, so the list
can shrink. This is a second guard: the rules h2spec checks are tested in memory by tests/extproc/http2.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository root, for harness/
from harness import brightstaff_process
from harness.free_port import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ALLOW_LIST = HERE / "h2spec_expected_failures.txt"
CONFIG = ROOT / "examples" / "plano-model-affinity.yaml"
FAKE_KEYS = {"OPENAI_API_KEY": "sk-conformance", "ANTHROPIC_API_KEY": "sk-conformance"}


class Result(NamedTuple):
    test: str  # "package | description", as in the allow-list
    outcome: str  # passed, failed, skipped
    detail: str


def parse_report(path: Path) -> list[Result]:
    """h2spec's JUnit report: a testcase per test, with <error> (or <failure>) when it failed."""
    results = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        test = f"{case.get('package', '?')} | {case.get('classname', '?')}"
        problem = case.find("error")
        if problem is None:
            problem = case.find("failure")
        if problem is not None:
            results.append(Result(test, "failed", (problem.text or "").strip()))
        elif case.find("skipped") is not None:
            results.append(Result(test, "skipped", ""))
        else:
            results.append(Result(test, "passed", ""))
    return results


def read_allow_list(path: Path) -> dict[str, str]:
    """`package | description | reason` lines (blank lines and # comments ignored) -> {test: reason}."""
    allowed = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not all(parts):
            raise SystemExit(f"{path}:{number}: expected `package | description | reason`, got {line!r}")
        allowed[f"{parts[0]} | {parts[1]}"] = parts[2]
    return allowed


def verdict(results: list[Result], allowed: dict[str, str]) -> tuple[list[Result], list[str]]:
    """(failures not on the allow-list, allow-listed tests that did not fail)."""
    failed = {r.test for r in results if r.outcome == "failed"}
    unexpected = [r for r in results if r.outcome == "failed" and r.test not in allowed]
    return unexpected, sorted(test for test in allowed if test not in failed)


def run(h2spec: Path, *, strict: bool, timeout: int, workdir: Path) -> list[Result]:
    grpc_port, admin_port = free_port(), free_port()
    log = workdir / "brightstaff.log"
    report = workdir / "h2spec.xml"
    with log.open("wb") as log_file:
        try:
            process = brightstaff_process.start_serve(
                CONFIG,
                admin_port,
                log_file,
                log,
                {**os.environ, **FAKE_KEYS},
                arguments=["--grpc-port", str(grpc_port), "--admin-port", str(admin_port)],
            )
        except (RuntimeError, TimeoutError) as exc:
            raise SystemExit(str(exc)) from None
        try:
            arguments = ["-h", "127.0.0.1", "-p", str(grpc_port), "-o", str(timeout), "-j", str(report)]
            finished = subprocess.run(
                [str(h2spec), *arguments, *(["-S"] if strict else [])],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        finally:
            brightstaff_process.stop(process, timeout=15)
    if not report.exists():
        raise SystemExit(f"h2spec wrote no report (exit {finished.returncode}):\n{finished.stdout}{finished.stderr}")
    summary = finished.stdout.strip().splitlines()[-1:] or ["(no summary)"]
    print(f"h2spec: {summary[0]}")
    return parse_report(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--h2spec", type=Path, required=True, help="path to the h2spec binary")
    parser.add_argument("--strict", action="store_true", help="also run h2spec's strict tests (-S)")
    parser.add_argument("--timeout", type=int, default=5, help="h2spec's per-test timeout in seconds (default 5)")
    args = parser.parse_args(argv)
    allowed = read_allow_list(ALLOW_LIST)
    with tempfile.TemporaryDirectory(prefix="brightstaff-h2spec-") as workdir:
        results = run(args.h2spec, strict=args.strict, timeout=args.timeout, workdir=Path(workdir))
    if not results:
        print("h2spec reported no tests", file=sys.stderr)
        return 1
    unexpected, stale = verdict(results, allowed)
    counts = {outcome: sum(r.outcome == outcome for r in results) for outcome in ("passed", "failed", "skipped")}
    print(
        f"{len(results)} tests: {counts['passed']} passed, {counts['failed']} failed "
        f"({counts['failed'] - len(unexpected)} on the allow-list), {counts['skipped']} skipped"
    )
    for test in stale:
        print(f"allow-listed but not failing (remove it from {ALLOW_LIST.name}?): {test}")
    for result in unexpected:
        print(f"FAILED {result.test}\n    {result.detail.replace(chr(10), chr(10) + '    ')}", file=sys.stderr)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
