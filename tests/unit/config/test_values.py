"""Flag value parsers: listen addresses, booleans, bounded integers, URLs and durations."""

from __future__ import annotations

import pytest

from exporter.config.values import BOOLEAN, URL, ListenAddress, integer, min_duration


@pytest.mark.parametrize(
    ("address", "parsed"),
    [(":9877", ("", 9877)), ("127.0.0.1:0", ("127.0.0.1", 0)), ("[::1]:80", ("::1", 80))],
)
def test_parse_listen_address(address: str, parsed: tuple[str, int]) -> None:
    """host:port, :port and [v6]:port split into host and port, and print as given."""
    assert ListenAddress.parse(address) == ListenAddress(*parsed)
    assert str(ListenAddress.parse(address)) == address


def test_bad_address_says_why() -> None:
    """A malformed address raises ValueError with the accepted forms."""
    with pytest.raises(ValueError, match="host:port"):
        ListenAddress.parse("9877")


@pytest.mark.parametrize("address", ["9877", "::1:9877", "host:99999", "host:http"])
def test_bad_listen_addresses(address: str) -> None:
    """Addresses that are not host:port are refused."""
    with pytest.raises(ValueError, match=address.replace("[", r"\[")):
        ListenAddress.parse(address)


def test_booleans_take_words_and_say_what_is_accepted() -> None:
    """true/1/yes/on and false/0/no/off in any case; anything else names the accepted form."""
    assert [BOOLEAN.parse(w) for w in ("TRUE", " on ", "1", "no", "Off", "0")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(ValueError, match="not a boolean"):
        BOOLEAN.parse("maybe")


def test_integers_are_bounded_both_ways() -> None:
    """An integer parser refuses values outside its range, naming the bound."""
    pages = integer(1, 1000)
    assert (pages.parse("1"), pages.parse("1000")) == (1, 1000)
    with pytest.raises(ValueError, match="below the minimum 1"):
        pages.parse("0")
    with pytest.raises(ValueError, match="above the maximum 1000"):
        pages.parse("1001")


def test_urls_need_http_and_a_host_and_lose_the_trailing_slash() -> None:
    """Base URLs are http(s) with a host, returned without a trailing slash."""
    assert URL.parse("https://livepeer.studio/api/") == "https://livepeer.studio/api"
    for bad in ("ftp://x", "http://", "not a url"):
        with pytest.raises(ValueError, match="URL"):
            URL.parse(bad)


def test_duration_floors_explain_themselves() -> None:
    """A duration under its floor is refused with the reason the floor exists."""
    ttl = min_duration(60, "must be at least 1m")
    assert ttl.parse("1m") == 60
    with pytest.raises(ValueError, match="at least 1m"):
        ttl.parse("59s")
