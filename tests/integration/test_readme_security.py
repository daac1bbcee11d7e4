"""The README's security example works when pasted: certificates, hash, file, exporter, curl.

The ``sh`` block of the README's "Security" section runs in bash in an empty directory, with
the exporter's environment first on ``PATH``; only the ports (free ones, so parallel runs do
not collide) and the fixed start-up wait (a poll of the probes' listener instead) change.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_security_example_works_when_pasted(tmp_path: Path) -> None:
    """The exposition over mutual TLS with the password, 401 with a wrong one, and ok from
    the probes' listener."""
    tools = {tool: shutil.which(tool) for tool in ("openssl", "curl", "bash")}
    for tool, path in tools.items():
        assert path, f"{tool} is missing: make tools installs it"
    section = README[README.index("## Security: TLS and basic auth") :]
    (script,) = re.findall(r"```sh\n(.*?)```", section.split("\n## ")[0], flags=re.S)
    main, probes = _free_port(), _free_port()
    wait = (
        f"for i in $(seq 100); do curl -sf http://localhost:{probes}/healthz >/dev/null "
        "&& break; sleep 0.1; done"
    )
    assert "sleep 3\n" in script
    script = script.replace(":9878", f":{probes}").replace(":9877", f":{main}")
    script = script.replace("sleep 3\n", wait + "\n")
    script = script.replace("livesession-exporter --demo", "livesession-exporter --demo "
                            f"--web.listen-address 127.0.0.1:{main}")  # fmt: skip
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith(("LIVESESSION_", "LIVEKIT_"))}
    result = subprocess.run(
        [str(tools["bash"]), "-c", script + "\nkill %1\nwait\n"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout
    assert out.startswith("# HELP "), (out, result.stderr[-2000:])
    assert "\n401\n" in out
    assert out.endswith("ok\n")
