"""A real HTTP client for the daemon tests (urllib in a thread, so the event loop keeps serving)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch_sync(url: str, method: str = "GET") -> Reply:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.headers["Content-Type"], response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers["Content-Type"], error.read())


async def fetch(url: str, method: str = "GET") -> Reply:
    return await asyncio.to_thread(fetch_sync, url, method)
