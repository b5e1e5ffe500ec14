"""Fixtures: one real ``spasm-advisor serve`` for the session, HTTP clients, a stub FHIR server.

Tests that need other settings (JWT) start their own server with
:func:`service_support.running_server`.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from service_support import FhirStub, Server, running_server


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("service")) as running:
        yield running


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


@pytest.fixture
def fhir_stub() -> Iterator[FhirStub]:
    with FhirStub() as stub:
        yield stub
