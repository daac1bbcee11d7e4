"""ARCHITECTURE.md and the README's architecture paragraph are held against the tree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "exporter"
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAX_LINES = 300
_NOT_OURS = {".git", ".venv", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def section(text: str, heading: str) -> str:
    """The body of a markdown section, up to the next heading of the same or higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n") + len(heading) + 1
    following = re.search(rf"^#{{1,{len(level)}}} ", text[start:], re.MULTILINE)
    return text[start : start + following.start()] if following else text[start:]


def first_cells(text: str) -> list[str]:
    """The ticked first cell of each table row of ``text``."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if match:
            rows.append(match.group(1))
    return rows


def entries(folder: Path) -> set[str]:
    """A package's modules and sub-packages as repository paths (folders end with /)."""
    found = set()
    for child in folder.iterdir():
        if child.is_dir() and (child / "__init__.py").exists():
            found.add(f"{child.relative_to(ROOT)}/")
        elif child.suffix == ".py" and child.name != "__init__.py":
            found.add(str(child.relative_to(ROOT)))
    return found


def test_code_map_lists_exactly_the_top_level_and_the_sources() -> None:
    """Every module and package of exporter/ and of exporter/sources/'s folders is in the map,
    and everything in the map exists."""
    mapped = {c for c in first_cells(section(ARCHITECTURE, "## Code map")) if "/" in c}
    for path in mapped:
        assert (ROOT / path).exists(), f"ARCHITECTURE.md maps {path}, which does not exist"
    source_folders = {p for p in entries(PACKAGE / "sources") if p.endswith("/")}
    assert mapped >= entries(PACKAGE) | source_folders


def test_every_source_folder_has_the_same_roles() -> None:
    """Each source folder has every module the role table of ARCHITECTURE.md names."""
    roles = {cell for cell in first_cells(section(ARCHITECTURE, "## Code map")) if "/" not in cell}
    assert {"__init__.py", "settings.py", "client.py", "wire.py", "metrics.py"} <= roles
    for folder in (PACKAGE / "sources").iterdir():
        if (folder / "__init__.py").exists():
            have = {child.name for child in folder.glob("*.py")}
            assert roles <= have, f"{folder.name} lacks {sorted(roles - have)}"


def test_readme_architecture_paragraph_names_existing_paths() -> None:
    """Every path the README's architecture paragraph names exists."""
    paragraph = section(README, "### Architecture")
    named = re.findall(r"`(exporter/[^`]*)`", paragraph)
    assert named
    for path in named:
        assert (ROOT / path).exists(), path


def test_no_module_is_over_300_lines() -> None:
    """Modules stay small enough to read in one sitting."""
    long = {
        str(path.relative_to(ROOT)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_docstrings_cite_only_files_in_the_repository() -> None:
    """A ``name.md`` or ``path/file.py`` a docstring or comment cites is in the repository."""
    ours = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_file() and not _NOT_OURS & set(path.relative_to(ROOT).parts)
    ]
    missing = set()
    for path in PACKAGE.rglob("*.py"):
        for cited in re.findall(r"[\w./-]+\.(?:md|py)\b", path.read_text(encoding="utf-8")):
            cited = cited.lstrip("./")
            if "/" not in cited and cited.endswith(".py"):
                continue  # a bare module name, e.g. "__init__.py", names a role, not a file
            if not any(name == cited or name.endswith(f"/{cited}") for name in ours):
                missing.add(f"{path.relative_to(ROOT)}: {cited}")
    assert missing == set()


def test_the_simulator_is_not_loaded_without_demo() -> None:
    """Starting the exporter imports no simulator module; only --demo brings it in."""
    probe = (
        "import sys, exporter.cli;"
        "print(sorted(m for m in sys.modules if m.startswith('exporter.simulator')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
