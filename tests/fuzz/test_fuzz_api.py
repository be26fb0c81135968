"""Every API operation gets the catalogue of bad inputs, as every role: no 5xx, and a refused
request changes no row."""

from __future__ import annotations

import pytest
from django.db import transaction

from .api_surface import api_operations, probes_for
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
def reached_by(world, django_db_blocker) -> dict[str, list[str]]:
    """For each operation, the roles whose valid request is not refused with 401 or 403."""
    reach: dict[str, list[str]] = {}
    with django_db_blocker.unblock():
        clients = {role: client_as(world, role) for role in ROLES}
        for operation in api_operations():
            probe = probes_for(operation, world, role=ROLES[0], roles=ROLES, reached_by=[])[0]
            reach[operation.label] = []
            for role, client in clients.items():
                with transaction.atomic():
                    status = client.generic(
                        probe.method.upper(),
                        probe.path,
                        data=probe.data,
                        content_type=probe.content_type,
                    ).status_code
                    transaction.set_rollback(True)
                if status not in (401, 403):
                    reach[operation.label].append(role)
    return reach


@pytest.mark.parametrize("role", ROLES)
def test_api_fuzz(world, reached_by, role):
    client = client_as(world, role)
    with Fuzzer(client, role=role, surface="api") as fuzzer:
        for operation in api_operations():
            probes = probes_for(
                operation, world, role=role, roles=ROLES, reached_by=reached_by[operation.label]
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
