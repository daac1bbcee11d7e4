"""The simulator's Studio items carry every ``session`` property, with the documented types.

The schema is Studio's own OpenAPI file, in ``tests/fixtures/livepeer/studio-openapi.yaml``.
Upstream responses break it in two known ways (``required: [name, streamId]``, and
``additionalProperties: false`` despite ``parentStream``), so each documented property is
validated on its own, the way the spec's authors meant it, rather than the whole object.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
import yaml

from exporter.simulator import FakeClock, Simulator, SimulatorConfig

SPEC = Path(__file__).resolve().parents[2] / "fixtures/livepeer/studio-openapi.yaml"
# present in some items only, as upstream: health before the first hook, recordings
SOMETIMES = {"isHealthy", "issues", "recordingStatus", "recordingUrl", "mp4Url", "recordingSpec"}
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def load_spec() -> dict[str, object]:
    if not SPEC.is_file():
        pytest.fail(f"Studio's OpenAPI file is missing: expected it at {SPEC}")
    with SPEC.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    assert isinstance(loaded, dict)
    return loaded


def resolve(spec: dict[str, object], ref: str) -> dict[str, object]:
    node: object = spec
    for part in ref.removeprefix("#/").split("/"):
        assert isinstance(node, dict), ref
        node = node[part]
    assert isinstance(node, dict)
    return node


def errors(
    spec: dict[str, object], schema: dict[str, object], value: object, path: str
) -> list[str]:
    """Problems of ``value`` against the JSON Schema subset Studio's file uses."""
    if "$ref" in schema:
        return errors(spec, resolve(spec, str(schema["$ref"])), value, path)
    if "oneOf" in schema:
        options = schema["oneOf"]
        assert isinstance(options, list)
        matches = [o for o in options if not errors(spec, o, value, path)]
        return [] if len(matches) == 1 else [f"{path}: {value!r} matches {len(matches)} of oneOf"]
    found: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        allowed = tuple(t for name in names for t in JSON_TYPES[str(name)])
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and bool not in allowed):
            return [f"{path}: {value!r} is not {names}"]
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        found.append(f"{path}: {value!r} not in enum")
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(minimum, int | float) and value < minimum:
            found.append(f"{path}: {value} < minimum")
        if isinstance(maximum, int | float) and value > maximum:
            found.append(f"{path}: {value} > maximum")
    if isinstance(value, str):
        if len(value) < int(str(schema.get("minLength", 0))):
            found.append(f"{path}: too short")
        if "maxLength" in schema and len(value) > int(str(schema["maxLength"])):
            found.append(f"{path}: too long")
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        for i, element in enumerate(value):
            found += errors(spec, items, element, f"{path}[{i}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        assert isinstance(properties, dict)
        required = schema.get("required", [])
        assert isinstance(required, list)
        found += [f"{path}: missing {name}" for name in required if name not in value]
        for name, element in value.items():
            if name in properties:
                found += errors(spec, properties[name], element, f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}: unexpected {name}")
    return found


@pytest.mark.anyio
async def test_items_carry_every_session_property_with_its_documented_type() -> None:
    """Over a varied world, every schema property appears, and every value has its type."""
    spec = load_spec()
    session = resolve(spec, "#/components/schemas/session")
    properties = session["properties"]
    assert isinstance(properties, dict)
    assert len(properties) == 25
    clock = FakeClock()
    sim = Simulator(
        SimulatorConfig(seed=21, livekit_sessions=0, livepeer_sessions=300, clock=clock)
    )
    items: list[dict[str, object]] = []
    async with anyio.create_task_group() as tg, httpx.AsyncClient() as client:
        endpoints = await tg.start(sim.run)
        for _ in range(4):  # a few instants, so sessions are seen in every state
            response = await client.get(
                endpoints.livepeer_url + "/session",
                params={"limit": "1000"},
                headers={"Authorization": f"Bearer {endpoints.livepeer_api_key}"},
            )
            items += response.json()
            clock.advance(1800)
        tg.cancel_scope.cancel()
    problems: list[str] = []
    seen: set[str] = set()
    for item in items:
        seen.update(item)
        problems += [
            f"{item['id']}: missing {n}" for n in properties if n not in item and n not in SOMETIMES
        ]
        for name, value in item.items():
            if name in properties:
                problems += errors(spec, properties[name], value, f"{item['id']}.{name}")
        assert isinstance(item["parentStream"], dict)
        assert item["parentStream"]["streamKey"]
    assert not problems, problems[:20]
    assert set(properties) <= seen, set(properties) - seen
    complete = [i for i in items if set(properties) <= set(i)]
    assert complete, "no single item carried every property"
