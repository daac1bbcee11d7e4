"""The simulated LiveKit Cloud Analytics API: one project's rooms and their sessions.

- :mod:`.model`: the seeded plan of rooms, sessions and participants;
- :mod:`.truth`: what is true of a session at an instant (the values tests compare with);
- :mod:`.world`: the evolving world of sessions on the injected clock;
- :mod:`.encoding`: sessions as the API encodes them (list items, details bodies);
- :mod:`.app`: the ASGI app serving list and details, with the API's paging and errors.
"""
