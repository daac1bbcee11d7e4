"""Secrets are read only from small regular files, and only printable ASCII is accepted.

A FIFO would block the start forever, ``/dev/zero`` or a huge file would exhaust memory; a
key with a newline or NUL breaks the request that carries it, and the error would then carry
the key into a log line in an escaped form. Each is a configuration problem, exit 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exporter.config.secrets import MAX_SECRET_BYTES
from exporter.config.settings import Settings
from exporter.errors import ConfigError
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.registry import SOURCES

KEY = "6d9f6bc4-4c3e-4bd5-9f3e-2a5c0c1d7e21"


def problems(argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Settings.from_sources(argv, env or {}, SOURCES)
    return list(info.value.problems)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO would wait for a writer forever; it is named and refused at once."""
    fifo = tmp_path / "key"
    os.mkfifo(fifo)
    (problem,) = problems([f"--livepeer.api-key-file={fifo}"])
    assert f"{fifo} is not a regular file" in problem


def test_a_device_is_refused() -> None:
    """/dev/zero would be read until memory runs out."""
    (problem,) = problems(["--livepeer.api-key-file=/dev/zero"])
    assert "/dev/zero is not a regular file" in problem


def test_a_file_over_64_kib_is_refused(tmp_path: Path) -> None:
    """A key is tens of bytes: a large file is a mistake, refused before it is read."""
    big = tmp_path / "key"
    big.write_text("k" * (MAX_SECRET_BYTES + 1))
    (problem,) = problems([f"--livepeer.api-key-file={big}"])
    assert f"{big} is larger than 64 KiB" in problem


def test_a_symlink_to_a_regular_file_is_read(tmp_path: Path) -> None:
    """Kubernetes mounts a Secret's keys as symlinks through ..data: they are fine."""
    (tmp_path / "real").write_text(f"  {KEY}\n")
    (tmp_path / "key").symlink_to(tmp_path / "real")
    settings = Settings.from_sources([f"--livepeer.api-key-file={tmp_path / 'key'}"], {}, SOURCES)
    key = settings.of(LivepeerSettings).api_key
    assert key is not None
    assert key.reveal() == KEY


@pytest.mark.parametrize("bad", ["\n", "\r", "\x00", "\x1b", "é", "\u2028"])
def test_a_key_with_a_control_or_non_ascii_character_is_refused(tmp_path: Path, bad: str) -> None:
    """From a file or a variable, inside the value (surrounding whitespace is stripped): one
    problem naming where it came from, never the value, in any form."""
    value = KEY[:10] + bad + KEY[10:]
    path = tmp_path / "key"
    path.write_text(value + "\n", encoding="utf-8")
    from_file = problems([f"--livepeer.api-key-file={path}"])
    from_env = problems([], {"LIVEPEER_API_KEY": value})
    for found, where in ((from_file, "--livepeer.api-key-file"), (from_env, "$LIVEPEER_API_KEY")):
        (problem,) = found
        assert where in problem
        assert "control or non-ASCII character" in problem
        for form in (value, KEY[:10], KEY[10:], repr(value)):
            assert form not in problem


def test_surrounding_whitespace_is_still_stripped(tmp_path: Path) -> None:
    """A trailing newline, as ``echo`` writes one, is not part of the key."""
    settings = Settings.from_sources([], {"LIVEPEER_API_KEY": f"\t{KEY}\r\n"}, SOURCES)
    key = settings.of(LivepeerSettings).api_key
    assert key is not None
    assert key.reveal() == KEY
