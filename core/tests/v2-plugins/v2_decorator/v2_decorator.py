"""A decorator written the v2 way: it sees the whole response."""

from typing import Optional

from stoq.data_classes import DecoratorResponse, StoqResponse
from stoq.plugins import DecoratorPlugin


class V2Decorator(DecoratorPlugin):
    def decorate(self, response: StoqResponse) -> Optional[DecoratorResponse]:
        worker_results = sum(len(r) for result in response.results for r in result.workers)
        return DecoratorResponse({'payloads': len(response.results), 'worker_results': worker_results})
