# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
# cython: auto_pickle=False, autotestdict=False
"""The compiled WebSocket listener of :class:`hedgekit.venues.transport.WsClient`.

A port of ``hedgekit.venues.transport.ws._Listener`` to picows' Cython API, line for line the
same behaviour: frames reassembled into messages (a message that fits one frame is handed on as
a ``memoryview`` of picows' read buffer, a fragmented one is copied once), the venue's small
keepalive messages offered to the client first, subscription acks counted, a failing handler
logged and counted without costing the connection, a close frame answered, and the frame count
the client's silence watchdog reads.

Built next to ``ws.py`` by ``build_ext.py`` (``make build-prod``) against the picows it cimports:
the class below subclasses picows' ``WSListener`` cdef class, so the module is tied to that
picows minor version and to the CPython version it was compiled for. ``ws.py`` falls back to the
Python listener when this module does not import.
"""

import logging

from picows.picows cimport WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

cdef object log = logging.getLogger("hedgekit.transport")

# messages up to this size are checked against the keepalive's pong/ping shapes (ws._SMALL)
cdef Py_ssize_t _SMALL = 128


cdef class Listener(WSListener):
    """Reassembles frames into messages and feeds the client; one per connection.

    The hot path (a whole message in one frame) reads no clock and makes no copy: the watchdog
    tells a silent socket by :attr:`frames` not moving between its ticks."""

    cdef object _client
    cdef object _on_message
    cdef bint _check_small
    cdef bytearray _parts
    cdef object _is_ack
    cdef object _on_acked
    cdef public Py_ssize_t acks_missing
    """Subscription acks still awaited on this connection (see :meth:`expect_acks`)."""
    cdef public unsigned long long frames
    """Frames received on this connection."""

    def __init__(self, client):
        self._client = client
        self._on_message = client._on_message
        self._check_small = client._check_small
        self._parts = None
        self._is_ack = None
        self._on_acked = None
        self.acks_missing = 0
        self.frames = 0

    def expect_acks(self, Py_ssize_t count, is_ack, on_acked):
        """Counts the next ``count`` messages ``is_ack`` recognises; calls ``on_acked()`` when
        the last of them arrives."""
        self._is_ack = is_ack
        self._on_acked = on_acked
        self.acks_missing = count

    cpdef on_ws_frame(self, WSTransport transport, WSFrame frame):
        cdef WSMsgType kind = frame.msg_type
        self.frames += 1
        if kind == WSMsgType.TEXT or kind == WSMsgType.BINARY:
            if self._parts is not None:
                self._parts = None
                log.warning("%s: a message began inside another; the first is dropped",
                            self._client.venue)
            if frame.fin:
                self._deliver(frame.get_payload_as_memoryview(), frame.payload_size)
            else:
                self._parts = bytearray(frame.get_payload_as_memoryview())
        elif kind == WSMsgType.CONTINUATION:
            self._continue(transport, frame)
        elif kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        # PING frames are answered by picows (enable_auto_pong); PONG frames only count as life.

    cdef int _continue(self, WSTransport transport, WSFrame frame) except -1:
        cdef bytearray parts = self._parts
        client = self._client
        if parts is None:
            log.warning("%s: a continuation frame without a message; dropped", client.venue)
            return 0
        parts += frame.get_payload_as_memoryview()
        if len(parts) > client.max_message_bytes:
            log.warning("%s: a message above %d bytes; connection dropped", client.venue,
                        client.max_message_bytes)
            self._parts = None
            transport.send_close(WSCloseCode.MESSAGE_TOO_BIG)
            transport.disconnect(False)
            return 0
        if frame.fin:
            self._parts = None
            self._deliver(memoryview(parts), len(parts))
        return 0

    cdef int _deliver(self, payload, Py_ssize_t size) except -1:
        if self._check_small and size <= _SMALL and self._client._keepalive_message(payload):
            return 0
        if self.acks_missing:
            self._count_ack(payload)
        try:
            self._on_message(payload)
        except Exception:
            self._client.handler_errors += 1
            log.exception("%s: a message handler failed; the message is skipped",
                          self._client.venue)
        return 0

    cdef int _count_ack(self, payload) except -1:
        if self._is_ack is not None and self._is_ack(payload):
            self.acks_missing -= 1
            if self.acks_missing == 0 and self._on_acked is not None:
                self._on_acked()
        return 0

    cpdef on_ws_disconnected(self, WSTransport transport):
        self._client._on_disconnected(transport)
