"""Every API operation gets the catalogue of bad inputs, as every role: no 5xx, and a refused
request changes no row."""

from __future__ import annotations

import pytest
from django.db import transaction

from .api_surface import api_operations, probes_for, valid_probes
from .conftest import client_as
from .harness import Fuzzer
from .world import ROLES

pytestmark = pytest.mark.django_db


def test_every_operation_is_discovered():
    labels = {op.label for op in api_operations()}
    # A few the schema must list; if discovery breaks, the fuzz tests would pass on nothing.
    assert {
        "POST /api/v1/polls/{poll_id}/votes",
        "PATCH /api/v1/me",
        "POST /api/v1/initiatives/{initiative_id}/attachments",
        "DELETE /api/v1/dialogue/sessions/{session_id}/bans/{user_id}",
    } <= labels
    assert len(labels) >= 40


@pytest.fixture(scope="module")
def calibration(world, django_db_blocker) -> dict[str, tuple[list[str], dict[str, str]]]:
    """For each operation, the seeded objects its bad inputs are aimed at (the first a valid
    request succeeds on) and the roles whose valid request there is not
    refused with 401 or 403."""
    result = {}
    with django_db_blocker.unblock():
        clients = {role: client_as(world, role) for role in ROLES}
        for operation in api_operations():
            best = None
            for values, probe in valid_probes(operation, world):
                statuses = {}
                for role, client in clients.items():
                    with transaction.atomic():
                        statuses[role] = client.generic(
                            probe.method.upper(),
                            probe.path,
                            data=probe.data,
                            content_type=probe.content_type,
                        ).status_code
                        transaction.set_rollback(True)
                successes = sum(status < 300 for status in statuses.values())
                if best is None or successes > best[0]:
                    reached = [r for r, status in statuses.items() if status not in (401, 403)]
                    best = (successes, reached, values)
                if successes:
                    break
            result[operation.label] = (best[1], best[2])
    return result


@pytest.mark.parametrize("role", ROLES)
def test_api_fuzz(world, calibration, role):
    client = client_as(world, role)
    with Fuzzer(client, role=role, surface="api") as fuzzer:
        for operation in api_operations():
            reached_by, base_values = calibration[operation.label]
            probes = probes_for(
                operation,
                world,
                role=role,
                roles=ROLES,
                reached_by=reached_by,
                base_values=base_values,
            )
            for probe in probes:
                fuzzer.send(
                    probe.method,
                    probe.path,
                    data=probe.data,
                    content_type=probe.content_type,
                    headers=probe.headers,
                    what=probe.what,
                )
    fuzzer.check()
