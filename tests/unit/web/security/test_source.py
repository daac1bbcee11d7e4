"""WebConfigSource and load_web_config: read per change of the file, logged once per change."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from exporter.logs import get_logger
from exporter.web.security import source
from exporter.web.security.schema import WebConfig, WebConfigError
from exporter.web.security.source import WebConfigSource, load_web_config

HASH = "$2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu"


def write(path: Path, text: str) -> None:
    """Replace the file (a new inode, as editors and Kubernetes do)."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text, encoding="utf-8")
    fresh.replace(path)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths load_web_config was called with, through the source."""
    calls: list[str] = []
    real: Callable[[str], WebConfig] = source.load_web_config

    def counting(path: str) -> WebConfig:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(source, "load_web_config", counting)
    return calls


def test_load_resolves_paths_against_the_files_directory(tmp_path: Path) -> None:
    """Relative cert and key paths are taken from the config file's directory."""
    path = tmp_path / "web.yml"
    path.write_text("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: server.key\n")
    tls = load_web_config(str(path)).tls
    assert tls.cert_file == str(tmp_path / "tls" / "server.crt")
    assert tls.key_file == str(tmp_path / "server.key")


def test_load_says_why_a_file_cannot_be_used(tmp_path: Path) -> None:
    """Missing (naming the path), not text, or invalid (each problem, as parsed)."""
    missing = tmp_path / "absent.yml"
    with pytest.raises(
        WebConfigError, match=f"^cannot read {re.escape(str(missing))}: No such file"
    ):
        load_web_config(str(missing))
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"basic_auth_users: {u: \xff}\n")
    with pytest.raises(WebConfigError, match=r"^not UTF-8 text \(byte 22\)$"):
        load_web_config(str(binary))
    invalid = tmp_path / "invalid.yml"
    invalid.write_text("foo: 1\nbar: 2\n")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(str(invalid))
    assert caught.value.problems == (
        "line 1: field foo not found in type web.Config",
        "line 2: field bar not found in type web.Config",
    )


def test_load_reads_utf16_with_a_bom_as_libyaml_does(tmp_path: Path) -> None:
    """A file saved as UTF-16 (with its BOM) reads like its UTF-8 twin."""
    path = tmp_path / "web.yml"
    path.write_bytes(
        codecs.BOM_UTF16_LE + f"basic_auth_users: {{u: '{HASH}'}}\n".encode("utf-16-le")
    )
    assert dict(load_web_config(str(path)).users) == {"u": HASH}  # fmt: skip


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, loads: list[str]) -> None:
    """Calls after the first cost a stat and return the very same object."""
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users: {{u: '{HASH}'}}\n")
    web = WebConfigSource(str(path), get_logger())
    first = web.current()
    assert all(web.current() is first for _ in range(50))
    assert loads == [str(path)]


def test_a_changed_file_is_read_again(tmp_path: Path, loads: list[str]) -> None:
    """A new user is in force at the next call, as Go reads the file per request."""
    path = tmp_path / "web.yml"
    path.write_text(f"basic_auth_users: {{u: '{HASH}'}}\n")
    web = WebConfigSource(str(path), get_logger())
    assert set(web.current().users) == {"u"}
    write(path, f"basic_auth_users: {{u: '{HASH}', v: '{HASH}'}}\n")
    assert set(web.current().users) == {"u", "v"}
    assert len(loads) == 2


def test_a_same_size_rewrite_in_place_is_seen(tmp_path: Path) -> None:
    """Same inode and size: the mtime (or ctime) in nanoseconds tells the change."""
    path = tmp_path / "web.yml"
    path.write_text("http_server_config: {http2: true}\n")
    web = WebConfigSource(str(path), get_logger())
    assert web.current().http.http2
    stat = path.stat()
    path.write_text("http_server_config: {http2: off }\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert not web.current().http.http2


def test_an_invalid_file_raises_and_is_logged_once_per_change(tmp_path: Path) -> None:
    """While invalid every call raises; one warning per change; the previous good one is
    not used; a fix is in force at once."""
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users: {}\n")
    web = WebConfigSource(str(path), get_logger())
    web.current()
    with capture_logs() as logs:
        write(path, "basic_auth_users: {}\nfoo: 1\n")
        for _ in range(3):
            with pytest.raises(WebConfigError, match="field foo not found"):
                web.current()
        write(path, "basic_auth_users: {}\nbar: 1\n")
        for _ in range(3):
            with pytest.raises(WebConfigError, match="field bar not found"):
                web.current()
        write(path, "http_server_config: {http2: false}\n")
        assert not web.current().http.http2
    assert [(log["event"], log["log_level"]) for log in logs] == [
        ("web_config_invalid", "warning"),
        ("web_config_invalid", "warning"),
    ]
    assert logs[0]["path"] == str(path)
    assert logs[0]["error"] == "line 2: field foo not found in type web.Config"


def test_a_missing_file_raises_until_it_comes_back(tmp_path: Path, loads: list[str]) -> None:
    """A deleted file is an error (logged once, not read per call); its return is a change."""
    path = tmp_path / "web.yml"
    path.write_text("basic_auth_users: {}\n")
    web = WebConfigSource(str(path), get_logger())
    web.current()
    path.unlink()
    with capture_logs() as logs:
        for _ in range(3):
            with pytest.raises(
                WebConfigError, match=f"cannot read {re.escape(str(path))}: No such"
            ):
                web.current()
    assert [log["event"] for log in logs] == ["web_config_invalid"]
    path.write_text("http_server_config: {http2: false}\n")
    assert not web.current().http.http2
    assert len(loads) == 3


def test_a_kubernetes_secret_swap_is_seen_through_the_symlinks(tmp_path: Path) -> None:
    """The mounted file is a link into ``..data``, itself a link swapped atomically."""
    for version, http2 in (("v1", "true"), ("v2", "false")):
        (tmp_path / version).mkdir()
        (tmp_path / version / "web.yml").write_text(f"http_server_config: {{http2: {http2}}}\n")
    (tmp_path / "..data").symlink_to("v1")
    (tmp_path / "web.yml").symlink_to("..data/web.yml")
    web = WebConfigSource(str(tmp_path / "web.yml"), get_logger())
    assert web.current().http.http2
    (tmp_path / "..data_tmp").symlink_to("v2")
    (tmp_path / "..data_tmp").replace(tmp_path / "..data")
    assert not web.current().http.http2


def test_errors_raised_again_do_not_grow(tmp_path: Path) -> None:
    """Each call raises a fresh error: a stored one re-raised would pile up tracebacks."""
    path = tmp_path / "web.yml"
    path.write_text("foo: 1\n")
    web = WebConfigSource(str(path), get_logger())
    raised = []
    for _ in range(2):
        with pytest.raises(WebConfigError) as caught:
            web.current()
        raised.append(caught.value)
    assert raised[0] is not raised[1]
    assert raised[0].problems == raised[1].problems
