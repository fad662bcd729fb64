"""The compiled WebSocket listener (``_wslistener.pyx``): the interface of ``ws._Listener``."""

from collections.abc import Callable

from picows import WSFrame, WSListener, WSTransport
from typing_extensions import disjoint_base

from hedgekit.venues.transport.ws import WsClient

@disjoint_base
class Listener(WSListener):
    """Reassembles frames into messages and feeds the client; one per connection."""

    acks_missing: int
    frames: int
    def __init__(self, client: WsClient) -> None: ...
    def expect_acks(
        self, count: int, is_ack: Callable[[memoryview | bytes], bool], on_acked: Callable[[], None]
    ) -> None: ...
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None: ...
    def on_ws_disconnected(self, transport: WSTransport) -> None: ...
