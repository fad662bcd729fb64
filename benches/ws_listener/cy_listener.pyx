# cython: language_level=3
"""The Cython frame → book listener measured against the Python one (benches/ws_listener.py).

Built by the bench with pyximport; not part of the wheel."""

from picows.picows cimport WSFrame, WSListener, WSTransport, WSMsgType


cdef class CyBookListener(WSListener):
    """Applies every complete text frame to a Rust order book; counts them."""

    cdef public object book
    cdef public long count
    cdef public object done
    cdef object apply
    cdef bytearray parts

    def __init__(self, book, done):
        self.book = book
        self.apply = book.apply_hyperliquid
        self.done = done
        self.count = 0
        self.parts = None

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        if frame.msg_type == WSMsgType.TEXT:
            if frame.fin:
                if frame.payload_size == 3:
                    self.done.set_result(self.count)
                    return
                self.apply(frame.get_payload_as_memoryview())
                self.count += 1
            else:
                self.parts = bytearray(frame.get_payload_as_memoryview())
        elif frame.msg_type == WSMsgType.CONTINUATION and self.parts is not None:
            self.parts += frame.get_payload_as_memoryview()
            if frame.fin:
                self.apply(memoryview(self.parts))
                self.parts = None
                self.count += 1
