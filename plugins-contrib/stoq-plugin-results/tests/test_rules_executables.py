"""The shipped rule that sends .NET assemblies from the pe worker's results to dotnet."""

from __future__ import annotations

from typing import Optional

from stoq import Payload, RequestMeta, WorkerResponse
from stoq.plugins import WorkerPlugin
from stoq.testing import make_stoq


class ClrFlag(WorkerPlugin):
    """Stands in for pe: reports ``dotnet`` as pe does, true when the content says CLR."""

    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"dotnet": payload.content.startswith(b"CLR")})


class Recorder(WorkerPlugin):
    def scan(self, payload: Payload, request_meta: RequestMeta) -> Optional[WorkerResponse]:
        return WorkerResponse({"ran": True})


def scan(content: bytes, **plugins: type):
    with make_stoq(
        plugins={"pe": ClrFlag, **plugins}, always_dispatch=["pe"], deep_dispatchers=["results"]
    ) as stoq:
        return stoq.scan(content)


def test_a_clr_header_sends_the_assembly_to_dotnet() -> None:
    response = scan(b"CLR assembly", dotnet=Recorder)
    assert response.errors == []
    result = response.results[0]
    assert result.workers[1] == {"dotnet": {"ran": True}}
    meta = result.deep_dispatch_meta["results"]["dotnet-clr-header"]
    assert meta["worker"] == "pe" and meta["matched"] is True and meta["dispatch"] == ["dotnet"]


def test_a_native_executable_is_not_sent() -> None:
    response = scan(b"native code", dotnet=Recorder)
    assert len(response.results[0].workers) == 1
    assert "dotnet-clr-header" not in response.results[0].deep_dispatch_meta.get("results", {})


def test_without_dotnet_installed_there_is_a_notice_not_an_error() -> None:
    response = scan(b"CLR assembly")
    assert response.errors == []
    assert response.results[0].deep_dispatch_meta["results"]["not_installed"] == ["dotnet"]
