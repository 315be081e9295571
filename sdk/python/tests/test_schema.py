"""Schemas from types, params checked and converted by them, results encoded."""
import datetime
import enum
import unittest
import uuid
from dataclasses import dataclass, field
from typing import Literal, Optional

from itsm_plugin import ParamsError, decode, encode, schema_of
from itsm_plugin.database import fingerprint


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Line:
    quantity: int
    item: str


@dataclass
class Order:
    """An order"""
    title: str = field(metadata={"description": "what it is"})
    lines: list[Line]
    risk: Literal["low", "high"] = "low"
    colour: Optional[Colour] = None
    due: Optional[datetime.datetime] = None
    id: Optional[uuid.UUID] = None
    tags: dict[str, str] = field(default_factory=dict)
    from_: Optional[str] = field(default=None, metadata={"json": "from"})


class SchemaTests(unittest.TestCase):
    def test_a_dataclass_is_a_closed_object_whose_members_without_default_are_required(self):
        schema = schema_of(Order)
        self.assertEqual(schema["type"], "object")
        self.assertFalse(schema["additionalProperties"])
        self.assertEqual(schema["required"], ["title", "lines"])
        self.assertEqual(schema["description"], "An order")
        properties = schema["properties"]
        self.assertEqual(properties["title"], {"type": "string", "description": "what it is"})
        self.assertEqual(properties["risk"], {"type": "string", "enum": ["low", "high"]})
        self.assertEqual(properties["colour"], {"type": "string", "enum": ["red", "green"]})
        self.assertEqual(properties["due"], {"type": "string", "format": "date-time"})
        self.assertEqual(properties["id"], {"type": "string", "format": "uuid"})
        self.assertEqual(properties["tags"], {"type": "object", "additionalProperties": {"type": "string"}})
        self.assertEqual(properties["lines"]["items"]["required"], ["quantity", "item"])
        self.assertIn("from", properties)
        self.assertNotIn("from_", properties)

    def test_a_type_json_cannot_carry_is_refused_when_declared(self):
        with self.assertRaises(TypeError):
            schema_of(complex)
        with self.assertRaises(TypeError):
            schema_of(Literal[1, 2])


class DecodeTests(unittest.TestCase):
    def refusal(self, value):
        with self.assertRaises(ParamsError) as raised:
            decode(Order, value)
        return str(raised.exception)

    def test_params_become_the_dataclass_with_defaults_and_converted_values(self):
        order = decode(Order, {"title": "Chairs", "lines": [{"quantity": 2, "item": "chair"}], "colour": "red",
                               "due": "2026-11-30T09:00:00Z", "id": "0b8e3f2e-5d0c-4c44-9a3b-6e2f7d7f1a10", "from": "desk"})
        self.assertEqual(order.lines, [Line(2, "chair")])
        self.assertEqual(order.risk, "low")
        self.assertIs(order.colour, Colour.RED)
        self.assertEqual(order.due, datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.timezone.utc))
        self.assertEqual(order.id, uuid.UUID("0b8e3f2e-5d0c-4c44-9a3b-6e2f7d7f1a10"))
        self.assertEqual(order.from_, "desk")
        self.assertEqual(order.tags, {})

    def test_each_refusal_names_the_member_as_the_coordinator_does(self):
        self.assertEqual(self.refusal({"title": "x", "lines": [], "risk": "extreme"}), "params.risk: 'extreme' is not one of low, high")
        self.assertEqual(self.refusal({"title": "x", "lines": [], "attachments": [1]}),
                         "params.attachments: unknown member; known: colour, due, from, id, lines, risk, tags, title")
        self.assertEqual(self.refusal({"lines": []}), "params.title: required but missing")
        self.assertEqual(self.refusal({"title": "x", "lines": [{"quantity": "two", "item": "chair"}]}),
                         "params.lines[0].quantity: expected a whole number")
        self.assertEqual(self.refusal({"title": "x", "lines": [], "colour": None}),
                         "params.colour: must not be null; leave an optional member out instead")
        self.assertEqual(self.refusal({"title": "x", "lines": [], "due": "2026-02-30T00:00:00Z"}),
                         "params.due: expected an ISO 8601 date on a real day in the years 0001 to 9999, like 2026-11-23T17:22:09Z")
        self.assertEqual(self.refusal({"title": True, "lines": []}), "params.title: expected a string")
        self.assertEqual(self.refusal([]), "params: expected an object")

    def test_an_event_payload_may_carry_members_its_subscriber_does_not_know(self):
        line = decode(Line, {"quantity": 1, "item": "desk", "added_later": True}, "data", ignore_unknown=True)
        self.assertEqual(line, Line(1, "desk"))


class EncodeTests(unittest.TestCase):
    def test_a_result_is_plain_json_without_its_absent_members(self):
        order = Order(title="Chairs", lines=[Line(2, "chair")], colour=Colour.GREEN,
                      due=datetime.datetime(2026, 11, 30, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
                      id=uuid.UUID("0b8e3f2e-5d0c-4c44-9a3b-6e2f7d7f1a10"), from_="desk")
        self.assertEqual(encode(order), {"title": "Chairs", "lines": [{"quantity": 2, "item": "chair"}], "risk": "low",
                                         "colour": "green", "due": "2026-11-30T09:00:00.000Z",
                                         "id": "0b8e3f2e-5d0c-4c44-9a3b-6e2f7d7f1a10", "tags": {}, "from": "desk"})


class FingerprintTests(unittest.TestCase):
    def test_the_migration_checksum_is_the_swift_kits_fnv1a(self):
        # Published FNV-1a 64 test vectors; the Swift kit's Migrator computes the same.
        self.assertEqual(fingerprint(""), "cbf29ce484222325")
        self.assertEqual(fingerprint("a"), "af63dc4c8601ec8c")
        self.assertEqual(fingerprint("foobar"), "85944171f73967e8")


if __name__ == "__main__":
    unittest.main()
