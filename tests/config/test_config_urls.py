"""The one http(s) URL validator, behind every provider and router `base_url` (issue 12, item 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from brightstaff.cli import main
from brightstaff.config import ConfigError, parse_config
from brightstaff.config.fields import http_url

BAD_URLS = [
    pytest.param("http://h:70000/v1", "the port is not a number between 1 and 65535", id="port-out-of-range"),
    pytest.param("http://h:1:2/v1", "the port is not a number between 1 and 65535", id="two-ports"),
    pytest.param("http://h:0/v1", "the port is not a number between 1 and 65535", id="port-zero"),
    pytest.param("http://h:port/v1", "the port is not a number between 1 and 65535", id="port-not-a-number"),
    pytest.param("http://my host/v1", "must not contain spaces", id="space-in-host"),
    pytest.param("http://h/v\t1", "must not contain spaces", id="tab-in-path"),
    pytest.param("http://user:pw@h/v1", "must not carry credentials", id="credentials"),
    pytest.param("http://token@h/v1", "must not carry credentials", id="user-only"),
    pytest.param("http://h/v1?key=1", "must not carry a query or fragment", id="query"),
    pytest.param("http://h/v1#x", "must not carry a query or fragment", id="fragment"),
    pytest.param("ftp://h/v1", "expected an http(s) URL", id="not-http"),
    pytest.param("h:8000/v1", "expected an http(s) URL", id="no-scheme"),
    pytest.param("http:///v1", "expected an http(s) URL", id="no-host"),
    pytest.param("http://[::1/v1", "expected an http(s) URL", id="unclosed-ipv6"),
    pytest.param("http://a..b/v1", "not a valid host name", id="empty-label"),
    pytest.param("http://-h/v1", "not a valid host name", id="leading-dash"),
    pytest.param("http://h%20x/v1", "not a valid host name", id="escaped-space"),
    pytest.param("", "expected an http(s) URL", id="empty"),
    pytest.param(8000, "expected an http(s) URL", id="not-a-string"),
]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://api.openai.com/v1/", "https://api.openai.com/v1", id="trailing-slash"),
        pytest.param("http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1", id="ipv4-port"),
        pytest.param("http://[::1]:65535/v1", "http://[::1]:65535/v1", id="ipv6-highest-port"),
        pytest.param("http://fake_openai:8000", "http://fake_openai:8000", id="service-name"),
        pytest.param("  http://localhost:1/v1  ", "http://localhost:1/v1", id="surrounding-spaces"),
    ],
)
def test_good_urls_pass_without_their_trailing_slash(url: str, expected: str) -> None:
    assert http_url(url, "x.base_url") == expected


@pytest.mark.parametrize(("url", "says"), BAD_URLS)
def test_bad_urls_are_refused_saying_why(url: Any, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        http_url(url, "x.base_url")
    assert info.value.path == "x.base_url"
    assert says in info.value.message


def test_credentials_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        http_url("http://user:s3cret@h/v1", "x")
    assert "s3cret" not in str(info.value)


def provider_data(url: Any) -> dict[str, Any]:
    return {"model_providers": [{"model": "openai/gpt-4o", "base_url": url}]}


def router_data(url: Any) -> dict[str, Any]:
    return {
        "model_providers": [{"model": "openai/gpt-4o", "base_url": "http://127.0.0.1:9/v1"}],
        "routing": {"router": {"type": "llm", "model": "Arch-Router", "base_url": url}},
    }


@pytest.mark.parametrize(
    ("build", "path"),
    [(provider_data, "model_providers[0].base_url"), (router_data, "routing.router.base_url")],
    ids=["provider", "router"],
)
@pytest.mark.parametrize(("url", "says"), BAD_URLS)
def test_provider_and_router_base_urls_share_the_validator(build: Any, path: str, url: Any, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(build(url), env={})
    assert (info.value.path, says in info.value.message) == (path, True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:70000/v1", "http://127.0.0.1:1:2/v1"], ids=["70000", "1:2"])
def test_check_config_names_a_bad_port_instead_of_a_traceback_after_ok(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(provider_data(url)), encoding="utf-8")
    assert main(["check-config", str(path)]) == 2
    captured = capsys.readouterr()
    assert "OK" not in captured.out
    assert "config error: model_providers[0].base_url: the port is not a number between 1 and 65535" in captured.err
