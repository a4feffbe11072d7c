"""The connection pool of provider calls: httpcore's pool with linear bookkeeping.

httpcore's pool re-examines itself whenever a request starts or a response closes. That pass
asks every connection whether it expired (a socket check for each idle one) and, for each idle
connection, counts the whole pool again: O(n^2) work per request with n pooled connections. With
20 streamed calls in flight it was about half of the event loop's time per provider call
(`bench/run_pipeline.py` under cProfile). This pool does the same bookkeeping in one pass:

- closed connections are dropped, and idle ones beyond `max_keepalive_connections` are closed
  (counting idle connections; httpcore counts all of them, which lets idle ones pile up);
- an idle connection's expiry (keep-alive timeout, or the server closed it) is checked when it is
  about to be reused, and for the whole pool at most once per `SWEEP_INTERVAL_S`, not on every pass.

It overrides one private method of httpcore 1.0 (pinned in requirements.txt); the test suite
checks that the method still exists, so an upgrade that changes it fails loudly instead of
silently falling back to the slow path.
"""

from __future__ import annotations

import time

import httpcore

# Idle connections are checked for expiry at least this often even when none is reused.
SWEEP_INTERVAL_S = 1.0


class ProviderConnectionPool(httpcore.AsyncConnectionPool):
    """`httpcore.AsyncConnectionPool` with a linear `_assign_requests_to_connections`."""

    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        """Tidy the pool and give queued requests connections; returns the connections to close.

        Called by the base class under its lock whenever a request is added or removed.
        """
        closing: list[httpcore.AsyncConnectionInterface] = []
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + SWEEP_INTERVAL_S
        kept: list[httpcore.AsyncConnectionInterface] = []
        idle = 0
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle():
                if idle >= self._max_keepalive_connections or (sweep and connection.has_expired()):
                    closing.append(connection)
                    continue
                idle += 1
            kept.append(connection)
        self._connections = kept

        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            chosen = self._reusable(origin, closing)
            if chosen is None:
                if len(self._connections) >= self._max_connections:
                    surplus = next((c for c in self._connections if c.is_idle()), None)
                    if surplus is None:
                        continue  # the pool is full of busy connections: the request waits
                    self._connections.remove(surplus)
                    closing.append(surplus)
                chosen = self.create_connection(origin)
                self._connections.append(chosen)
            pool_request.assign_to_connection(chosen)
        return closing

    def _reusable(
        self, origin: httpcore.Origin, closing: list[httpcore.AsyncConnectionInterface]
    ) -> httpcore.AsyncConnectionInterface | None:
        """The first live connection that can take a request for `origin`; expired ones go to `closing`."""
        for connection in list(self._connections):
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle() and connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None
