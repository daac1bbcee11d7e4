"""Which LiveKit sessions get their details refreshed in a poll, and the details so far.

Details cost one request per session, and all requests of a project share one budget, so when
there are more active sessions than a poll's budget allows, details are refreshed round-robin:
each poll refreshes first the sessions never fetched (in list order), then the ones refreshed
longest ago. A session refreshed in this poll goes to the back of the line, so with ``N``
active sessions and ``k`` refreshes a poll, every session is refreshed at least once every
``ceil(N / k)`` polls, and a new session is fetched in the first poll that has budget left.

Entries of sessions that are no longer active are dropped at each plan, so the cache holds at
most the active sessions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from exporter.sources.livekit.wire import SessionDetails

__all__ = ["DetailsCache"]


@dataclass(slots=True)
class _Entry:
    details: SessionDetails | None
    """Last good details, or None (the session vanished from the details endpoint)."""
    turn: int
    """When this session was last refreshed (or tried): its place in the line of all plans."""


class DetailsCache:
    """Details per active session and a round-robin refresh plan; not thread-safe (one loop)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._turns: dict[str, int] = {}
        self._next_turn = 0

    def plan(self, active: Sequence[str], allowance: int) -> list[str]:
        """Up to ``allowance`` of the ``active`` session ids to refresh now, in order; forgets
        sessions not in ``active``."""
        wanted = set(active)
        for session_id in [sid for sid in self._entries if sid not in wanted]:
            del self._entries[session_id]
        position = {session_id: index for index, session_id in enumerate(active)}

        def due(session_id: str) -> tuple[int, int]:
            entry = self._entries.get(session_id)
            return (-1 if entry is None else entry.turn, position[session_id])

        planned = sorted(position, key=due)[: max(allowance, 0)]
        self._turns = {}
        for session_id in planned:
            self._turns[session_id] = self._take_turn()
        return planned

    def store(self, session_id: str, details: SessionDetails | None) -> None:
        """Record a refresh: new details, or None when the session has no details (404)."""
        self._entries[session_id] = _Entry(details, self._turn_of(session_id))

    def tried(self, session_id: str) -> None:
        """Record a refresh whose answer was unusable: keep the old details, move on."""
        entry = self._entries.get(session_id)
        previous = None if entry is None else entry.details
        self._entries[session_id] = _Entry(previous, self._turn_of(session_id))

    def known(self) -> Mapping[str, SessionDetails]:
        """The details known for each session, from whichever poll fetched them last."""
        return {sid: e.details for sid, e in self._entries.items() if e.details is not None}

    def clear(self) -> None:
        self._entries.clear()

    def _turn_of(self, session_id: str) -> int:
        """The turn planned for ``session_id``, so refreshes finishing out of order keep the
        plan's order in the line."""
        turn = self._turns.pop(session_id, None)
        return self._take_turn() if turn is None else turn

    def _take_turn(self) -> int:
        self._next_turn += 1
        return self._next_turn
