"""Exports are named by ids nobody can guess: random UUIDs in every address, for new exports
and (by the migration) for the ones made before."""

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from dashboard.models import Export
from dashboard.services import export_create
from tests.factories import OfficialFactory, make_initiative


@pytest.mark.django_db
def test_finding_export_ids_unguessable(client, django_capture_on_commit_callbacks):
    official = OfficialFactory()
    make_initiative(status="under_review")
    with django_capture_on_commit_callbacks(execute=True):
        first = export_create(actor=official, kind="initiatives", format="csv")
        second = export_create(actor=official, kind="initiatives", format="csv")
    ids = [Export.objects.get(pk=e.pk).public_id for e in (first, second)]
    assert all(isinstance(i, uuid.UUID) and i.version == 4 for i in ids)  # 122 random bits
    assert ids[0] != ids[1]

    client.force_login(official)
    with translation.override("en"):
        download = reverse("dashboard:export_download", kwargs={"public_id": ids[1]})
        # The sequential id names no address any more.
        with pytest.raises(NoReverseMatch):
            reverse("dashboard:export_download", kwargs={"public_id": second.pk})
    assert str(ids[1]) in download and f"/{second.pk}/" not in download
    assert client.get(download).status_code == 200
    assert client.get(download.replace(str(ids[1]), str(second.pk))).status_code == 404
    html = client.get(reverse("dashboard:exports")).content.decode()
    assert download in html


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_exports_distinct_public_ids():
    official = OfficialFactory()
    executor = MigrationExecutor(connection)
    latest = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "dashboard"]
    executor.migrate([("dashboard", "0002_export_xlsx")])
    old_apps = executor.loader.project_state([("dashboard", "0002_export_xlsx")]).apps
    OldExport = old_apps.get_model("dashboard", "Export")
    for _ in range(3):
        OldExport.objects.create(kind="initiatives", format="csv", requested_by_id=official.pk)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    public_ids = list(Export.objects.values_list("public_id", flat=True))
    assert len(public_ids) == 3 and None not in public_ids
    assert len(set(public_ids)) == 3
    assert (
        Export.objects.create(kind="initiatives", format="csv", requested_by=official).public_id
        not in public_ids
    )
