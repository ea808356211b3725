"""The h2spec runner's own logic (report parsing, the allow-list): `./dev conformance` must fail on a
failure that is not allowed and only then."""

from __future__ import annotations

from pathlib import Path

import pytest
from h2spec_conformance import ALLOW_LIST, Result, parse_report, read_allow_list, verdict

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="2. Streams and Multiplexing" package="generic/2" tests="2">
    <testcase package="generic/2" classname="Sends a PRIORITY frame on idle stream" time="0.0002"></testcase>
    <testcase package="generic/2" classname="Sends a WINDOW_UPDATE frame on half-closed (remote) stream">
      <error>DATA frame
HEADERS Frame (length:75, flags:0x05, stream_id:1)</error>
    </testcase>
  </testsuite>
  <testsuite name="6.9.1" package="http2/6.9.1" tests="1">
    <testcase package="http2/6.9.1" classname="Sends SETTINGS frame to set the initial window size to 1">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>
"""
WINDOW_UPDATE_TEST = "generic/2 | Sends a WINDOW_UPDATE frame on half-closed (remote) stream"


def test_the_report_gives_each_tests_outcome(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text(REPORT)
    assert parse_report(report) == [
        Result("generic/2 | Sends a PRIORITY frame on idle stream", "passed", ""),
        Result(WINDOW_UPDATE_TEST, "failed", "DATA frame\nHEADERS Frame (length:75, flags:0x05, stream_id:1)"),
        Result("http2/6.9.1 | Sends SETTINGS frame to set the initial window size to 1", "skipped", ""),
    ]


def test_a_failure_not_on_the_allow_list_is_unexpected_and_stale_entries_are_named() -> None:
    results = [Result(WINDOW_UPDATE_TEST, "failed", "x"), Result("http2/5.1 | idle: DATA", "passed", "")]
    assert verdict(results, {}) == ([results[0]], [])
    assert verdict(results, {WINDOW_UPDATE_TEST: "expects DATA"}) == ([], [])
    passing = "http2/5.1 | idle: DATA"
    assert verdict(results, {WINDOW_UPDATE_TEST: "r", passing: "r"}) == ([], [passing])


def test_the_allow_list_reads_and_a_malformed_line_is_refused(tmp_path: Path) -> None:
    assert read_allow_list(ALLOW_LIST) == {}  # the repository's: empty today
    listed = tmp_path / "allowed.txt"
    listed.write_text(f"# comment\n\n{WINDOW_UPDATE_TEST} | the stream was answered at once\n")
    assert read_allow_list(listed) == {WINDOW_UPDATE_TEST: "the stream was answered at once"}
    listed.write_text("generic/2 | no reason\n")
    with pytest.raises(SystemExit, match="package \\| description \\| reason"):
        read_allow_list(listed)
