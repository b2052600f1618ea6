"""One domain error hierarchy, answered in one place: the status and the reason of every kind."""

from __future__ import annotations

import json

import pytest
from starlette.requests import Request

from alerting import AlertNotFound, AlertState, IllegalTransition, InvalidLink, InvalidRequest, NoResponderAvailable
from api.app import domain_error_answer
from registry.errors import Conflict, DomainError, Invalid, NotFound, OutOfScope


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("no resident res-1"), 404),
        (AlertNotFound("no alert 42"), 404),
        (Conflict("already exists (residents_pkey): x"), 409),
        (IllegalTransition(AlertState.RESOLVED, AlertState.ACKNOWLEDGED), 409),
        (NoResponderAvailable("nobody on duty"), 409),
        (Invalid("level must be one of …"), 422),
        (InvalidRequest("quiet hours are times like 22:00"), 422),
        (OutOfScope("the change would move the device outside your area"), 403),
        (InvalidLink("this link has expired"), 403),
        (DomainError("something else"), 400),
    ],
)
async def test_each_domain_error_is_answered_with_its_status_and_reason(error: DomainError, status: int) -> None:
    answer = await domain_error_answer(Request({"type": "http", "method": "GET", "path": "/"}), error)
    assert answer.status_code == status
    assert json.loads(bytes(answer.body)) == {"detail": str(error)}


def test_alerting_and_the_registry_share_one_conflict() -> None:
    import alerting

    assert alerting.Conflict is Conflict
    assert issubclass(IllegalTransition, Conflict) and issubclass(AlertNotFound, NotFound)
