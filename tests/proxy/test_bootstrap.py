"""The rendered Envoy bootstrap: accepted by the real Envoy's validator, and shaped as the design needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from seed_data import SEED_ENV, seed_config_data

from brightstaff.config import ConfigError, parse_config
from brightstaff.proxy.bootstrap import EXTPROC_CLUSTER, render_envoy
from brightstaff.proxy.envoy_process import validate_envoy_config

SEED = Path(__file__).resolve().parents[2] / "examples" / "plano-model-affinity.yaml"  # the seed config, unchanged


def hcm(bootstrap: dict[str, Any]) -> dict[str, Any]:
    listener = bootstrap["static_resources"]["listeners"][0]
    typed: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return typed


def filters(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f["typed_config"] for f in hcm(bootstrap)["http_filters"]}


def clusters(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}


@pytest.mark.parametrize("failure_mode", ["closed", "open"])
def test_envoy_accepts_the_rendered_config(tmp_path: Path, failure_mode: str) -> None:
    bootstrap = render_envoy(parse_config(seed_config_data(failure_mode=failure_mode), SEED_ENV))
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(bootstrap), encoding="utf-8")
    ok, output = validate_envoy_config(path)
    assert ok, output


def test_seed_config_with_https_providers_renders_tls_and_validates(tmp_path: Path) -> None:
    from brightstaff.config import load_config

    bootstrap = render_envoy(load_config(SEED, env=SEED_ENV))
    anthropic = clusters(bootstrap)["provider_anthropic_claude-sonnet-4-20250514"]
    tls = anthropic["transport_socket"]["typed_config"]
    assert tls["sni"] == "api.anthropic.com"
    assert Path(tls["common_tls_context"]["validation_context"]["trusted_ca"]["filename"]).is_file()
    assert anthropic["type"] == "LOGICAL_DNS"
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(bootstrap), encoding="utf-8")
    ok, output = validate_envoy_config(path)
    assert ok, output


def test_no_credential_is_ever_rendered() -> None:
    text = yaml.safe_dump(render_envoy(parse_config(seed_config_data(), SEED_ENV)))
    assert "sk-test" not in text


def test_client_copies_of_every_internal_header_are_stripped_before_ext_proc() -> None:
    bootstrap = render_envoy(parse_config(seed_config_data(), SEED_ENV))
    names = [f["name"] for f in hcm(bootstrap)["http_filters"]]
    assert names == [
        "envoy.filters.http.header_mutation",
        "envoy.filters.http.decompressor",
        "envoy.filters.http.buffer",
        "envoy.filters.http.ext_proc",
        "envoy.filters.http.router",
    ]
    strip = [{"remove_on_match": {"key_matcher": {"prefix": "x-brightstaff-"}}}]
    assert filters(bootstrap)["envoy.filters.http.header_mutation"]["mutations"]["request_mutations"] == strip
    (early,) = hcm(bootstrap)["early_header_mutation_extensions"]
    assert early["typed_config"]["mutations"] == strip


def test_ext_proc_processing_mode_and_limits() -> None:
    config = parse_config(seed_config_data(message_timeout_ms=1500, max_request_body_bytes=8 * 1024 * 1024), SEED_ENV)
    bootstrap = render_envoy(config)
    ext_proc = filters(bootstrap)["envoy.filters.http.ext_proc"]
    mode = ext_proc["processing_mode"]
    assert (mode["request_header_mode"], mode["request_body_mode"]) == ("SEND", "BUFFERED")
    assert (mode["response_header_mode"], mode["response_body_mode"]) == ("SKIP", "NONE")
    assert ext_proc["message_timeout"] == "1.5s"
    assert ext_proc["failure_mode_allow"] is False
    assert ext_proc["status_on_error"] == {"code": 503}
    # Room for brightstaff's rewrite over the client-side limit, which brightstaff enforces itself.
    envoy_limit = 10 * 1024 * 1024
    assert config.server.envoy_body_limit_bytes == envoy_limit
    assert bootstrap["static_resources"]["listeners"][0]["per_connection_buffer_limit_bytes"] == envoy_limit
    assert filters(bootstrap)["envoy.filters.http.buffer"]["max_request_bytes"] == envoy_limit
    extproc = clusters(bootstrap)[EXTPROC_CLUSTER]
    http_options = extproc["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert "http2_protocol_options" in http_options["explicit_http_config"]


def test_one_route_per_provider_on_the_decision_header() -> None:
    bootstrap = render_envoy(parse_config(seed_config_data(), SEED_ENV))
    routes = hcm(bootstrap)["route_config"]["virtual_hosts"][0]["routes"]
    by_cluster = {r["route"]["cluster"]: r for r in routes if "route" in r}
    assert set(by_cluster) == {
        "provider_openai_gpt-4o-mini",
        "provider_openai_gpt-4o",
        "provider_anthropic_claude-sonnet-4-20250514",
    }
    claude = by_cluster["provider_anthropic_claude-sonnet-4-20250514"]
    assert claude["match"]["headers"][0] == {
        "name": "x-brightstaff-provider",
        "string_match": {"exact": "provider_anthropic_claude-sonnet-4-20250514"},
    }
    assert claude["route"]["host_rewrite_literal"] == "127.0.0.1:9002"
    assert routes[-1]["name"] == "unrouted"
    assert routes[-1]["direct_response"]["status"] == 503


def test_fail_open_falls_back_to_the_default_provider_with_its_key_and_model() -> None:
    bootstrap = render_envoy(parse_config(seed_config_data(failure_mode="open"), SEED_ENV))
    routes = hcm(bootstrap)["route_config"]["virtual_hosts"][0]["routes"]
    fail_open = {r["match"]["path"]: r for r in routes if r["name"].startswith("fail_open")}
    # The default speaks OpenAI's API: its endpoints, not Anthropic's nor the routing service (brightstaff's).
    assert set(fail_open) == {"/v1/chat/completions", "/chat/completions", "/v1/responses"}
    chat = fail_open["/v1/chat/completions"]
    assert chat["route"]["cluster"] == "provider_openai_gpt-4o-mini"
    assert chat["route"]["prefix_rewrite"] == "/v1/chat/completions"
    # The key as Envoy reads it from the environment at request time: never its value.
    assert chat["request_headers_to_add"][0]["header"] == {
        "key": "authorization",
        "value": "Bearer %ENVIRONMENT(OPENAI_API_KEY)%",
    }
    assert "authorization" in chat["request_headers_to_remove"]
    transform = chat["typed_per_filter_config"]["envoy.filters.http.transform"]["request_transformation"]
    assert transform["body_transformation"]["body_format"]["json_format"] == {"model": "gpt-4o-mini"}
    assert routes[-1]["name"] == "unrouted"  # any other request: a JSON 503
    assert filters(bootstrap)["envoy.filters.http.ext_proc"]["failure_mode_allow"] is True


def test_fail_open_refuses_an_inline_default_key() -> None:
    data = seed_config_data(failure_mode="open")
    data["model_providers"][0]["access_key"] = "sk-inline-0000"
    with pytest.raises(ConfigError) as error:
        parse_config(data, SEED_ENV)
    assert error.value.path == "model_providers[0].access_key"
    assert "failure_mode: open" in str(error.value)


def test_overrides_for_tests_and_containers() -> None:
    bootstrap = render_envoy(
        parse_config(seed_config_data(), SEED_ENV), extproc_host="brightstaff", extproc_port=1234, listener_port=5555
    )
    endpoint = clusters(bootstrap)[EXTPROC_CLUSTER]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert endpoint["endpoint"]["address"]["socket_address"] == {"address": "brightstaff", "port_value": 1234}
    assert clusters(bootstrap)[EXTPROC_CLUSTER]["type"] == "LOGICAL_DNS"
    listener = bootstrap["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"]["port_value"] == 5555


def plano_keys_config(failure_mode: str = "closed") -> dict[str, Any]:
    """The seed config with Plano's listener max_retries, and a provider with http_host and headers."""
    data = seed_config_data(failure_mode=failure_mode)
    data["listeners"][0]["max_retries"] = 3
    data["model_providers"][0].update(
        http_host="llm.internal.example", headers={"X-Tenant": "research", "X-Quota": "50%"}
    )
    return data


def provider_routes(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in hcm(bootstrap)["route_config"]["virtual_hosts"][0]["routes"]}


@pytest.mark.parametrize("failure_mode", ["closed", "open"])
def test_plano_listener_retries_http_host_and_headers_render_and_validate(tmp_path: Path, failure_mode: str) -> None:
    bootstrap = render_envoy(parse_config(plano_keys_config(failure_mode), SEED_ENV))
    routes = provider_routes(bootstrap)
    mini = routes["to_provider_openai_gpt-4o-mini"]
    assert mini["route"]["retry_policy"] == {
        "retry_on": "5xx,reset,connect-failure,refused-stream",
        "num_retries": 3,
        "retry_back_off": {"base_interval": "0.5s", "max_interval": "5s"},
    }
    assert mini["route"]["host_rewrite_literal"] == "llm.internal.example"
    assert mini["request_headers_to_add"] == [
        {"header": {"key": "x-tenant", "value": "research"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
        {"header": {"key": "x-quota", "value": "50%%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
    ]
    big = routes["to_provider_openai_gpt-4o"]
    assert "request_headers_to_add" not in big and big["route"]["retry_policy"]["num_retries"] == 3
    if failure_mode == "open":
        fail_open = routes["fail_open_v1_chat_completions"]
        assert fail_open["route"] == {**mini["route"], "prefix_rewrite": "/v1/chat/completions"}
        assert fail_open["request_headers_to_add"][1:] == mini["request_headers_to_add"]
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(bootstrap), encoding="utf-8")
    ok, output = validate_envoy_config(path)
    assert ok, output


def test_no_retry_policy_without_max_retries() -> None:
    routes = provider_routes(render_envoy(parse_config(seed_config_data(), SEED_ENV)))
    assert not any("retry_policy" in r.get("route", {}) for r in routes.values())


def test_an_exclusive_listener_turns_off_so_reuseport() -> None:
    config = parse_config(seed_config_data(), SEED_ENV)
    assert "enable_reuse_port" not in render_envoy(config)["static_resources"]["listeners"][0]  # Envoy's default
    listener = render_envoy(config, exclusive_listener=True)["static_resources"]["listeners"][0]
    assert listener["enable_reuse_port"] is False
