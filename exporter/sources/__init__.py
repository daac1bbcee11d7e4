"""Upstream sources: each polls one API for one target and returns an immutable Snapshot.

The protocol a source implements is in :mod:`exporter.sources.base`; each source is a package
(``livekit/``, ``livepeer/``) with the same module names for the same roles, and
:mod:`exporter.sources.registry` lists them.
"""
