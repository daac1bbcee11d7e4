"""A fresh machine: the Makefile's venv step and scripts/ensure-system-tools (issue #16, 12-14).

The Makefile and its scripts run in a scratch copy of the repository's layout, with stub
programs on PATH standing in for a Debian python3 without python3-venv, for apt-get and
systemctl, and for an old Node.js: nothing here installs a package or touches a service.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.manifests import ROOT, run

MAKE_VENV = ROOT / "scripts" / "make-venv"
SYSTEM_TOOLS = ROOT / "scripts" / "ensure-system-tools"
BASH = shutil.which("bash") or "/bin/bash"


def _make() -> str:
    make = shutil.which("make")
    if make is None:
        pytest.fail("make not found: install Debian's 'make' package")
    return make


def _stub(folder: Path, name: str, body: str) -> Path:
    """An executable shell script ``folder/name`` running ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _checkout(tmp_path: Path) -> Path:
    """The Makefile and scripts/make-venv in a scratch folder, as a checkout has them."""
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "Makefile", checkout / "Makefile")
    shutil.copy2(MAKE_VENV, checkout / "scripts" / "make-venv")
    for name in ("pyproject.toml", "constraints.txt"):  # the stamps' prerequisites
        (checkout / name).write_text("", encoding="utf-8")
    return checkout


def _debian_python_without_venv(folder: Path, version: str = "3.11") -> Path:
    """A python3 as Debian's is without python3-venv: ``-m venv DIR`` makes DIR/bin/python,
    then fails in ensurepip; the half-made DIR's python has no pip."""
    major, minor = version.split(".")
    return _stub(
        folder,
        "python3",
        f"""case "$1" in
  -c) case "$2" in
        *version_info\\[:2\\]*) echo {version} ;;
        *sys.exit*) [ {minor} -ge 11 ] && [ {major} -ge 3 ] ;;
      esac ;;
  -m) [ "$2" = venv ] || exit 1
      mkdir -p "$3/bin"
      printf '#!/bin/sh\\necho "No module named pip" >&2\\nexit 1\\n' > "$3/bin/python"
      chmod +x "$3/bin/python"
      echo "Error: Command '[\\"$3/bin/python\\", \\"-m\\", \\"ensurepip\\"]' returned" \\
        "non-zero exit status 1." >&2
      exit 1 ;;
esac""",
    )


def _make_env() -> dict[str, str]:
    """This environment without what an outer ``make test`` passes down (its flags and its
    command-line variables, PYTHON=... say), so each make here sees only its own."""
    outer = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    return {key: value for key, value in os.environ.items() if key not in outer}


def _make_in(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_make(), "--no-print-directory", "-C", str(checkout), *args],
        capture_output=True,
        text=True,
        env=_make_env(),
        timeout=120,
        check=False,
    )


# -- 12: the venv, whole or not at all --------------------------------------------------------


@pytest.mark.parametrize("target", ["venv", ".venv/.installed-run", ".venv/.installed-test"])
def test_a_failing_venv_leaves_nothing_and_names_the_package(tmp_path: Path, target: str) -> None:
    """Without python3-venv, make stops at the venv and names python3.11-venv and
    python3-venv; no .venv (nor its temporary folder) is left, so the next make fails the
    same clear way instead of "No module named pip"."""
    checkout = _checkout(tmp_path)
    python = _debian_python_without_venv(tmp_path / "bin")
    for attempt in (1, 2):
        result = _make_in(checkout, target, f"PYTHON={python}")
        assert result.returncode != 0, (attempt, result.stdout, result.stderr)
        assert "apt-get install python3.11-venv" in result.stderr, result.stderr
        assert "python3-venv" in result.stderr
        assert "No module named pip" not in result.stderr + result.stdout
        assert "pip install" not in result.stdout, "make went on past the failed venv"
        assert not (checkout / ".venv").exists()
        assert not (checkout / ".venv.tmp").exists()


def test_the_package_named_follows_the_python_version(tmp_path: Path) -> None:
    """PYTHON=python3.12 without its venv package: the advice names python3.12-venv."""
    checkout = _checkout(tmp_path)
    python = _debian_python_without_venv(tmp_path / "bin", version="3.12")
    result = _make_in(checkout, "venv", f"PYTHON={python}")
    assert result.returncode != 0
    assert "apt-get install python3.12-venv" in result.stderr, result.stderr
    assert not (checkout / ".venv").exists()


def test_a_python_older_than_required_is_refused_by_version(tmp_path: Path) -> None:
    """Python 3.9 (Debian bullseye's) is named, with the version needed; no venv is tried."""
    checkout = _checkout(tmp_path)
    python = _debian_python_without_venv(tmp_path / "bin", version="3.9")
    result = _make_in(checkout, "venv", f"PYTHON={python}")
    assert result.returncode != 0
    assert "is Python 3.9; this project needs Python >= 3.11" in result.stderr, result.stderr
    assert not (checkout / ".venv").exists()
    assert not (checkout / ".venv.tmp").exists()


def test_a_missing_python_is_named(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path)
    result = _make_in(checkout, "venv", f"PYTHON={tmp_path / 'no-such-python'}")
    assert result.returncode != 0
    assert "cannot run" in result.stderr
    assert "python3-venv" in result.stderr
    assert not (checkout / ".venv").exists()


def test_a_real_venv_is_renamed_into_place_and_replaces_a_half_made_one(tmp_path: Path) -> None:
    """With a working Python, a .venv whose pip does not run (as the old Makefile left it) is
    replaced by a whole one, built in .venv.tmp; its scripts name .venv, not .venv.tmp."""
    checkout = _checkout(tmp_path)
    half = subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(checkout / ".venv")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert half.returncode == 0, half.stderr
    venv = checkout / ".venv"
    assert run([str(venv / "bin" / "python"), "-m", "pip", "--version"]).returncode != 0
    result = _make_in(checkout, "venv", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    assert "replacing .venv" in result.stderr
    assert not (checkout / ".venv.tmp").exists()
    pip = run([str(venv / "bin" / "pip"), "--version"])  # the launcher's own shebang
    assert pip.returncode == 0, pip.stderr
    assert str(venv / "lib") in pip.stdout
    for name in ("activate", "pip"):
        text = (venv / "bin" / name).read_text(encoding="utf-8")
        assert str(venv) in text
        assert ".venv.tmp" not in text
    again = _make_in(checkout, "venv", f"PYTHON={tmp_path / 'no-such-python'}")
    assert again.returncode == 0, "a whole .venv is kept as it is, whatever PYTHON says"
    assert again.stderr == ""


def test_make_venv_and_pyproject_require_the_same_python() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (minimum,) = re.findall(r"^MIN_PYTHON=(\S+)$", MAKE_VENV.read_text(), flags=re.M)
    assert pyproject["project"]["requires-python"] == f">={minimum}"


def test_every_venv_the_makefile_makes_goes_through_make_venv() -> None:
    """No recipe runs ``python -m venv`` itself: each uses scripts/make-venv."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-m venv" not in makefile
    assert makefile.count("scripts/make-venv '$(PYTHON)' '$(VENV)'") == 3


# -- 13: Node.js new enough for tools/node ----------------------------------------------------


def _node_major_needed_by_the_lock() -> int:
    """The oldest major version every ``engines.node`` range of tools/node's lock admits."""
    lock = json.loads((ROOT / "tools" / "node" / "package-lock.json").read_text("utf-8"))
    ranges = [
        package["engines"]["node"]
        for package in lock["packages"].values()
        if "node" in package.get("engines", {})
    ]
    assert ranges

    def admits(spec: str, major: int) -> bool:
        """Whether some ``major``.x satisfies ``spec`` (the forms the lock uses: N, >=N.M)."""
        for alternative in spec.split("||"):
            assert not re.search(r"[<^~x*]|>(?!=)", alternative), f"unexpected range {spec}"
            comparators = re.findall(r"(>=)?\s*(\d+)[.\d]*", alternative)
            assert comparators, spec
            if all(
                major >= int(number) if op else major == int(number) for op, number in comparators
            ):
                return True
        return False

    return next(major for major in range(1, 100) if all(admits(r, major) for r in ranges))


def _node_major_in_the_script() -> int:
    (major,) = re.findall(r"^NODE_MAJOR=(\d+)$", SYSTEM_TOOLS.read_text(), flags=re.M)
    return int(major)


def test_the_script_asks_for_the_node_that_the_lock_needs() -> None:
    """NODE_MAJOR is the oldest Node.js that every locked package's engines admit (22)."""
    assert _node_major_in_the_script() == _node_major_needed_by_the_lock() == 22


@pytest.mark.parametrize(
    ("output", "fits"),
    [
        ("v18.19.0", False),  # Debian bookworm
        ("v20.20.2", False),  # some packages want 22
        ("v9.11.2", False),  # compared as a number: "9" > "22" as text
        ("v22.0.0", True),
        ("v22.23.3", True),
        ("v24.1.0", True),
        ("v100.0.0", True),
        ("v22", False),
        ("", False),  # no node at all
        ("none", False),
        ("node: command not found", False),
    ],
)
def test_node_version_check(output: str, fits: bool) -> None:
    """``node_fits`` judges `node --version` output against NODE_MAJOR."""
    script = 'source "$1"; node_fits "$2" && echo fits || echo "too old"'
    result = run([BASH, "-c", script, "_", str(SYSTEM_TOOLS), output])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("fits" if fits else "too old")


def _tools_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """PATH holding only the stubs in tmp_path/bin (and cat), nothing of this machine's."""
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    cat = shutil.which("cat")
    assert cat is not None
    (stubs / "cat").symlink_to(cat)
    return {
        "PATH": str(stubs),
        "HOME": str(tmp_path),
        "LOG": str(tmp_path / "calls.log"),
        "NODE_PREFIX": str(tmp_path / "node-prefix"),
        "SYSTEMD_RUNTIME": str(tmp_path / "no-systemd"),
        **extra,
    }


def _ensure_system_tools(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(SYSTEM_TOOLS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def _calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _present(stubs: Path, *names: str) -> None:
    for name in names:
        _stub(stubs, name, 'echo "$0 $*" >> "$LOG"')


_NPM_INSTALLING_NODE = f"""echo "npm $*" >> "$LOG"
prefix=""
while [ $# -gt 0 ]; do [ "$1" = --prefix ] && prefix=$2; shift; done
{shutil.which("mkdir")} -p "$prefix/bin"
printf '#!/bin/sh\\necho v22.23.3\\n' > "$prefix/bin/node"
{shutil.which("chmod")} +x "$prefix/bin/node"
echo "added 2 packages in 5s"
"""


def test_an_old_node_gets_the_npm_registrys_node_22(tmp_path: Path) -> None:
    """node v18 on PATH: the script installs node@22 into NODE_PREFIX with npm, and exits 0."""
    env = _tools_env(tmp_path)
    stubs = tmp_path / "bin"
    _present(stubs, "promtool", "openssl", "curl")
    _stub(stubs, "node", "echo v18.19.0")
    _stub(stubs, "npm", _NPM_INSTALLING_NODE)
    result = _ensure_system_tools(env)
    assert result.returncode == 0, result.stderr
    prefix = env["NODE_PREFIX"]
    assert _calls(tmp_path) == [
        f"npm install --global --prefix {prefix} --no-audit --no-fund --loglevel=error node@22"
    ]
    assert "needs Node.js >= 22 and the node on PATH is v18.19.0" in result.stderr
    assert f"using Node.js v22.23.3 from {prefix}/bin" in result.stderr
    again = _ensure_system_tools(env)
    assert again.returncode == 0
    assert len(_calls(tmp_path)) == 1, "a fitting node in NODE_PREFIX is used, not reinstalled"


def test_an_old_node_that_cannot_be_replaced_stops_with_both_versions(tmp_path: Path) -> None:
    """When npm cannot install node@22 (no registry), exit 1 naming 22 and what was found."""
    env = _tools_env(tmp_path)
    stubs = tmp_path / "bin"
    _present(stubs, "promtool", "openssl", "curl")
    _stub(stubs, "node", "echo v18.19.0")
    _stub(stubs, "npm", 'echo "npm $*" >> "$LOG"; echo "npm error code ENOTFOUND" >&2; exit 1')
    result = _ensure_system_tools(env)
    assert result.returncode == 1
    assert "needs Node.js >= 22; found v18.19.0" in result.stderr, result.stderr
    assert "Install Node.js 22 or newer" in result.stderr


def test_a_fitting_node_installs_nothing(tmp_path: Path) -> None:
    env = _tools_env(tmp_path)
    stubs = tmp_path / "bin"
    _present(stubs, "promtool", "openssl", "curl", "npm")
    _stub(stubs, "node", "echo v22.11.0")
    result = _ensure_system_tools(env)
    assert (result.returncode, result.stderr) == (0, "")
    assert _calls(tmp_path) == []


def test_the_makefile_puts_the_installed_node_first_on_path() -> None:
    """What the script installs into NODE_PREFIX is what npm ci and the tests then run."""
    make = [_make(), "--no-print-directory", "-C", str(ROOT)]
    result = subprocess.run(
        [*make, "-n", "tools"], capture_output=True, text=True, env=_make_env(), check=False
    )
    assert result.returncode == 0, result.stderr
    assert "NODE_PREFIX='build/node' scripts/ensure-system-tools" in result.stdout
    printed = subprocess.run(
        [*make, "-f", "Makefile", "-f", "-", "show-path"],
        input="show-path:\n\t@echo $$PATH\n",
        capture_output=True,
        text=True,
        env=_make_env(),
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.split(os.pathsep)[0] == str(ROOT / "build" / "node" / "bin")


# -- 14: Debian's prometheus service, installed for the tests, neither runs nor starts at boot -


def _root_with_apt(tmp_path: Path, *, systemd: bool) -> dict[str, str]:
    env = _tools_env(tmp_path)
    stubs = tmp_path / "bin"
    _stub(stubs, "id", 'echo 0; echo "id $*" >> "$LOG"')
    _stub(stubs, "apt-get", 'echo "apt-get $*" >> "$LOG"')
    _stub(stubs, "systemctl", 'echo "systemctl $*" >> "$LOG"')
    if systemd:
        Path(env["SYSTEMD_RUNTIME"]).mkdir()
    return env


def test_installed_prometheus_is_disabled_and_stopped_under_systemd(tmp_path: Path) -> None:
    """Right after apt-get installs prometheus: systemctl disable --now prometheus."""
    env = _root_with_apt(tmp_path, systemd=True)
    result = _ensure_system_tools(env)
    assert result.returncode == 0, result.stderr
    calls = [call for call in _calls(tmp_path) if not call.startswith("id ")]
    assert calls == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends prometheus nodejs npm openssl curl",
        "systemctl disable --now prometheus",
    ]
    assert "disabled and stopped Debian's prometheus service" in result.stderr


def test_without_systemd_no_systemctl_is_called(tmp_path: Path) -> None:
    """In a container (no /run/systemd/system) systemctl would only fail: it is not run."""
    env = _root_with_apt(tmp_path, systemd=False)
    result = _ensure_system_tools(env)
    assert result.returncode == 0, result.stderr
    assert not [call for call in _calls(tmp_path) if call.startswith("systemctl")]


def test_a_prometheus_installed_before_is_left_alone(tmp_path: Path) -> None:
    """promtool already there, only curl missing: no systemctl call for someone's service."""
    env = _root_with_apt(tmp_path, systemd=True)
    stubs = tmp_path / "bin"
    _present(stubs, "promtool", "openssl")
    _stub(stubs, "node", "echo v22.11.0")
    _stub(stubs, "npm", "exit 0")
    result = _ensure_system_tools(env)
    assert result.returncode == 0, result.stderr
    calls = [call for call in _calls(tmp_path) if not call.startswith("id ")]
    assert calls == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends curl",
    ]


def test_not_root_only_says_what_to_install(tmp_path: Path) -> None:
    env = _tools_env(tmp_path)
    stubs = tmp_path / "bin"
    _stub(stubs, "id", "echo 1000")
    _stub(stubs, "apt-get", 'echo "apt-get $*" >> "$LOG"')
    result = _ensure_system_tools(env)
    assert result.returncode == 0
    assert "missing system packages: prometheus nodejs npm openssl curl" in result.stderr
    assert _calls(tmp_path) == []
