"""Schemathesis over one OpenAPI document: each operation's generated requests sent to the running gateway.

Runs in a worker thread with blocking `requests` sessions while the gateway serves on the test's event loop.
Each operation gets `examples` valid and `examples` invalid requests (Hypothesis, derandomized: the same
requests on every run), and every response goes through the four checks below; the first failure of each
operation and mode is kept, with a curl command that replays it.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from requests.adapters import HTTPAdapter
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.documents import Document

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
HeadersFor = Callable[[str, str], dict[str, str]]
KnownValues = Callable[[str], dict[str, str]]
Operation = APIOperation[Any, Any, Any, Any]


@dataclass(frozen=True)
class Failure:
    """An operation's first failed request in one generation mode: what failed, and how to replay it."""

    operation: str
    mode: str
    problems: str
    curl: str

    def __str__(self) -> str:
        curl = self.curl if len(self.curl) <= 600 else self.curl[:600] + " ..."
        return f"{self.operation} ({self.mode}): {self.problems}\n    {curl}"


class _TlsAdapter(HTTPAdapter):
    """Connections over the test CA's trust, presenting a client certificate when one is given."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def tls_session(ca_file: Path, cert: tuple[Path, Path] | None) -> requests.Session:
    """A blocking HTTPS session trusting `ca_file`, presenting `cert` (certificate, key) when given."""
    context = ssl.create_default_context(cafile=ca_file)
    if cert is not None:
        context.load_cert_chain(*cert)
    session = requests.Session()
    session.mount("https://", _TlsAdapter(context))
    return session


@dataclass
class _Target:
    """Where and how one document's requests go."""

    document: Document
    origin: str
    session: requests.Session
    headers_for: HeadersFor
    examples: int
    sent: int = 0
    waited: float = 0.0  # seconds spent waiting for answers (the rest is generating and checking)

    @property
    def base_url(self) -> str:
        return self.origin + self.document.base_path


def _fuzz_operation(
    target: _Target, operation: Operation, mode: GenerationMode, path_parameters: dict[str, str] | None = None
) -> Failure | None:
    """Up to `examples` requests of `mode` to one operation (at `path_parameters` when given); the first failing
    one, if any."""
    found: list[Failure] = []
    document, base_url = target.document, target.base_url
    label = mode.value if path_parameters is None else f"{mode.value}, existing ids"

    @hypothesis.settings(
        max_examples=target.examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def run(case: schemathesis.Case[Operation]) -> None:
        if found:
            return
        path = document.base_path + case.formatted_path
        headers = {"x-fapi-interaction-id": str(uuid.uuid4()), **target.headers_for(case.method.upper(), path)}
        started = time.monotonic()
        try:
            response = case.call(base_url=base_url, session=target.session, headers=headers, timeout=30)
            target.sent, target.waited = target.sent + 1, target.waited + time.monotonic() - started
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            problems = "; ".join(sorted({failure.title for failure in group.exceptions}))
            detail = f"{problems} [{response.status_code}] {response.text[:300]}\n    at {response.request.url}"
        except requests.RequestException as error:  # a dropped connection or a timeout: no answer at all
            detail = f"no answer: {type(error).__name__}"
        else:
            return
        curl = case.as_curl_command(headers=headers, base_url=base_url)
        found.append(Failure(f"{case.method.upper()} {document.base_path}{case.path}", label, detail, curl))

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to make invalid (no parameters)
    return found[0] if found else None


def fuzz_document(
    document: Document,
    origin: str,
    session: requests.Session,
    headers_for: HeadersFor,
    known_values: KnownValues,
    examples: int,
) -> tuple[int, float, list[Failure]]:
    """Fuzz every operation of `document` at `origin`: the requests sent, the seconds spent waiting for their
    answers, and the failures found."""
    target = _Target(document, origin, session, headers_for, examples)
    failures: list[Failure] = []
    for result in schemathesis.openapi.from_dict(document.content).get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # a document Schemathesis cannot read is a failure of its own
        operation = result.ok()
        runs: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        # Random ids stop at "not found": valid requests to things that exist reach the code behind the lookups.
        names = [parameter.name for parameter in operation.path_parameters]
        existing = known_values(document.base_path + operation.path)
        if names and all(name in existing for name in names):
            runs.append((GenerationMode.POSITIVE, {name: existing[name] for name in names}))
        for mode, path_parameters in runs:
            failure = _fuzz_operation(target, operation, mode, path_parameters)
            if failure is not None:
                failures.append(failure)
    return target.sent, target.waited, failures
