"""``python -m exporter``: the same as the ``livesession-exporter`` command."""

from __future__ import annotations

from exporter.cli import main

raise SystemExit(main())
