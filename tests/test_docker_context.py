"""The image's build context, as ``.dockerignore`` leaves it: small, and free of stores,
virtualenvs and git history.

The Docker daemon does not run here, so the context is listed the way the docker
client builds it: every file under the repository root, kept unless the last
``.dockerignore`` pattern matching it (or one of its parent folders) excludes it
(moby's ``patternmatcher``: ``*`` and ``?`` stop at ``/``, ``**`` crosses folders, a
leading ``!`` re-includes, a leading ``/`` is dropped). The Dockerfile and
``.dockerignore`` are always sent.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTEXT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    exclusion: bool  # a "!" pattern: re-includes what it matches
    text: str


def _to_regex(pattern: str) -> re.Pattern[str]:
    """moby patternmatcher's translation of one cleaned pattern."""
    out, i = "^", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":  # "**/" is "**"
                    i += 1
                out += ".*" if i + 1 >= len(pattern) else "(.*/)?"
            else:
                out += "[^/]*"
        elif ch == "?":
            out += "[^/]"
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        elif ch == "[":  # a character class passes through to its "]"
            end = pattern.index("]", i)
            out += pattern[i:end + 1]
            i = end
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(out + "$")


def read_patterns(text: str) -> list[Pattern]:
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        body = line[1:].strip() if exclusion else line
        body = os.path.normpath(body).replace(os.sep, "/")
        if len(body) > 1 and body.startswith("/"):
            body = body[1:]
        patterns.append(Pattern(_to_regex(body), exclusion, line))
    return patterns


def excluded(path: str, patterns: list[Pattern]) -> bool:
    """Whether ``path`` (relative, with "/") stays out: the last pattern matching it or
    one of its parent folders decides (moby's ``MatchesOrParentMatches``)."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]
    out = False
    for p in patterns:
        if any(p.regex.match(c) for c in candidates):
            out = not p.exclusion
    return out


def context_files(root: Path) -> dict[str, int]:
    """Relative path -> size of every file the docker client would send from ``root``."""
    patterns = read_patterns((root / ".dockerignore").read_text())
    sent: dict[str, int] = {}
    for folder, _dirs, files in os.walk(root):
        rel_dir = Path(folder).relative_to(root).as_posix()
        for name in files:
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel in ("Dockerfile", ".dockerignore") or not excluded(rel, patterns):
                sent[rel] = (Path(folder) / name).lstat().st_size
    return sent


# ------------------------------------------------------------------ the matcher itself

@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("*", ".git", True),
    ("*.db", "remap.db", True),
    ("*.db", "service/remap.db", False),       # "*" does not cross "/"
    ("**/*.db", "service/store/remap.db", True),
    ("**/*.db", "remap.db", True),             # "**/" also matches no folder
    ("**/__pycache__", "service/__pycache__", True),
    ("/build", "build", True),
    ("bench?arks", "benchmarks", True),
    ("data/[a-h]*", "data/harm", True),
    ("data/[a-g]*", "data/harm", False),
    ("service", "service/main.py", True),      # a parent folder matches
])
def test_pattern_semantics(pattern: str, path: str, matches: bool) -> None:
    assert excluded(path, read_patterns(pattern)) is matches


def test_a_later_negation_reincludes_and_a_later_exclusion_wins_again() -> None:
    patterns = read_patterns("*\n!service\n**/*.db\n")
    assert not excluded("service/main.py", patterns)
    assert excluded("service/store/x.db", patterns)
    assert excluded("README.md", patterns)


# ------------------------------------------------------------------ the context

def test_dockerignore_keeps_out_stores_virtualenvs_git_and_outputs() -> None:
    patterns = read_patterns((REPO_ROOT / ".dockerignore").read_text())
    for path in (".venv/lib/python3.11/site-packages/numpy/__init__.py", ".git/HEAD", ".git",
                 "remap.db", "remap.db-wal", "service/store/left.db", "data/x.sqlite",
                 "remap-demo/hotspots.html", "benchmarks/out/bench.json", "benchmarks/RESULTS.md",
                 "tests/fixtures/policeuk_small.csv", "service/__pycache__/main.cpython-311.pyc",
                 ".mypy_cache/3.11/x.json", "remap.egg-info/PKG-INFO", "backup.tar"):
        assert excluded(path, patterns), f"{path} would be sent to the docker daemon"
    for path in ("service/main.py", "spatial/__init__.py", "pyproject.toml", "README.md",
                 "constraints.txt", "docker/entrypoint.sh", "data/harm/cchi.csv",
                 "service/render/static/vendor/leaflet/leaflet.js"):
        assert not excluded(path, patterns), f"{path} is needed by the image but left out"


def test_build_context_is_small_and_holds_no_store_venv_or_git() -> None:
    sent = context_files(REPO_ROOT)
    total = sum(sent.values())
    assert total < CONTEXT_MAX_BYTES, (
        f"build context {total / 1e6:.1f} MB; largest: "
        f"{sorted(sent.items(), key=lambda kv: -kv[1])[:5]}")
    bad = [p for p in sent
           if p.endswith((".db", ".db-wal", ".db-shm", ".sqlite"))
           or p.split("/")[0] in (".venv", ".git")]
    assert not bad, f"sent to the daemon: {bad[:10]}"
    assert "service/main.py" in sent and "pyproject.toml" in sent


def _copy_sources(dockerfile: str) -> list[str]:
    sources = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0].upper() in ("COPY", "ADD"):
            args = [w for w in words[1:] if not w.startswith("--")]
            sources += args[:-1]
    return sources


def test_everything_the_dockerfile_copies_is_in_the_context() -> None:
    sent = context_files(REPO_ROOT)
    sources = _copy_sources((REPO_ROOT / "Dockerfile").read_text())
    assert sources, "no COPY in the Dockerfile"
    for source in sources:
        source = source.rstrip("/")
        assert any(p == source or p.startswith(source + "/") for p in sent), (
            f"the Dockerfile copies {source!r} but .dockerignore leaves it out")
