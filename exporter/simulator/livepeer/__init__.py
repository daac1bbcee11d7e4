"""The simulated Livepeer Studio sessions API: one project's streams and their sessions.

- :mod:`.model`: the seeded plan of streams, sessions and health episodes;
- :mod:`.truth`: what is true of a session at an instant (the values tests compare with);
- :mod:`.world`: the evolving world of sessions on the injected clock;
- :mod:`.encoding`: sessions as Studio encodes them (with the parent stream record);
- :mod:`.query` and :mod:`.filters`: ``GET /session``'s query string and ``filters``;
- :mod:`.app`: the ASGI app serving ``GET /session`` with Link-header cursors and its errors.
"""
