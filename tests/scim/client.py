"""A scim2-client engine over httpx (scim2-client ships one for httpx2, which this project
does not install): the same three methods its own engine has, over a real HTTP client."""

from __future__ import annotations

from typing import Any, cast

import httpx
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from scim2_client.errors import RequestNetworkException

__all__ = ["HttpxSCIMClient"]


class HttpxSCIMClient(BaseSyncSCIMClient):
    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        try:
            url = self.client.build_request("GET", endpoint).url
        except httpx.InvalidURL:
            return False
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port) and (
            url.raw_path.startswith(base.raw_path))

    def _parse_json(self, response: RawResponse) -> Any:
        return cast(httpx.Response, response).json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            raised = RequestNetworkException()
            raised.add_note(str(exc))
            raise raised from exc
