"""Process plugins for the itsm toolkit, in Python.

Framing, the handshake, concurrent requests, cancellation and shutdown (docs/protocol.md) are
done here; a plugin declares its methods with typed params and results, the events it publishes
and handles, and its schema's migrations, and writes what they do.
"""
from .database import Database, Migration, MigrationError, Transaction
from .errors import PluginError, business, invalid, not_found
from .logs import log
from .plugin import Event, Plugin, Request
from .schema import ParamsError, decode, encode, schema_of

__version__ = "1.0.0"
__all__ = ["Plugin", "Request", "Event", "Migration", "MigrationError", "Database", "Transaction", "PluginError",
           "business", "invalid", "not_found", "log", "schema_of", "decode", "encode", "ParamsError"]
