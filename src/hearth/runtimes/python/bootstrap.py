"""Hearth's Python runtime client: the loop that runs a function's handler inside its environment.

Runs in the function's own process under the function's interpreter, so it is standard library
only, Python 3.10-3.13, and imports nothing from ``hearth``. It behaves like AWS's Python runtime
(``awslambdaric``): the same handler resolution, init error types and messages, error payloads,
context object, log line format and JSON marshalling, because functions and their tests depend on
those details.

Loop: ``GET /runtime/invocation/next`` -> ``handler(event, context)`` ->
``POST /runtime/invocation/{id}/response`` (or ``/error``), over one keep-alive connection.
A handler that cannot be loaded is reported once on ``POST /runtime/init/error``, then the
process exits with status 1. When the Runtime API stops answering the environment is gone and
the process exits.

Log output goes to stdout (fd 1), flushed on every write. One record per ``\\n``-terminated
line: a multi-line record (an error with its traceback, a logger message with newlines) keeps
its inner line breaks as ``\\r``, which is what AWS's runtime writes when logging to stdout; a
log reader turns them back into ``\\n`` to show the record as CloudWatch does.

Deliberate differences from AWS's runtime: ``AWS_LAMBDA_LOG_FORMAT=JSON`` is not implemented
(text format only); a ``Content-Type`` with parameters (``application/json; charset=utf-8``) or
no ``Content-Type`` at all still counts as JSON.
"""

from __future__ import annotations

import contextlib
import ctypes
import decimal
import importlib
import io
import json
import logging
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

API_VERSION = "/2018-06-01"
UNHANDLED = "Unhandled"
# AWS's stdout sink joins the lines of an error record with "\r" (so a line-oriented log reader
# keeps it as one record) and indents traceback lines with no-break spaces.
RECORD_LINE_BREAK = "\r"
ERROR_INDENT = "\u00a0"
UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)
# How long /next may keep failing before we conclude the environment is gone.
NEXT_ATTEMPTS = 6
NEXT_BACKOFF_S = 0.05
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
MAX_LINE = 65536
# Past this size the body is sent on its own rather than copied behind the headers.
HEAD_WITH_BODY_LIMIT = 1 << 16

Handler = Callable[[Any, "LambdaContext"], Any]


class _Current:
    """The request being served, read by the log filter; "" during init, as AWS prints it."""

    request_id = ""


class Fault(Exception):
    """A failure the runtime names itself (``Runtime.*``), rather than an exception of user code."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class RuntimeApiError(Exception):
    """The Runtime API answered something other than success: the environment is unusable."""


# --- the handler ---------------------------------------------------------------------------


def load_handler(name: str) -> Handler:
    """Resolve ``file.func``, ``dir/file.func`` or ``pkg.mod.func`` as AWS does, or raise Fault."""
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{name}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise Fault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        # AWS's exact (odd) shape: capital "Line", no trailing newline.
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
            trace,
        ) from None
    try:
        handler: Handler = getattr(module, function_name)
    except AttributeError:
        raise Fault(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None
    return handler


# --- the context object --------------------------------------------------------------------


class Client:
    """``context.client_context.client``: the mobile app that made the call."""

    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        for field in self.__slots__:
            setattr(self, field, data.get(field))


class ClientContext:
    """``context.client_context``, from the ``Lambda-Runtime-Client-Context`` header."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, data: dict[str, Any]) -> None:
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else client
        self.custom = data.get("custom")
        self.env = data.get("env")


class CognitoIdentity:
    """``context.identity``; AWS always provides one, with None fields when there is no identity."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data: dict[str, Any] | None) -> None:
        data = data or {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Invocation:
    """One event as ``/next`` delivered it."""

    __slots__ = (
        "body",
        "client_context",
        "cognito_identity",
        "content_type",
        "deadline_ms",
        "invoked_function_arn",
        "request_id",
        "tenant_id",
        "trace_id",
    )

    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.body = body
        self.request_id = headers.get("lambda-runtime-aws-request-id", "")
        self.deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.trace_id = headers.get("lambda-runtime-trace-id")
        self.client_context = headers.get("lambda-runtime-client-context")
        self.cognito_identity = headers.get("lambda-runtime-cognito-identity")
        self.tenant_id = headers.get("lambda-runtime-aws-tenant-id")
        self.content_type = headers.get("content-type")


def _environ_value(name: str) -> str | None:
    """``os.environ.get(name)``: the same store, read without the Mapping layers."""
    data = getattr(os.environ, "_data", None)
    if not isinstance(data, dict):
        return os.environ.get(name)
    raw = data.get(os.environ.encodekey(name))
    return None if raw is None else str(os.environ.decodevalue(raw))


class LambdaContext:
    """The ``context`` argument, with AWS's attribute names and types (memory is a str)."""

    def __init__(self, invocation: Invocation) -> None:
        # Read from the environment on every invocation, as AWS's runtime does (a handler
        # may change them), but straight from os.environ's own store: os.environ.get's
        # Mapping machinery costs a few microseconds a name, on every invoke.
        env = _environ_value
        self.aws_request_id = invocation.request_id
        self.function_name = env("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = env("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env("AWS_LAMBDA_LOG_STREAM_NAME")
        self.invoked_function_arn = invocation.invoked_function_arn
        self.tenant_id = invocation.tenant_id
        self._deadline_ms = invocation.deadline_ms
        client_context = _parse_header(invocation.client_context, "Client Context")
        self.client_context = (
            ClientContext(client_context) if isinstance(client_context, dict) else None
        )
        identity = _parse_header(invocation.cognito_identity, "Cognito Identity")
        self.identity = CognitoIdentity(identity if isinstance(identity, dict) else None)

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: object) -> None:
        sys.stdout.write(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity}])"
        )


def _parse_header(value: str | None, name: str) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise Fault(
            "Runtime.LambdaContextUnmarshalError", f"Unable to parse {name} JSON: {exc}"
        ) from None


# --- marshalling ---------------------------------------------------------------------------


class ResponseEncoder(json.JSONEncoder):
    """AWS's encoder: a Decimal becomes a JSON number through float (``Decimal("10")`` -> ``10.0``,
    which is what AWS's runtime produces in practice), NaN is allowed."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return math.nan if o.is_nan() else float(o)
        return super().default(o)


def make_encoder(execution_env: str | None) -> ResponseEncoder:
    # AWS writes non-ASCII characters unescaped from python3.12 on, escaped before.
    prefix = "AWS_Lambda_python3."
    minor = execution_env[len(prefix) :] if execution_env else ""
    modern = execution_env is not None and execution_env.startswith(prefix) and minor.isdigit()
    return ResponseEncoder(ensure_ascii=not (modern and int(minor) >= 12), allow_nan=True)


def decode_event(body: bytes, content_type: str | None) -> Any:
    if content_type and content_type.split(";")[0].strip().lower() != "application/json":
        return body
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # Invoke takes JSON nested past Python's stack
        raise Fault("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None


def make_error(message: str, error_type: str, trace: list[str], request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def error_from_exception(exc: BaseException, request_id: str) -> dict[str, Any]:
    """AWS's shape: frames from the first one outside this file (user code, or importlib at
    init), formatted without 3.11's caret lines."""
    frames = [
        (f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)
    ]
    own = os.path.abspath(__file__)
    for index, frame in enumerate(frames):
        if os.path.abspath(frame[0]) != own:
            frames = frames[index:]
            break
    trace = traceback.format_list(frames)  # type: ignore[arg-type]
    return make_error(str(exc), type(exc).__name__, trace, request_id)


# --- logging -------------------------------------------------------------------------------


def log_error(error: dict[str, Any]) -> None:
    """Write an error as one record, as AWS's runtime does: ``[ERROR] Type: message`` and
    the traceback in Text format; one JSON object with level ERROR in JSON format."""
    if _json_format():
        record = {
            "timestamp": time.strftime(JSON_TIME_FORMAT, time.gmtime()),
            "level": "ERROR",
            **{k: v for k, v in error.items() if v not in (None, "")},
        }
        sys.stdout.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        return
    head = "[ERROR]"
    if error["errorType"]:
        head += " " + error["errorType"]
    if error["errorMessage"]:
        head += (":" if error["errorType"] else "") + " " + error["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        for line in element.splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append(ERROR_INDENT * (len(line) - len(stripped)) + stripped)
    sys.stdout.write(RECORD_LINE_BREAK.join(lines) + "\n")


# AWS's JSON application log records: seconds, UTC.
JSON_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# What a LogRecord always has: anything else on it (``extra=``) is a field of the JSON record.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "aws_request_id",
    "taskName",
}


def _json_format() -> bool:
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


class JsonRecordFormatter(logging.Formatter):
    """LogFormat JSON: one object per record with AWS's keys (timestamp, level, message,
    logger, requestId; errorType, errorMessage, stackTrace and location with an exception)."""

    def format(self, record: logging.LogRecord) -> str:
        message: Any = record.msg if isinstance(record.msg, dict) and not record.args else None
        shape: dict[str, Any] = {
            "timestamp": time.strftime(JSON_TIME_FORMAT, time.gmtime(record.created)),
            "level": logging.getLevelName(min(50, max(0, record.levelno)) // 10 * 10),
            "message": record.getMessage() if message is None else message,
            "logger": record.name,
        }
        if record.exc_info and record.exc_info[0] is not None:
            kind, value, trace = record.exc_info
            shape["stackTrace"] = traceback.format_tb(trace)
            shape["errorType"] = kind.__name__
            shape["errorMessage"] = str(value)
            shape["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        request_id = getattr(record, "aws_request_id", None)
        if request_id:
            shape["requestId"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in shape and value is not None:
                shape[key] = value
        return json.dumps(shape, default=str, ensure_ascii=False)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _Current.request_id
        return True


class _StdoutRecordHandler(logging.Handler):
    """Root handler: one record per line (inner newlines become ``\\r``) on the current stdout."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            sys.stdout.write(text.replace("\n", RECORD_LINE_BREAK) + "\n")
        except Exception:
            self.handleError(record)


def setup_logging(level_name: str | None) -> None:
    """AWS's root logger: its line format (or JSON records with LogFormat JSON), UTC times,
    level only when AWS_LAMBDA_LOG_LEVEL says so (otherwise Python's default WARNING, which
    is why ``logger.info`` is silent in Text format)."""
    logging.Formatter.converter = time.gmtime
    handler = _StdoutRecordHandler()
    if _json_format():
        handler.setFormatter(JsonRecordFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}.get(
        (level_name or "").upper(), (level_name or "").upper()
    )
    if level and isinstance(logging.getLevelName(level), int):
        root.setLevel(level)


class FlushingTextWriter(io.TextIOWrapper):
    """stdout/stderr that reach the pipe on every write, as AWS makes them: a line printed just
    before a crash or a timeout is not lost in a buffer."""

    def write(self, s: str) -> int:
        written = super().write(s)
        self.flush()
        return written


def unbuffer_stdio() -> None:
    for name, fd, errors in (("stdout", 1, "strict"), ("stderr", 2, "backslashreplace")):
        old = getattr(sys, name)
        if old is not None:
            old.flush()
        raw = open(fd, "wb", closefd=False)  # noqa: SIM115 -- lives as long as the process
        setattr(sys, name, FlushingTextWriter(raw, encoding="utf-8", errors=errors))


# --- the Runtime API -----------------------------------------------------------------------


class RuntimeClient:
    """The Runtime API over one keep-alive connection, reopened when the server drops it.

    A minimal HTTP/1.1 client rather than ``http.client``: that one parses headers with the
    ``email`` package and sends a POST's headers and body separately, which costs several
    hundred microseconds per invocation; this costs a few tens.
    """

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._host = host.strip("[]") or "127.0.0.1"
        self._port = int(port)
        self._host_header = address
        self._sock: socket.socket | None = None
        self._reader: io.BufferedReader | None = None
        self._unix_path = os.environ.get("HEARTH_RUNTIME_API_SOCKET", "")

    def _connect(self) -> tuple[socket.socket, io.BufferedReader]:
        if self._sock is None or self._reader is None:
            if self._unix_path:
                # Hearth offers the same API on a Unix socket: cheaper than loopback TCP.
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(self._unix_path)
            else:
                sock = socket.create_connection((self._host, self._port))
                # Small request/response pairs: never wait for Nagle.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock, self._reader = sock, sock.makefile("rb")
        return self._sock, self._reader

    def _drop(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._reader = None

    def _request_bytes(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> bytes:
        lines = [f"{method} {API_VERSION}{path} HTTP/1.1", f"Host: {self._host_header}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _exchange(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        head = self._request_bytes(method, path, body, headers)
        sock, reader = self._connect()
        try:
            if len(body) > HEAD_WITH_BODY_LIMIT:
                sock.sendall(head)
                sock.sendall(body)
            else:
                sock.sendall(head + body)
            status, response_headers, response_body, keep_alive = read_response(reader)
        except (OSError, ValueError):
            self._drop()
            raise
        if not keep_alive:
            self._drop()
        return status, response_headers, response_body

    def respond_and_next(self, path: str, body: bytes, headers: dict[str, str]) -> Invocation:
        """Post a result and ask for the next event in one write (HTTP pipelining).

        The Runtime API answers requests on a connection in order, so the POST's 202 comes
        first and the long-polled /next after it; one write instead of two round trips saves
        a pair of context switches on every warm invoke.
        """
        if len(body) > HEAD_WITH_BODY_LIMIT:
            self._post(path, body, headers)
            return self.next_invocation()
        pipelined = (
            self._request_bytes("POST", path, body, headers)
            + body
            + self._request_bytes("GET", "/runtime/invocation/next")
        )
        sock, reader = self._connect()
        try:
            sock.sendall(pipelined)
            _, _, _, keep_alive = read_response(reader)
            if not keep_alive:
                raise ValueError("the Runtime API closed the connection after the response")
            status, next_headers, next_body, keep_alive = read_response(reader)
        except (OSError, ValueError):
            # The connection broke: fall back to one request at a time (the POST is
            # retried; a duplicate is refused by the server and changes nothing).
            self._drop()
            self._post(path, body, headers)
            return self.next_invocation()
        if not keep_alive:
            self._drop()
        if status != 200:
            raise RuntimeApiError(f"/next answered {status}: {next_body[:200]!r}")
        return Invocation(next_headers, next_body)

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        # One retry: a keep-alive connection idle through a long handler run may have been
        # closed by the server; the request never reached it.
        try:
            self._exchange("POST", path, body, headers)
        except (OSError, ValueError):
            self._exchange("POST", path, body, headers)

    def next_invocation(self) -> Invocation:
        for attempt in range(1, NEXT_ATTEMPTS + 1):
            try:
                status, headers, body = self._exchange("GET", "/runtime/invocation/next")
            except (OSError, ValueError):
                if attempt == NEXT_ATTEMPTS:
                    raise
                time.sleep(NEXT_BACKOFF_S * attempt)
                continue
            if status != 200:
                raise RuntimeApiError(f"/next answered {status}: {body[:200]!r}")
            return Invocation(headers, body)
        raise AssertionError("unreachable")

    def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        self._post(
            f"/runtime/invocation/{request_id}/response", body, {"Content-Type": content_type}
        )

    def post_error(self, request_id: str, body: bytes, error_type: str) -> None:
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: error_type}
        self._post(f"/runtime/invocation/{request_id}/error", body, headers)

    def post_init_error(self, body: bytes, error_type: str) -> None:
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: error_type}
        self._post("/runtime/init/error", body, headers)


def read_response(reader: io.BufferedReader) -> tuple[int, dict[str, str], bytes, bool]:
    """One HTTP/1.1 response: status, headers (lower-case names), body, keep-alive.
    Raises ConnectionError when the server hung up, ValueError when it spoke nonsense."""
    status_line = reader.readline(MAX_LINE)
    if not status_line:
        raise ConnectionError("the Runtime API closed the connection")
    version, _, rest = status_line.partition(b" ")
    status = int(rest[:3])
    lines: list[bytes] = []
    while True:
        line = reader.readline(MAX_LINE)
        if not line:
            raise ConnectionError("the Runtime API closed the connection")
        if line in (b"\r\n", b"\n"):
            break
        lines.append(line)
    headers: dict[str, str] = {}
    # Decoded once for the whole head rather than line by line (each line read ends in
    # "\n", which no header value holds).
    texts = b"".join(lines).decode("utf-8", "replace").split("\n")
    if texts[-1] == "":
        texts.pop()
    for text in texts:
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep_alive = version == b"HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        body = reader.read(length)
        if len(body) != length:
            raise ConnectionError("the Runtime API closed the connection mid-body")
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body, keep_alive = reader.read(), False
    return status, headers, body, keep_alive


def read_chunked(reader: io.BufferedReader) -> bytes:
    chunks = []
    while True:
        size = int(reader.readline(MAX_LINE).split(b";")[0], 16)
        if size == 0:
            break
        chunks.append(reader.read(size))
        reader.readline(MAX_LINE)
    while reader.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(chunks)


# --- the loop ------------------------------------------------------------------------------


def invoke(
    handler: Handler, invocation: Invocation, encoder: json.JSONEncoder
) -> tuple[bool, bytes, str]:
    """Run one event: ``(True, body, content type)`` or ``(False, error body, error type)``."""
    try:
        context = LambdaContext(invocation)
        event = decode_event(invocation.body, invocation.content_type)
        result = handler(event, context)
        if isinstance(result, bytes):
            return True, result, "application/unknown"
        try:
            text = encoder.encode(result)
        except Exception as exc:
            raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
        return True, text.encode(), "application/json"
    except Fault as fault:
        error = make_error(fault.message, fault.error_type, fault.trace, invocation.request_id)
    except Exception as exc:
        error = error_from_exception(exc, invocation.request_id)
    log_error(error)
    return False, encoder.encode(error).encode(), UNHANDLED


class TraceIdVariable:
    """Sets ``_X_AMZN_TRACE_ID`` for each invocation without leaking memory.

    ``os.environ[k] = v`` calls glibc's ``setenv``, which allocates a new ``k=v`` string and
    never frees the old one (another thread may still hold it): a new trace id per invocation
    grew a warm environment by ~140 bytes each time until a small function was OOM-killed.
    Here the C environment points at one buffer this object owns (``putenv`` keeps the
    pointer, it does not copy), and each new id is written into that buffer in place;
    ``os.environ``'s own mapping is updated beside it, so Python code and child processes
    both see the current id. Where ctypes or libc is unavailable, or an id does not fit,
    it falls back to ``os.environ``.
    """

    NAME = "_X_AMZN_TRACE_ID"
    # AWS's ids (Root=1-...;Parent=...;Sampled=...;Lineage=...) are about 100 bytes.
    CAPACITY = 512

    def __init__(self) -> None:
        self._buffer: Any = None
        self._putenv: Any = None
        self._unsetenv: Any = None
        self._key = os.environ.encodekey(self.NAME) if hasattr(os.environ, "encodekey") else None
        data = getattr(os.environ, "_data", None)
        self._data: dict[Any, Any] | None = data if isinstance(data, dict) else None
        try:
            libc = ctypes.CDLL(None)
            self._putenv, self._unsetenv = libc.putenv, libc.unsetenv
            self._putenv.argtypes = [ctypes.c_void_p]
            self._unsetenv.argtypes = [ctypes.c_char_p]
            self._buffer = ctypes.create_string_buffer(len(self.NAME) + 1 + self.CAPACITY + 1)
            self._memmove = ctypes.memmove
            self._address = ctypes.addressof(self._buffer)
        except (OSError, AttributeError):  # no libc to load (not glibc or musl)
            self._buffer = None

    def set(self, value: str | None) -> None:
        if self._buffer is None or self._data is None or self._key is None:
            self._fallback(value)
            return
        if value is None:
            if self._key in self._data:
                del self._data[self._key]
                self._unsetenv(self.NAME.encode())
            return
        raw = os.fsencode(value)
        if len(raw) > self.CAPACITY or b"\0" in raw:
            self._fallback(value)
            return
        entry = self.NAME.encode() + b"=" + raw + b"\0"
        self._memmove(self._address, entry, len(entry))
        # Points the C environment at the buffer again, in case a handler set or unset the
        # variable itself; putenv of a caller's string allocates nothing.
        self._putenv(self._address)
        self._data[self._key] = os.environ.encodevalue(value)

    def _fallback(self, value: str | None) -> None:
        if value is None:
            os.environ.pop(self.NAME, None)
        else:
            os.environ[self.NAME] = value


def serve(client: RuntimeClient, handler: Handler, encoder: json.JSONEncoder) -> None:
    """Serve events until the Runtime API goes away (the environment is being torn down)."""
    try:
        invocation = client.next_invocation()
    except (OSError, ValueError, RuntimeApiError):
        return
    trace_variable = TraceIdVariable()
    while True:
        _Current.request_id = invocation.request_id
        trace_variable.set(invocation.trace_id)
        ok, body, kind = invoke(handler, invocation, encoder)
        if ok:
            path = f"/runtime/invocation/{invocation.request_id}/response"
            headers = {"Content-Type": kind}
        else:
            path = f"/runtime/invocation/{invocation.request_id}/error"
            headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: kind}
        try:
            invocation = client.respond_and_next(path, body, headers)
        except (OSError, ValueError, RuntimeApiError):
            return


def init(client: RuntimeClient, encoder: json.JSONEncoder) -> Handler | None:
    """Load the handler; on failure report it as AWS does and return None."""
    try:
        return load_handler(os.environ.get("_HANDLER", ""))
    except Fault as fault:
        error = make_error(fault.message, fault.error_type, fault.trace, "")
    except Exception as exc:
        error = error_from_exception(exc, "")
    logging.warning(UNHANDLED_INIT_WARNING)
    log_error(error)
    # If the environment is already gone, exiting is all that is left to do.
    with contextlib.suppress(OSError, ValueError):
        client.post_init_error(encoder.encode(error).encode(), error["errorType"])
    return None


def main() -> int:
    """Run the runtime in this process; returns the exit status."""
    unbuffer_stdio()
    setup_logging(os.environ.get("AWS_LAMBDA_LOG_LEVEL"))
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if not sys.path or sys.path[0] != task_root:
        sys.path.insert(0, task_root)
    template_fd = os.environ.pop("HEARTH_TEMPLATE_FD", "")
    if template_fd:
        # SnapStart: this process is a version's template (hearth/runtimes/python/template.py,
        # loaded by the zygote), and each environment is a fork of it.
        template = sys.modules["_hearth_runtime_template"]
        return int(template.serve_template(int(template_fd), sys.modules[__name__]))
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    encoder = make_encoder(os.environ.get("AWS_EXECUTION_ENV"))
    handler = init(client, encoder)
    if handler is None:
        return 1
    serve(client, handler, encoder)
    return 1  # the Runtime API is gone: nothing more this process can do


if __name__ == "__main__":
    sys.exit(main())
