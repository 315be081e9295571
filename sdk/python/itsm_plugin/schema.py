"""JSON Schemas from Python types, and values checked and converted by them.

A method's params and result, and an event's payload, are described by ordinary Python types:
dataclasses for objects, `Literal[...]` or a `str` Enum for a set of words, `Optional[X]` for a
member that may be left out, `list[X]`, `dict[str, X]`, `datetime` and `uuid.UUID`. A field's
`metadata={"description": "..."}` becomes its description, and `metadata={"json": "from"}` gives
it a member name Python cannot use. The schemas use the subset of JSON
Schema 2020-12 the coordinator checks (docs/protocol.md, section 3.1).
"""
import dataclasses
import datetime
import decimal
import enum
import types
import typing
import uuid

_NONE = type(None)


def _unwrap_optional(hint):
    """(inner type, whether None was allowed) for `Optional[X]` and `X | None`."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        members = [member for member in typing.get_args(hint) if member is not _NONE]
        if len(members) != len(typing.get_args(hint)):
            if len(members) == 1:
                return members[0], True
            return typing.Union[tuple(members)], True
    return hint, False


def _strip_annotated(hint):
    if typing.get_origin(hint) is typing.Annotated:
        return typing.get_args(hint)[0]
    return hint


def _field_default_missing(field):
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def json_name(field):
    """A dataclass field's member name: `metadata={"json": "from"}` names one Python cannot."""
    return field.metadata.get("json", field.name)


def schema_of(hint, description=None):
    """The JSON Schema of values of type `hint`."""
    hint = _strip_annotated(hint)
    hint, _ = _unwrap_optional(hint)
    schema = _schema_of(hint)
    if description:
        schema = dict(schema, description=description)
    return schema


def _schema_of(hint):
    if hint is typing.Any or hint is object:
        return {}
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        properties, required = {}, []
        for field in dataclasses.fields(hint):
            field_hint = hints[field.name]
            _, optional = _unwrap_optional(_strip_annotated(field_hint))
            properties[json_name(field)] = schema_of(field_hint, field.metadata.get("description"))
            if _field_default_missing(field) and not optional:
                required.append(json_name(field))
        schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
        if hint.__doc__ and not hint.__doc__.startswith(hint.__name__ + "("):
            schema["description"] = " ".join(hint.__doc__.split())
        return schema
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint in (float, decimal.Decimal):
        return {"type": "number"}
    if hint is datetime.datetime:
        return {"type": "string", "format": "date-time"}
    if hint is datetime.date:
        return {"type": "string"}
    if hint is uuid.UUID:
        return {"type": "string", "format": "uuid"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"type": "string", "enum": [str(member.value) for member in hint]}
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        if not all(isinstance(word, str) for word in arguments):
            raise TypeError(f"Literal{list(arguments)}: only words (strings) can be listed")
        return {"type": "string", "enum": list(arguments)}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple):
        schema = {"type": "array"}
        if arguments and arguments[0] is not Ellipsis:
            schema["items"] = schema_of(arguments[0])
        return schema
    if origin is dict or hint is dict:
        if arguments:
            if arguments[0] is not str:
                raise TypeError(f"{hint}: JSON objects have string keys")
            return {"type": "object", "additionalProperties": schema_of(arguments[1])}
        return {"type": "object"}
    raise TypeError(f"{hint!r} has no JSON Schema here; use a dataclass, str, int, float, bool, "
                    "Literal, an Enum, list, dict, datetime or UUID")


# MARK: - Values


class ParamsError(ValueError):
    """A value that does not match its type; the message starts with the path."""


def _describe(kind):
    return {"integer": "a whole number", "object": "an object", "array": "an array"}.get(kind, f"a {kind}")


def decode(hint, value, path="params", ignore_unknown=False):
    """`value` (parsed JSON) as an instance of `hint`, or ParamsError naming the path, with the
    coordinator's wording (a plugin run by `itsm plugin check` sees params nobody checked).
    `ignore_unknown`: members the type does not name are left out (an event's payload may
    grow members its subscribers do not know yet) instead of refused."""
    hint = _strip_annotated(hint)
    hint, optional = _unwrap_optional(hint)
    if value is None and optional and ignore_unknown:
        return None
    if value is None:
        raise ParamsError(f"{path}: must not be null; leave an optional member out instead")
    if hint is typing.Any or hint is object:
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ParamsError(f"{path}: expected an object")
        hints = typing.get_type_hints(hint, include_extras=True)
        fields = {json_name(field): field for field in dataclasses.fields(hint)}
        if ignore_unknown:
            value = {name: member for name, member in value.items() if name in fields}
        for name in sorted(value):
            if name not in fields:
                known = ", ".join(sorted(fields))
                raise ParamsError(f"{path}.{name}: unknown member; " + (f"known: {known}" if known else "this method takes no params"))
        arguments = {}
        for name in sorted(value):
            field = fields[name]
            arguments[field.name] = decode(hints[field.name], value[name], f"{path}.{name}", ignore_unknown)
        for name, field in fields.items():
            if name not in value and _field_default_missing(field):
                if _unwrap_optional(_strip_annotated(hints[field.name]))[1]:
                    arguments[field.name] = None
                else:
                    raise ParamsError(f"{path}.{name}: required but missing")
        return hint(**arguments)
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{path}: expected a boolean")
        return value
    if hint is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise ParamsError(f"{path}: expected a whole number")
        return int(value)
    if hint in (float, decimal.Decimal):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{path}: expected a number")
        return hint(value) if hint is float else decimal.Decimal(str(value))
    schema = _schema_of(hint)
    if schema.get("type") == "string":
        if not isinstance(value, str):
            raise ParamsError(f"{path}: expected a string")
        words = schema.get("enum")
        if words is not None and value not in words:
            raise ParamsError(f"{path}: '{value[:64]}' is not one of {', '.join(words)}")
        if hint is datetime.datetime:
            try:
                parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise ParamsError(f"{path}: expected an ISO 8601 date on a real day in the years 0001 to 9999, like 2026-11-23T17:22:09Z")
            return parsed
        if hint is datetime.date:
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise ParamsError(f"{path}: expected a date like 2026-11-23") from None
        if hint is uuid.UUID:
            try:
                return uuid.UUID(value)
            except ValueError:
                raise ParamsError(f"{path}: expected a UUID") from None
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return hint(value)
        return value
    if schema.get("type") == "array":
        if not isinstance(value, list):
            raise ParamsError(f"{path}: expected an array")
        arguments = typing.get_args(hint)
        element = arguments[0] if arguments and arguments[0] is not Ellipsis else typing.Any
        items = [decode(element, item, f"{path}[{index}]", ignore_unknown) for index, item in enumerate(value)]
        origin = typing.get_origin(hint) or hint
        return origin(items) if origin is not list else items
    if schema.get("type") == "object":
        if not isinstance(value, dict):
            raise ParamsError(f"{path}: expected an object")
        arguments = typing.get_args(hint)
        if not arguments:
            return value
        return {name: decode(arguments[1], member, f"{path}.{name}", ignore_unknown) for name, member in value.items()}
    return value


def encode(value):
    """`value` as plain JSON data: dataclasses as objects without their None members, datetimes
    in ISO 8601 UTC, UUIDs as text, Enums as their values."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {json_name(field): encode(getattr(value, field.name)) for field in dataclasses.fields(value)
                if getattr(value, field.name) is not None}
    if isinstance(value, dict):
        return {str(name): encode(member) for name, member in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(member) for member in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        text = value.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")
