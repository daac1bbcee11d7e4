"""Speed and memory benchmarks of quality.md ("Speed and memory"); not tests.

``.venv/bin/python -m bench`` runs every benchmark on this machine and rewrites
``bench/RESULTS.md``; ``python -m bench scrape`` (or ``poll``, ``memory``) runs one group and
only prints. Each benchmark asserts its own set-up (the scrape body really holds 2,000 sessions
of each source, the poll really made the requests it should), so a broken benchmark fails
loudly instead of reporting a flattering number.
"""
