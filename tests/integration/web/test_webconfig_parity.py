"""Our verdict on a web config file is promtool 2.42's, except for the divergences listed here.

Every file of the corpus (the research's Appendix A, the toolkit's fixture scenarios, yaml.v2
edge cases, and files naming missing, mismatched or empty key material) is checked once by the
real ``promtool check web-config`` and once by ``validate_web_config``, what a start and
``--config.check`` run: the file parsed and, with TLS on, its key pair and client CA loaded.
The key pair and CA files the corpus names are issued by trustme (inline ``CERT`` and ``KEY``
stand for the same key pair's PEM). promtool 2.42 is built with exporter-toolkit 0.8.2; we
implement the current toolkit, so some verdicts differ on purpose. Each such case names its
divergence and is asserted to diverge that way: if promtool or we change, the test says so.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
import trustme

from exporter.web.security.schema import WebConfigError
from exporter.web.security.secured import validate_web_config


@dataclass(frozen=True)
class Divergence:
    ours: bool
    """Our verdict (True: valid); promtool's is the opposite."""
    why: str


DIVERGENCES: Final = {
    "head_only_key": Divergence(
        True,
        "cert, key, client_ca, client_allowed_sans and rate_limit came after toolkit 0.8.2: "
        "promtool 2.42 refuses them as unknown fields, the current toolkit (ours) reads them",
    ),
    "unverified_client_auth": Divergence(
        False,
        "RequestClientCert, RequireAnyClientCert and RequireClientCert take a certificate "
        "without verifying it, which Python's ssl cannot do: refused at load, not served",
    ),
    "multiple_curves": Divergence(
        False, "ssl sets one curve (group) before Python 3.15: more than one is refused at load"
    ),
    "hash_not_checked": Divergence(
        True,
        "promtool (and Go's server at start) checks each bcrypt hash's format and cost; we do "
        "not (web-config.md, 'Hashes at load'): a malformed hash never matches, a 401, as in "
        "Go when the file changes at runtime",
    ),
    "null_list_entry": Divergence(
        False,
        "yaml.v2 reads a null cipher_suites or curve_preferences entry as id 0, which no "
        "peer offers; we refuse it at load instead of serving handshakes that fail",
    ),
}

H: Final = "$2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu"
S: Final = H[7:]  # the salt and hash part, after "$2y$10$"
T: Final = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"


def tls(*lines: str) -> str:
    return T + "".join(f"  {line}\n" for line in lines)


def headers(*lines: str) -> str:
    return "http_server_config:\n  headers:\n" + "".join(f"    {line}\n" for line in lines)


def users(*lines: str) -> str:
    return "basic_auth_users:\n" + "".join(f"  {line}\n" for line in lines)


# a table, one case a line where it fits, as the research lists promtool's verdicts
# fmt: off
CASES: Final[tuple[tuple[str, str, str | None], ...]] = (
    # Appendix A, in its order (the key-pair mismatch case is tls.py's: it reads the files)
    ("a_anchor_on_unknown_key", "x: &a\n" + T[19:] + "tls_server_config: *a\n", None),
    ("a_client_auth_yes", tls("client_auth_type: yes"), None),
    ("a_client_auth_123", tls("client_auth_type: 123"), None),
    ("a_client_auth_alone", "tls_server_config: {client_auth_type: RequireAndVerifyClientCert}",
     None),
    ("a_client_auth_x", tls("client_auth_type: x"), None),
    ("a_cipher_tls13", tls("cipher_suites: [TLS_AES_128_GCM_SHA256]"), None),
    ("a_cipher_rsa_cbc", tls("cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]"), None),
    ("a_cipher_openssl_name", tls("cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]"), None),
    ("a_cipher_rc4", tls("cipher_suites: [TLS_ECDHE_RSA_WITH_RC4_128_SHA]"), None),
    ("a_cipher_rsa_gcm", tls("cipher_suites: [TLS_RSA_WITH_AES_128_GCM_SHA256]"), None),
    ("a_cipher_no_tls", "tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", None),
    ("a_cipher_scalar", tls("cipher_suites: TLS_AES_128_GCM_SHA256"), None),
    ("a_client_ca_inline", tls("client_auth_type: RequireAndVerifyClientCert", "client_ca: |",
                               "  x"), "head_only_key"),
    ("a_curve_lowercase", tls("curve_preferences: [x25519]"), None),
    ("a_curve_mlkem", tls("curve_preferences: [X25519MLKEM768]"), None),
    ("a_curve_p256", tls("curve_preferences: [P256]"), None),
    ("a_users_twice", "basic_auth_users: {}\nbasic_auth_users: {}\n", None),
    ("a_xfo_upper", headers("X-Frame-Options: DENY"), None),
    ("a_xfo_empty", headers('X-Frame-Options: ""'), None),
    ("a_xfo_hex", headers("X-Frame-Options: 0x10"), None),
    ("a_hsts_quoted", headers('Strict-Transport-Security: "whatever"'), None),
    ("a_xss_int", headers("X-XSS-Protection: 1"), None),
    ("a_xfo_list", headers("X-Frame-Options: [deny]"), None),
    ("a_header_lowercase", headers("x-frame-options: deny"), None),
    ("a_xfo_null", headers("X-Frame-Options:"), None),
    ("a_http2_int", "http_server_config:\n  http2: 1\n", None),
    ("a_http2_false", "http_server_config:\n  http2: false\n", None),
    ("a_http2_on", "http_server_config:\n  http2: on\n", None),
    ("a_http2_quoted_yes", 'http_server_config:\n  http2: "yes"\n', None),
    ("a_http2_y", "http_server_config:\n  http2: y\n", None),
    ("a_http2_yes", "http_server_config:\n  http2: yes\n", None),
    ("a_top_level_list", "- a\n", None),
    ("a_client_auth_lowercase", tls("client_auth_type: requireandverifyclientcert"), None),
    ("a_merge", "tls_server_config:\n  <<: {cert_file: server.crt}\n  key_file: server.key\n",
     None),
    ("a_min_above_max", tls("min_version: TLS13", "max_version: TLS12"), None),
    ("a_min_version_alone", "tls_server_config:\n  min_version: TLS13\n", None),
    ("a_second_document", "basic_auth_users: {}\n---\nfoo: 1\n", None),
    ("a_prefer_alone", "tls_server_config:\n  prefer_server_cipher_suites: false\n", None),
    ("a_hash_2", users(f'u: "$2$10${S}"'), None),
    ("a_hash_2x", users(f'u: "$2x$10${S}"'), None),
    ("a_hash_2y", users(f'u: "{H}"'), None),
    ("a_hash_3a", users(f'u: "$3a$10${S}"'), "hash_not_checked"),
    ("a_hash_bad_salt", users(f'u: "$2y$10${"!" * 53}"'), None),
    ("a_hash_cost_3", users(f'u: "$2y$03${S}"'), "hash_not_checked"),
    ("a_hash_cost_32", users(f'u: "$2y$32${S}"'), "hash_not_checked"),
    ("a_users_empty", "basic_auth_users: {}\n", None),
    ("a_hash_int", "basic_auth_users: {u: 5}\n", "hash_not_checked"),
    ("a_hash_no_dollar", users(f'u: "x2y$10${S}"'), "hash_not_checked"),
    ("a_users_null", "basic_auth_users:\n", None),
    ("a_hash_word", "basic_auth_users: {u: doe}\n", "hash_not_checked"),
    ("a_require_client_cert", tls("client_auth_type: RequireClientCert"),
     "unverified_client_auth"),
    ("a_allowed_sans_scalar", tls("client_allowed_sans: abc"), None),  # both refuse, two reasons
    ("a_tab", "tls_server_config:\n\tcert_file: server.crt\n", None),
    ("a_tls10", tls("min_version: TLS10"), None),
    ("a_version_dotted", tls("min_version: TLS1.2"), None),
    ("a_tls_empty", "tls_server_config: {}\n", None),
    ("a_version_lowercase", tls("min_version: tls12"), None),
    ("a_tls_null", "tls_server_config:\n", None),
    ("a_unknown_key", "foo: bar\n", None),
    ("a_user_int_name", users(f'5: "{H}"'), None),
    ("a_hash_null", users("u:"), "hash_not_checked"),
    ("a_tls_and_user", T + users(f'u: "{H}"'), None),
    ("a_dev_null_ca", tls("client_auth_type: RequireAndVerifyClientCert",
                          "client_ca_file: /dev/null"), None),
    ("a_verify_without_ca", tls("client_auth_type: RequireAndVerifyClientCert"), None),
    # the toolkit's fixture scenarios (web/testdata), with trustme's files in place of its own
    ("f_requireandverify_ca", tls("client_auth_type: RequireAndVerifyClientCert",
                                  "client_ca_file: client_selfsigned.pem"), None),
    ("f_requireany", tls("client_auth_type: RequireAnyClientCert"), "unverified_client_auth"),
    ("f_requireany_key_inline", "tls_server_config:\n  cert_file: server.crt\n  key: |\n"
     "    not a key\n  client_auth_type: RequireAnyClientCert\n", None),
    ("f_client_cas_invalid", tls("client_ca_file: somefile"), None),
    ("f_client_san_bad", tls("client_auth_type: RequireAndVerifyClientCert",
                             "client_ca_file: client2_selfsigned.pem",
                             "client_allowed_sans: [bad]"), "head_only_key"),
    ("f_client_san_good", tls("client_auth_type: RequireAndVerifyClientCert",
                              "client_ca_file: client2_selfsigned.pem",
                              "client_allowed_sans: [one, test3, two]"), "head_only_key"),
    ("f_user_list_invalid", T + users("john: doe"), "hash_not_checked"),
    ("f_empty", "", None),
    ("f_headers", headers("X-Frame-Options: deny", "Strict-Transport-Security: max-age=31536000",
                          "X-Content-Type-Options: nosniff", "X-XSS-Protection: 1",
                          "Content-Security-Policy: \"default-src 'self'\""), None),
    ("f_headers_xcto", headers("X-Content-Type-Options: sniff"), None),
    ("f_headers_extra", headers("Content-Type: foo"), None),
    ("f_headers_xfo", headers("X-Frame-Options: foo"), None),
    ("f_junk", "This is not\na web configuration\n", None),
    ("f_junk_key", "tls_server_config:\n  cert_filse: server.crt\n  key_file: server.key\n", None),
    ("f_no_auth_bad", tls("client_ca_file: /dev/null"), None),
    ("f_no_auth_good", tls("client_auth_type: VerifyClientCertIfGiven"), None),
    ("f_all_ciphers", tls("client_auth_type: VerifyClientCertIfGiven", "cipher_suites:")
     + "".join(f"  - {name}\n" for name in (
         "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
         "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
         "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
         "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256",
         "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
         "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
         "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
         "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA",
         "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384")), None),
    ("f_all_curves", tls("curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]"),
     "multiple_curves"),
    ("f_cert_path_empty", 'tls_server_config:\n  cert_file: ""\n  key_file: server.key\n', None),
    ("f_paths_empty", 'tls_server_config: {cert_file: "", key_file: "", client_auth_type: x}',
     None),
    ("f_cert_empty", 'tls_server_config:\n  cert: ""\n  key_file: server.key\n', None),
    ("f_invented_cipher", tls("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA2048]"), None),
    ("f_invented_curve", tls("curve_preferences: [CurveP257]"), None),
    ("f_key_path_empty", 'tls_server_config:\n  cert_file: server.crt\n  key_file: ""\n', None),
    ("f_key_empty", 'tls_server_config:\n  cert_file: server.crt\n  key: ""\n', None),
    ("f_no_http2", tls("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA]", "max_version: TLS12")
     + "http_server_config:\n  http2: false\n", None),
    ("f_no_http2_cipher", tls("cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]",
                              "max_version: TLS12"), None),
    ("f_some_ciphers", tls("cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
                           "TLS_RSA_WITH_AES_128_CBC_SHA]", "min_version: TLS12",
                           "max_version: TLS12"), None),
    ("f_some_ciphers_no_order", tls("cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA, "
                                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]",
                                    "prefer_server_cipher_suites: false"), None),
    ("f_some_curves", tls("min_version: TLS13", "curve_preferences: [CurveP521]"), None),
    ("f_tls_inline", "tls_server_config:\n  cert: |\n    CERT\n  key: |\n    KEY\n",
     "head_only_key"),
    ("f_wrong_version", tls("min_version: TLS111"), None),
    ("f_rate_limit_off", "rate_limit:\n  interval: 0\n  burst: 0\n", "head_only_key"),
    ("f_rate_limit_1s", 'rate_limit:\n  interval: "1s"\n  burst: 0\n', "head_only_key"),
    ("f_users", T + users(f"alice: $2y$12${S}", f"bob: $2y$18${S}", f"dave: {H}"), None),
    ("f_users_no_tls", users(f"alice: $2y$12${S}", f"carol: {H}"), None),
    # yaml.v2's decoding rules, and our checks' reach
    ("y_null_cipher", tls("cipher_suites: [~]"), "null_list_entry"),
    ("y_null_curve", tls("curve_preferences: [null]"), "null_list_entry"),
    ("y_version_Null", tls("min_version: Null"), None),
    ("y_version_null", tls("min_version: ~"), None),
    ("y_version_quoted_null", tls('min_version: "null"'), None),
    ("y_redefined_anchor", "tls_server_config: &x {}\nhttp_server_config: &x {}\n", None),
    ("y_unknown_anchor", "tls_server_config: *x\n", None),
    ("y_bad_second_document", "basic_auth_users: {}\n---\nfoo: [\n", None),
    ("y_user_list", "basic_auth_users: {u: [x]}\n", None),
    ("y_user_twice", f"basic_auth_users: {{u: '{H}', u: '{H}'}}\n", None),
    ("y_users_scalar", "basic_auth_users: 5\n", None),
    ("y_users_list", "basic_auth_users: [a]\n", None),
    ("y_user_complex_key", "basic_auth_users: {[a]: b}\n", None),
    ("y_headers_binary", "http_server_config:\n  headers: !!binary WC1GcmFtZS1PcHRpb25z\n", None),
    ("y_header_binary", headers("X-Frame-Options: !!binary ZGVueQ=="), None),
    ("y_header_bad_base64", headers("X-Frame-Options: !!binary ZGVueQ"), None),
    ("y_auth_binary", tls("client_auth_type: !!binary UmVxdWlyZUFuZFZlcmlmeUNsaWVudENlcnQ="),
     None),
    ("y_bool_tag", "http_server_config:\n  http2: !!bool y\n", None),
    ("y_int_tag_on_bool", "http_server_config:\n  http2: !!int y\n", None),
    ("y_bool_TRUE", "http_server_config:\n  http2: TRUE\n", None),
    ("y_bool_mixed_case", "http_server_config:\n  http2: tRUE\n", None),
    ("y_bool_timestamp", "http_server_config:\n  http2: 2001-02-03\n", None),
    ("y_bool_quoted", 'tls_server_config:\n  prefer_server_cipher_suites: "true"\n', None),
    ("y_http2_null", "http_server_config:\n  http2: ~\n", None),
    ("y_http_null", "http_server_config: ~\n", None),
    ("y_document_null", "~\n", None),
    ("y_document_empty", "---\n", None),
    ("y_merge_then_own", "tls_server_config:\n  cert_file: nonexist.crt\n"
     "  <<: {cert_file: server.crt}\n  key_file: server.key\n", None),
    ("y_merge_list_first_wins", "tls_server_config:\n  <<: [{cert_file: server.crt}, "
     "{cert_file: nonexist.crt}]\n  key_file: server.key\n", None),
    ("y_merge_header_twice", headers("<<: {X-Frame-Options: deny}", "X-Frame-Options: deny"),
     None),
    ("y_merge_users_then_users", "<<: {basic_auth_users: {}}\nbasic_auth_users: {}\n", None),
    ("y_merge_recursive", "tls_server_config: &a {<<: *a}\n", None),
    ("y_merge_null", "http_server_config:\n  <<: ~\n", None),
    ("y_merge_quoted", '"<<": {}\n', None),
    ("y_quoted_key", '"tls_server_config": {}\n', None),
    ("y_null_key", "~: 1\n", None),
    ("y_cert_file_list", "tls_server_config:\n  cert_file: [a]\n", None),
    ("y_cert_file_map", "tls_server_config:\n  cert_file: {a: b}\n", None),
    ("y_version_list", tls("min_version: [TLS12]"), None),
    ("y_cipher_nested", tls("cipher_suites: [[a]]"), None),
    ("y_cipher_map", tls("cipher_suites: {}"), None),
    ("y_wrong_tag", "tls_server_config:\n  key_file: !!int abcdefghijklmnop\n", None),
    ("y_local_tag", "tls_server_config:\n  key_file: !foo abcdefghijklmnop\n", None),
    ("y_curves_without_tls", "tls_server_config:\n  curve_preferences: [X25519, CurveP256]\n",
     None),
    ("y_requireany_without_cert", "tls_server_config: {client_auth_type: RequireAnyClientCert}",
     None),
    # what only reading the key material decides
    ("f_cert_missing", "tls_server_config: {cert_file: missing.crt, key_file: server.key}", None),
    ("f_key_missing", "tls_server_config: {cert_file: server.crt, key_file: missing.key}", None),
    ("f_key_mismatch", "tls_server_config: {cert_file: server.crt, key_file: other.key}", None),
    ("f_ca_missing", tls("client_auth_type: RequireAndVerifyClientCert",
                         "client_ca_file: somefile"), None),
    ("f_ca_empty", tls("client_auth_type: RequireAndVerifyClientCert",
                       "client_ca_file: /dev/null"), None),
    ("f_verify_system_roots", tls("client_auth_type: RequireAndVerifyClientCert"), None),
    ("f_ca_given", tls("client_auth_type: VerifyClientCertIfGiven",
                       "client_ca_file: client_selfsigned.pem"), None),
)
# fmt: on


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus's files, beside the key pair and client certificates they name."""
    directory = tmp_path_factory.mktemp("webconfig")
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(directory / "server.crt"))
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    ca.issue_cert("other").private_key_pem.write_to_path(str(directory / "other.key"))
    for name, common_name in (("client_selfsigned", "test"), ("client2_selfsigned", "test3")):
        trustme.CA().issue_cert(common_name).cert_chain_pems[0].write_to_path(
            str(directory / f"{name}.pem")
        )
    inline = {
        "    CERT\n": server.cert_chain_pems[0].bytes().decode(),
        "    KEY\n": server.private_key_pem.bytes().decode(),
    }
    for name, text, _ in CASES:
        for placeholder, pem in inline.items():
            text = text.replace(placeholder, "".join(f"    {line}\n" for line in pem.splitlines()))
        (directory / f"{name}.yml").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def promtool_verdicts(promtool: str, corpus: Path) -> dict[str, bool]:
    """promtool's verdict on every file, from one run over the whole corpus."""
    files = [f"{name}.yml" for name, _, _ in CASES]
    result = subprocess.run(
        [promtool, "check", "web-config", *files],
        cwd=corpus,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = dict(re.findall(r"^(\S+)\.yml (SUCCESS|FAILED)", result.stderr, re.MULTILINE))
    assert set(found) == {name for name, _, _ in CASES}, result.stderr
    return {name: verdict == "SUCCESS" for name, verdict in found.items()}


def ours(name: str, corpus: Path) -> tuple[bool, str]:
    try:
        validate_web_config(str(corpus / f"{name}.yml"))
    except WebConfigError as exc:
        return False, str(exc)
    return True, ""


@pytest.mark.parametrize(("name", "text", "divergence"), CASES, ids=[c[0] for c in CASES])
def test_our_verdict_is_promtools_or_a_documented_divergence(
    name: str, text: str, divergence: str | None, promtool_verdicts: dict[str, bool], corpus: Path
) -> None:
    """Valid for both or invalid for both, unless the case names why it differs."""
    theirs = promtool_verdicts[name]
    verdict, problem = ours(name, corpus)
    if divergence is None:
        assert verdict == theirs, f"promtool says {theirs}, we say {verdict}: {problem}"
    else:
        expected = DIVERGENCES[divergence]
        assert (verdict, theirs) == (expected.ours, not expected.ours), (
            f"documented divergence {divergence!r} no longer holds: {problem}"
        )


def test_every_divergence_is_exercised_and_every_case_named_uniquely() -> None:
    """No divergence is listed without a case showing it; no case shadows another."""
    assert {divergence for _, _, divergence in CASES} - {None} == set(DIVERGENCES)
    assert len({name for name, _, _ in CASES}) == len(CASES)
