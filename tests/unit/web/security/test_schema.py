"""parse_web_config: the toolkit's schema, yaml.v2's strict decoding, Go's checks and messages.

The yaml.v2 decoding rules themselves are in test_yamlv2.py and test_goscalars.py; the
verdicts are compared with the real promtool in tests/integration/web/test_webconfig_parity.py.
"""

from __future__ import annotations

import time

import pytest

from exporter.web.security.goscalars import CIPHER_SUITES
from exporter.web.security.schema import (
    RateLimit,
    TLSServerConfig,
    WebConfig,
    WebConfigError,
    parse_web_config,
)

TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
HASH = "$2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu"


def problems(text: str) -> tuple[str, ...]:
    with pytest.raises(WebConfigError) as caught:
        parse_web_config(text, "/etc/web")
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def refused(text: str, message: str) -> None:
    found = problems(text)
    assert any(message in problem for problem in found), found


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n# and another\n"])
def test_a_file_without_settings_is_plain_http(text: str) -> None:
    """An empty file (or comments only) gives the defaults: plain HTTP, no auth, HTTP/2 on."""
    assert parse_web_config(text, "/etc/web") == WebConfig()


def test_every_field_is_read_and_relative_paths_join_the_files_directory() -> None:
    """All keys of the current schema land in the dataclasses; relative paths are joined."""
    config = parse_web_config(
        "tls_server_config:\n"
        "  cert_file: certs/../server.crt\n  key_file: /abs/server.key\n"
        "  client_ca_file: ca.pem\n  client_ca: CA-PEM\n  cert: CERT-PEM\n  key: KEY-PEM\n"
        "  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [a, 1]\n"
        "  min_version: TLS13\n  max_version: TLS13\n"
        "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  prefer_server_cipher_suites: false\n"
        "  curve_preferences: [X25519]\n"
        "http_server_config:\n  http2: false\n  headers: {X-Frame-Options: deny}\n"
        f"basic_auth_users: {{alice: '{HASH}', bob: doe}}\n"
        "rate_limit: {interval: 1m30s, burst: 5}\n",
        "/etc/web",
    )
    assert config.tls == TLSServerConfig(
        cert_file="/etc/web/server.crt",
        key_file="/abs/server.key",
        cert="CERT-PEM",
        key="KEY-PEM",
        client_auth_type="RequireAndVerifyClientCert",
        client_ca_file="/etc/web/ca.pem",
        client_ca="CA-PEM",
        client_allowed_sans=("a", "1"),
        min_version="TLS13",
        max_version="TLS13",
        cipher_suites=("TLS_AES_128_GCM_SHA256",),
        prefer_server_cipher_suites=False,
        curve_preferences=("X25519",),
    )
    assert not config.http.http2
    assert dict(config.http.headers) == {"X-Frame-Options": "deny"}
    assert dict(config.users) == {"alice": HASH, "bob": "doe"}
    assert config.rate_limit == RateLimit(interval=90.0, burst=5)


def test_a_relative_directory_keeps_paths_relative_as_go_does() -> None:
    """With the file in the working directory (dirname ""), paths stay relative."""
    config = parse_web_config(TLS, "")
    assert (config.tls.cert_file, config.tls.key_file) == ("server.crt", "server.key")


def test_the_result_is_read_only_and_its_repr_shows_no_secret() -> None:
    """Headers and users cannot be changed; neither a hash nor an inline key is in repr()."""
    config = parse_web_config(
        f"basic_auth_users: {{u: '{HASH}'}}\ntls_server_config: {{cert: C, key: SECRET-KEY}}",
        "/",
    )
    with pytest.raises(TypeError):
        config.users["v"] = "x"  # type: ignore[index]
    assert HASH not in repr(config)
    assert "SECRET-KEY" not in repr(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo: bar", "line 1: field foo not found in type web.Config"),
        (TLS + "  cert_filse: x", "line 4: tls_server_config: field cert_filse not found in "),
        ("http_server_config: {http3: true}", "field http3 not found in type web.HTTPConfig"),
        ("rate_limit: {period: 1s}", "field period not found in type web.RateLimiterConfig"),
        ("basic_auth_users: {}\nbasic_auth_users: {}", "line 2: field basic_auth_users already"),
        (TLS + "  cert_file: b", "line 4: tls_server_config: field cert_file already set in type"),
        (f"basic_auth_users: {{u: '{HASH}', u: x}}", 'basic_auth_users: key "u" already set'),
        ("- a", "line 1: cannot unmarshal !!seq into web.Config"),
        ("just some text", "cannot unmarshal !!str `just so...` into web.Config"),
        ("tls_server_config:\n\tcert_file: a", "yaml: line 2: found character that cannot"),
    ],
)
def test_unknown_repeated_and_misplaced_keys_are_refused_naming_them(
    text: str, message: str
) -> None:
    """Strict decoding: yaml.v2's messages, after the line and the key path."""
    refused(text, message)


def test_every_problem_of_the_yaml_stage_is_reported_at_once() -> None:
    """Several decoding problems come together, in file order."""
    assert problems("foo: 1\nhttp_server_config: {http2: 1}\nbar: 2") == (
        "line 1: field foo not found in type web.Config",
        "line 2: http_server_config.http2: cannot unmarshal !!int `1` into bool",
        "line 3: field bar not found in type web.Config",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("123", "123"), ("1.50", "1.50"), ("0x10", "0x10"), ("yes", "yes"), ("~", ""), ("", "")],
)
def test_any_scalar_is_a_strings_raw_text_and_null_is_empty(value: str, expected: str) -> None:
    """``X-XSS-Protection: 1`` is the text "1", not a number; null is the empty string."""
    config = parse_web_config(f"http_server_config:\n  headers: {{X-XSS-Protection: {value}}}", "")
    assert config.http.headers["X-XSS-Protection"] == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(word, True) for word in ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON")],
        *[(word, True) for word in ("true", "True", "TRUE")],
        *[(word, False) for word in ("n", "N", "no", "No", "NO", "off", "Off", "OFF")],
        *[(word, False) for word in ("false", "False", "FALSE")],
    ],
)
def test_bool_fields_take_yaml_v2s_words(value: str, expected: bool) -> None:
    """yaml.v2's YAML 1.1 booleans, in its three spellings of each."""
    config = parse_web_config(f"http_server_config:\n  http2: {value}\n", "")
    assert config.http.http2 is expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"yes"', "!!str `yes`"), ("1", "!!int `1`"), ("tRUE", "!!str `tRUE`"), ("[]", "!!seq")],
)
def test_bool_fields_refuse_quoted_words_numbers_and_lists(value: str, shown: str) -> None:
    """A quoted word is a string, ``1`` an int: neither is a bool to yaml.v2."""
    refused(f"http_server_config:\n  http2: {value}", f"cannot unmarshal {shown} into bool")


def test_null_sections_take_gos_zero_values() -> None:
    """``http_server_config: ~`` is Go's zero struct: HTTP/2 off; null versions mean the
    defaults (crypto/tls reads 0 as its own), a null TLS section is no TLS."""
    assert not parse_web_config("http_server_config: ~", "").http.http2
    assert not parse_web_config("~", "").http.http2
    assert not parse_web_config("---\n", "").http.http2  # a document, null: not an empty file
    tls = parse_web_config(TLS + "  min_version: ~\n  max_version:", "").tls
    assert (tls.min_version, tls.max_version) == ("TLS12", "TLS13")
    assert not parse_web_config("tls_server_config:", "").tls.enabled


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ("Content-Type: foo", 'HTTP header "Content-Type" can not be configured'),
        ("x-frame-options: deny", 'HTTP header "x-frame-options" can not be configured'),
        (
            "X-Frame-Options: foo",
            'invalid value for X-Frame-Options. Expected one of: ["deny" "sameorigin"], '
            'but got: "foo"',
        ),
        ("X-Frame-Options: DENY", 'but got: "DENY"'),
        ("X-Frame-Options:", 'but got: ""'),
        ("X-Frame-Options: 0x10", 'but got: "0x10"'),
        ("X-Frame-Options: '\"\\t'", 'but got: "\\"\\\\t"'),
        ("X-Content-Type-Options: sniff", 'Expected one of: ["nosniff"], but got: "sniff"'),
    ],
)
def test_headers_follow_the_toolkits_rules_and_messages(headers: str, message: str) -> None:
    """Only the five keys, case-sensitive; two of them only with their enumerated values."""
    refused(f"http_server_config:\n  headers:\n    {headers}\n", message)


def test_the_five_headers_are_accepted_with_their_values_as_written() -> None:
    """The toolkit's own fixture: ``X-XSS-Protection: 1`` is the text "1"; blank is kept."""
    config = parse_web_config(
        "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n"
        "    Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
        "    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n"
        "    Content-Security-Policy:\n",
        "",
    )
    assert dict(config.http.headers) == {
        "X-Frame-Options": "sameorigin",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
        "X-Content-Type-Options": "nosniff",
        "X-XSS-Protection": "1",
        "Content-Security-Policy": "",
    }


@pytest.mark.parametrize("version", ["TLS10", "TLS11", "TLS12", "TLS13", '"TLS12"'])
def test_versions_are_gos_four_names(version: str) -> None:
    """min_version and max_version take TLS10 to TLS13, quoted or not."""
    assert parse_web_config(f"{TLS}  min_version: {version}", "").tls.min_version == (
        version.strip('"')
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("min_version: tls12", "tls_server_config.min_version: unknown TLS version: tls12"),
        ("max_version: TLS1.2", "unknown TLS version: TLS1.2"),
        ("min_version: Null", "unknown TLS version: "),  # yaml.v2 skips ~ and null, not Null
        ("min_version: [TLS12]", "min_version: cannot unmarshal !!seq into string"),
        ("cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]", "unknown cipher: ECDHE-RSA-AES128-GCM"),
        ("cipher_suites: [TLS_ECDHE_RSA_WITH_RC4_128_SHA]", "unknown cipher: TLS_ECDHE_RSA_WI"),
        ("cipher_suites: [TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305]", "unknown cipher: TLS_ECDHE"),
        ("cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA256]", "unknown cipher: TLS_RSA_WITH_AES"),
        ("cipher_suites: TLS_AES_128_GCM_SHA256", "!!str `TLS_AES...` into []web.Cipher"),
        ("cipher_suites: [~]", "tls_server_config.cipher_suites: an entry is null"),
        ("curve_preferences: [x25519]", "tls_server_config.curve_preferences[0]: unknown curve"),
        ("curve_preferences: [P256]", "unknown curve: P256"),
        ("curve_preferences: [X25519MLKEM768]", "unknown curve: X25519MLKEM768"),
        ("curve_preferences: [null]", "tls_server_config.curve_preferences: an entry is null"),
    ],
)
def test_unknown_version_cipher_and_curve_names_are_refused(line: str, message: str) -> None:
    """Exact, case-sensitive Go names; OpenSSL names, insecure suites and aliases are not."""
    refused(f"{TLS}  {line}\n", message)


def test_go_1_19s_seventeen_cipher_suites_are_accepted() -> None:
    """Every name tls.CipherSuites() gives in Go 1.19, TLS 1.3 ones included."""
    assert len(CIPHER_SUITES) == 17
    listed = "".join(f"\n    - {name}" for name in sorted(CIPHER_SUITES))
    config = parse_web_config(f"{TLS}  cipher_suites:{listed}\n", "")
    assert config.tls.cipher_suites == tuple(sorted(CIPHER_SUITES))


@pytest.mark.parametrize(
    "auth", ["", "NoClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"]
)
def test_the_three_verifying_client_auth_types_are_served(auth: str) -> None:
    """Go's names for no client certificate, verified if given, and required and verified."""
    assert parse_web_config(f"{TLS}  client_auth_type: '{auth}'", "").tls.client_auth_type == auth


@pytest.mark.parametrize(
    ("auth", "instead"),
    [
        ("RequestClientCert", "VerifyClientCertIfGiven"),
        ("RequireAnyClientCert", "RequireAndVerifyClientCert"),
        ("RequireClientCert", "RequireAndVerifyClientCert"),
    ],
)
def test_client_auth_types_that_skip_verification_are_refused_saying_why(
    auth: str, instead: str
) -> None:
    """Python's ssl cannot ask for a certificate without verifying it: a clear load error."""
    (message,) = problems(f"{TLS}  client_auth_type: {auth}")
    assert message.startswith(f"tls_server_config: client_auth_type {auth} is not supported")
    assert "without verifying it" in message
    assert f"use {instead} with client_ca_file" in message


@pytest.mark.parametrize("auth", ["x", "yes", "123", "requireandverifyclientcert"])
def test_other_client_auth_types_get_gos_message(auth: str) -> None:
    """An unknown policy, as Go words it (raw text: ``yes`` stays ``yes``)."""
    assert problems(f"{TLS}  client_auth_type: {auth}") == (
        f"tls_server_config: invalid ClientAuth: {auth}",
    )


def test_more_than_one_curve_is_refused_while_tls_is_on() -> None:
    """ssl sets one group before Python 3.15; without TLS the list is inert and accepted."""
    curves = "  curve_preferences: [X25519, CurveP256]\n"
    (message,) = problems(TLS + curves)
    assert "curve_preferences lists 2 curves" in message
    assert "can offer only one" in message
    assert parse_web_config("tls_server_config:\n" + curves, "").tls.curve_preferences == (
        "X25519",
        "CurveP256",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tls_server_config: {client_auth_type: RequireAndVerifyClientCert}", ("cert", "key")),
        ("tls_server_config: {cert_file: '', key_file: '', client_auth_type: x}", ("cert", "key")),
        ("tls_server_config: {key_file: k}", ("cert",)),
        ("tls_server_config: {cert: '', key_file: k}", ("cert",)),
        ("tls_server_config: {cert_file: c}", ("key",)),
        ("tls_server_config: {cert_file: c, key: ''}", ("key",)),
    ],
)
def test_tls_needs_a_certificate_and_a_key(text: str, expected: tuple[str, ...]) -> None:
    """Go's first checks once any TLS key is set, cert before key."""
    found = problems(text)
    wanted = [f"tls_server_config: missing one of {what} or {what}_file" for what in expected]
    assert list(found[: len(wanted)]) == wanted


@pytest.mark.parametrize(
    "text",
    [
        "tls_server_config: {}",
        "tls_server_config: {min_version: TLS13, cipher_suites: [TLS_AES_128_GCM_SHA256]}",
        "tls_server_config: {prefer_server_cipher_suites: false}",
        "tls_server_config: {client_allowed_sans: [a]}",
    ],
)
def test_versions_and_ciphers_alone_do_not_turn_tls_on(text: str) -> None:
    """Go's IsEnabled: only certificates, keys, CAs or a client-auth type do."""
    assert not parse_web_config(text, "").tls.enabled


@pytest.mark.parametrize("ca", ["client_ca_file: /dev/null", "client_ca: PEM"])
@pytest.mark.parametrize("auth", ["", "client_auth_type: NoClientCert"])
def test_a_client_ca_needs_a_client_auth_policy(ca: str, auth: str) -> None:
    """A CA with no policy (or NoClientCert) is refused with Go's words."""
    assert problems(f"{TLS}  {ca}\n  {auth}\n") == (
        "tls_server_config: client CA's have been configured without a Client Auth Policy",
    )


def test_client_allowed_sans_keeps_absent_apart_from_empty() -> None:
    """Absent or null is None (no check); ``[]`` is a check nothing passes, as in Go."""
    assert parse_web_config(TLS, "").tls.client_allowed_sans is None
    assert parse_web_config(TLS + "  client_allowed_sans:", "").tls.client_allowed_sans is None
    assert parse_web_config(TLS + "  client_allowed_sans: []", "").tls.client_allowed_sans == ()
    refused(TLS + "  client_allowed_sans: abc", "!!str `abc` into []string")


@pytest.mark.parametrize("value", ["doe", "5", "$2$10$x", "'$3a$10$abc'", "''", "~"])
def test_user_hashes_are_not_checked_at_load(value: str) -> None:
    """As in Go's server, a malformed hash loads (it simply never matches)."""
    config = parse_web_config(f"basic_auth_users:\n  u: {value}\n  5: {HASH}\n", "")
    assert set(config.users) == {"u", "5"}


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [
        ("1s", 1.0),
        ('"500ms"', 0.5),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("2us", 2e-6),
        ("3µs", 3e-6),
        ("10", 1e-8),  # a bare integer is nanoseconds
        ("1e9", 1.0),
        ("0", 0.0),
        ("~", 0.0),
        ("-1s", 0.0),  # Go's rate.Every makes it infinite: no limit, as 0
    ],
)
def test_rate_limit_interval_is_a_go_duration_in_seconds(interval: str, seconds: float) -> None:
    """time.ParseDuration's strings, or yaml.v2's integer nanoseconds."""
    config = parse_web_config(f"rate_limit:\n  interval: {interval}\n  burst: 3\n", "")
    assert config.rate_limit == RateLimit(interval=pytest.approx(seconds), burst=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("interval: 1d", "cannot unmarshal !!str `1d` into time.Duration"),
        ("interval: '10'", "cannot unmarshal !!str `10` into time.Duration"),
        ("interval: true", "cannot unmarshal !!bool `true` into time.Duration"),
        ("burst: '5'", "rate_limit.burst: cannot unmarshal !!str `5` into int"),
        ("burst: 1s", "cannot unmarshal !!str `1s` into int"),
    ],
)
def test_rate_limit_refuses_what_go_refuses(line: str, message: str) -> None:
    """No ``d`` unit, no unit-less string, and a burst is an integer."""
    refused(f"rate_limit:\n  {line}\n", message)


def test_a_secret_is_never_echoed() -> None:
    """Neither a wrongly tagged key or hash nor a broken quoted secret shows in a message."""
    for text in (
        "tls_server_config:\n  key: !!int SECRET-KEY-MATERIAL",
        "basic_auth_users:\n  u: !!float SECRET-HASH-MATERIAL",
        'tls_server_config:\n  key: "SECRET-KEY-MATERIAL\n  cert: x',
        "tls_server_config:\n  key: [SECRET-KEY-MATERIAL]",
    ):
        found = "\n".join(problems(text))
        assert "SECRET" not in found, found


def test_an_alias_bomb_of_merges_is_refused_quickly() -> None:
    """Merges of merges grow exponentially (9**8 here): refused in well under a second."""
    levels = [f"  - &a{i} {{<<: [{', '.join([f'*a{i - 1}'] * 9)}]}}\n" for i in range(1, 9)]
    text = "_:\n  - &a0 {http2: true}\n" + "".join(levels) + "http_server_config: {<<: *a8}\n"
    started = time.perf_counter()
    refused(text, "yaml: document contains excessive aliasing")
    assert time.perf_counter() - started < 1.0
