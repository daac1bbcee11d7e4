"""The parser's Go names and the TLS builder's Go → OpenSSL tables name the same things."""

from __future__ import annotations

from exporter.web.security import goscalars, tlsnames


def test_the_parser_and_the_builder_know_the_same_names() -> None:
    """A name the parser accepts always has an ``ssl`` meaning, and no other has one."""
    assert set(tlsnames._VERSIONS) == goscalars.TLS_VERSIONS
    assert set(tlsnames._CIPHERS) | tlsnames._TLS13_CIPHERS == goscalars.CIPHER_SUITES
    assert set(tlsnames._CURVES) == goscalars.CURVES
