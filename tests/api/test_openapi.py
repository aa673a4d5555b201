"""``/openapi.json`` names the domain's result types as the spec does (api.openapi.spec_names)."""

from __future__ import annotations

import json

import pytest

from api.openapi import spec_names
from core.results import SPEC_SCHEMA_NAMES


def test_result_schemas_carry_the_specs_names(api):
    spec = api.client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    assert set(SPEC_SCHEMA_NAMES.values()) <= set(components)
    text = json.dumps(spec)
    for domain_name in SPEC_SCHEMA_NAMES:
        assert domain_name not in components
        assert f'"#/components/schemas/{domain_name}"' not in text
    assert components["TextDiff"]["title"] == "TextDiff"
    assert components["TextDiff"]["properties"]["audio_segment"] == {
        "$ref": "#/components/schemas/AudioChunk"
    }


def test_a_rename_onto_a_taken_name_is_refused():
    schema = {"components": {"schemas": {"A": {}, "B": {}}}}
    with pytest.raises(ValueError, match="already in use"):
        spec_names(schema, {"A": "B"})


def test_the_miscue_evidence_is_documented(api):
    components = api.client.get("/openapi.json").json()["components"]["schemas"]
    miscue = components["TextDiff"]["properties"]
    assert "calibrated" in miscue["confidence"]["description"]
    evidence = miscue["evidence"]
    assert "log-likelihood margin" in evidence["description"]
    [ref] = [option["$ref"] for option in evidence["anyOf"] if "$ref" in option]
    fields = components[ref.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {"reading", "page_reading", "log_likelihood_margin", "source"}
    assert fields["source"]["enum"] == ["transcript", "decoder", "lexicon"]
