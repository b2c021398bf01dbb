"""A store that stops answering: /scim/v2 answers a SCIM 503 with Retry-After, never a stack
trace (a real redis-server, stopped under a live provider)."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from idp.scim import SCOPE
from tests.conftest import make_settings
from tests.live_server import free_port
from tests.oidc.helpers import Clock, add_client, build_env_services, provider_env
from tests.redis_servers import RedisStandalone
from tests.scim.helpers import scim_http, token


def test_a_store_outage_is_a_scim_503(tmp_path: Path) -> None:
    port = free_port()
    with RedisStandalone() as redis_server:
        settings = make_settings(tmp_path, server={"issuer": f"http://127.0.0.1:{port}"},
                                 store={"url": redis_server.url, "retries": 1})
        with (
            closing(build_env_services(settings, Clock())) as services,
            provider_env(tmp_path, port=port, services=services) as env,
        ):
            add_client(env, "dir", admin_scopes=[SCOPE],
                       grant_types=["client_credentials"], redirect_uris=[],
                       post_logout_redirect_uris=[])
            with scim_http(env, token(env, "dir")) as http:
                assert http.get("/Users").status_code == 200
                redis_server.stop()
                answer = http.get("/Users")
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    body = answer.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "503"
    assert "Traceback" not in answer.text
    assert answer.headers["content-type"].startswith("application/scim+json")
