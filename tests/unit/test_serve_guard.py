"""What serve accepts from a page: its messages, its size, the Host it was loaded from."""

from __future__ import annotations

import socket

import pytest

from sandbox.web.guard import HostCheck, Message, dimension, page_message


@pytest.mark.parametrize(("raw", "expected"), [
    ('["stdin", "n"]', Message("stdin", text="n")),
    ('["resize", {"width": 120, "height": 40}]', Message("resize", width=120, height=40)),
    ('["resize", {"width": 30000, "height": 30000}]', Message("resize", width=500, height=200)),
    ('["ping", "1733300000000"]', Message("ping", text="1733300000000")),
    ('["blur"]', Message("blur")), ('["focus"]', Message("focus")),
    ('["resize", {"width": "120", "height": "40"}]', Message("resize", width=120, height=40)),
    ('["resize", {"width": "١٢٠", "height": "40"}]', None),  # Arabic-Indic digits
    ('["resize", {"width": 1e3, "height": 40}]', None), ('["resize", {"width": null}]', None),
    ('["stdin", "\\udc80"]', None), ('["focus", "now"]', None), ('["Stdin", "n"]', None),
    ("[" * 50_000, None), ('{"stdin": "n"}', None), ("", None)])
def test_only_what_the_page_sends_is_a_message(raw: str, expected: Message | None) -> None:
    assert page_message(raw) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("80", 80), ("0080", 80), ("501", 500), ("0", None), ("-5", None), ("", None), ("²", None),
    ("9" * 7, None), (" 80", None), (80, 80), (True, None), (80.0, None), (None, None)])
def test_a_dimension_is_a_whole_number_of_cells_and_capped(value: object,
                                                            expected: int | None) -> None:
    assert dimension(value, 500) == expected


def test_loopback_serving_answers_loopback_and_the_names_it_was_given() -> None:
    check = HostCheck("127.0.0.1", public=False, allowed=["Sandbox.Internal"])
    for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "127.0.0.2", "sandbox.internal:80"):
        assert check.allows(host), host
    for host in ("rebound.example", socket.gethostname(), "192.0.2.1", "[::1", ""):
        assert not check.allows(host), host


def test_public_serving_answers_this_machines_names_never_any_name() -> None:
    check = HostCheck("0.0.0.0", public=True)
    assert check.allows(f"{socket.gethostname()}:8000")
    assert check.allows(f"{socket.gethostname().split('.')[0]}.local")
    for host in ("attacker.example", "0.0.0.0", "203.0.113.9", "239.1.1.1", "[ff02::1]",
                 f"{socket.gethostname()}.attacker.example"):
        assert not check.allows(host), host


@pytest.mark.parametrize("host", [
    "127.0.0.1:8000, rebound.example", "127.0.0.1, rebound.example", "localhost,localhost",
    "127.0.0.1 rebound.example", "127.0.0.1:8000 ", " 127.0.0.1", "127.0.0.1\t", "user@127.0.0.1",
    "rebound.example@127.0.0.1:8000", "127.0.0.1/x", "localhost#frag", "localhost?q=1",
    "localhost:abc", "localhost:", "localhost:123456", "127.0.0.1:80:80", "[::1]x", "[::1]:80,a",
    "local%68ost", "[::1%25eth0,a]"])
def test_a_host_header_must_be_exactly_one_name_or_address_and_port(host: str) -> None:
    """A Host that lists several (``127.0.0.1:8000, rebound.example``) or carries more than a
    name and a port is no Host a browser sends: turned away whole, not read up to its comma."""
    for check in (HostCheck("127.0.0.1", public=False), HostCheck("0.0.0.0", public=True)):
        assert not check.allows(host), host


def test_every_form_of_one_loopback_host_is_still_served() -> None:
    check = HostCheck("127.0.0.1", public=False)
    for host in ("127.0.0.1", "127.0.0.1:65535", "LOCALHOST:8000", "[::1]", "[::1]:8000",
                 "[0:0:0:0:0:0:0:1]:1", "127.0.0.1:08000"):
        assert check.allows(host), host
