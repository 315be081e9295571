"""Logs as the coordinator reads them (docs/protocol.md, section 8): one JSON object per line on
stderr, with `ts`, `level`, `msg`, and `itsm.*` metadata, including the id of the request being
handled."""
import json
import logging
import sys
import threading
import time

_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error",
           logging.CRITICAL: "critical"}

# The request or event a worker thread is handling, for its log lines.
current = threading.local()


class JSONLinesHandler(logging.Handler):
    def emit(self, record):
        try:
            line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                    "level": _LEVELS.get(record.levelno, "info"), "msg": record.getMessage()}
            line.update({name: value for name, value in record.__dict__.items() if name.startswith("itsm.")})
            request_id = getattr(current, "request_id", None)
            if request_id and "itsm.requestId" not in line:
                line["itsm.requestId"] = request_id
            if record.exc_info and record.levelno >= logging.ERROR:
                line["itsm.error"] = line.get("itsm.error") or repr(record.exc_info[1])
            sys.stderr.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
            sys.stderr.flush()
        except Exception:  # a log line must never take a request down
            pass


def configure(level=logging.INFO):
    root = logging.getLogger()
    if not any(isinstance(handler, JSONLinesHandler) for handler in root.handlers):
        root.addHandler(JSONLinesHandler())
    root.setLevel(level)


def log(level, message, **fields):
    """`log("info", "change ready", **{"itsm.number": "CHG-000001"})`."""
    number = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "notice": logging.INFO,
              "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL}.get(level, logging.INFO)
    logging.getLogger("itsm_plugin").log(number, message, extra=fields)
