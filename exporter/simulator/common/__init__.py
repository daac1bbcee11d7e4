"""What both simulated worlds are built from, whichever API they play.

- :mod:`.world`: :class:`~.world.SlotWorld`, the skeleton both worlds share (slots,
  inserted sessions, lookup by id, the clock);
- :mod:`.cycles`: slots that run one session after another, advanced lazily;
- :mod:`.seeded`: deterministic random streams keyed by the seed and a path;
- :mod:`.sorted_index`: an ordered index updated one entry at a time;
- :mod:`.clock`: :class:`~.clock.FakeClock`, the settable clock tests drive the world with.
"""
