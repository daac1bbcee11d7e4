"""The HTTP machinery both simulated APIs share; each API's own answers live in its folder.

- :mod:`.fake_api`: the request prelude every request runs (route, log, 404/405, faults,
  credentials) as :class:`~.fake_api.FakeApi`, the base of both apps;
- :mod:`.asgi`: plain ASGI answering, waiting, streaming and hanging up;
- :mod:`.requestlog`: every request as it arrived, for tests to assert on;
- :mod:`.faults` and :mod:`.fault_effects`: switchable faults and what they do to an answer;
- :mod:`.auth`: the two APIs' credential checks.
"""
