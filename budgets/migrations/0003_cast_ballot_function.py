"""On PostgreSQL, birge_cast_budget_ballot(): a budget ballot in one statement, one round trip,
committed on its own (budgets.services.ballot_cast), as polls' birge_cast_ballot does a vote.
It takes the round's gate shared, checks that the round is open by the database's clock (a
fresh snapshot after the gate, so a close that committed meanwhile is seen), then writes the
participation, the ballot and its picks, or nothing."""

from django.db import migrations

CAST = """
CREATE OR REPLACE FUNCTION birge_cast_budget_ballot(
    p_gate_class integer, p_gate_key integer, p_round bigint, p_participant bigint,
    p_ballot uuid, p_voter bigint, p_ballot_key uuid, p_projects bigint[], p_pick_ids bigint[]
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_secret boolean := p_voter IS NULL;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(p_gate_class, p_gate_key);
    PERFORM 1 FROM budgets_budgetround WHERE id = p_round AND status = 'open' AND closes_at > now();
    IF NOT FOUND THEN
        RETURN 'not_open';
    END IF;
    -- A second ballot of the same voter fails a unique constraint here.
    INSERT INTO budgets_budgetparticipation (round_id, voter_id, created_at)
    VALUES (p_round, p_participant, now());
    INSERT INTO budgets_budgetballot (id, round_id, voter_id, created_at, ballot_key)
    VALUES (p_ballot, p_round, p_voter, CASE WHEN v_secret THEN NULL ELSE now() END, p_ballot_key);
    INSERT INTO budgets_budgetballotproject (id, ballot_id, project_id, round_id)
    SELECT coalesce(given.id, nextval(pg_get_serial_sequence('budgets_budgetballotproject', 'id'))),
           p_ballot, given.project, p_round
    FROM unnest(p_projects, p_pick_ids) AS given (project, id);
    RETURN 'ok';
END;
$$;
"""

DROP = (
    "DROP FUNCTION IF EXISTS birge_cast_budget_ballot("
    "integer, integer, bigint, bigint, uuid, bigint, uuid, bigint[], bigint[])"
)


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CAST)


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0002_content_languages"),
    ]

    operations = [migrations.RunPython(_create, _drop)]
