"""Votes stop locking the counters: their +1s go to PendingTally, folded in per tick.

- PendingTally: the table of not-yet-counted changes.
- The counter shards are merged into shard 0 (only the fold writes counters now).
- On PostgreSQL, birge_cast_ballot(): a vote in one statement, one round trip (see
  polls.services._cast_pg). It takes the poll's gate shared, checks that the poll is open by
  the database's clock, claims a ballot code (a secret ballot's is claimed, not linked), writes the participation of a secret ballot,
  the ballot, its selections, its pending +1s and its Idempotency-Key record, or nothing.
"""

import django.db.models.deletion
from django.db import migrations, models

CAST_BALLOT = """
CREATE OR REPLACE FUNCTION birge_cast_ballot(
    p_gate_class integer, p_gate_key integer, p_poll bigint, p_ballot uuid,
    p_voter bigint, p_claim_code bigint, p_ballot_code bigint, p_participant bigint,
    p_cast_at timestamptz, p_now timestamptz,
    p_choices bigint[], p_selection_ids bigint[],
    p_idem_scope text, p_idem_key text, p_idem_response jsonb
) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    -- Votes share the gate; a close takes it exclusively (polls.services._gate). Whether the
    -- poll is open is the database's clock; the times written are the caller's (p_now).
    PERFORM pg_advisory_xact_lock_shared(p_gate_class, p_gate_key);
    PERFORM 1 FROM polls_poll WHERE id = p_poll AND status = 'open' AND closes_at > now();
    IF NOT FOUND THEN
        RETURN 'not_open';
    END IF;
    IF p_claim_code IS NOT NULL THEN
        UPDATE polls_eventcode SET used_at = p_now
        WHERE id = p_claim_code AND used_at IS NULL AND revoked_at IS NULL;
        IF NOT FOUND THEN
            RETURN 'code_taken';
        END IF;
    END IF;
    IF p_participant IS NOT NULL THEN
        INSERT INTO polls_participation (poll_id, voter_id, created_at)
        VALUES (p_poll, p_participant, p_now);
    END IF;
    -- A second ballot of the same voter (or code) fails a unique constraint here.
    INSERT INTO polls_ballot (id, poll_id, voter_id, code_id, cast_at)
    VALUES (p_ballot, p_poll, p_voter, p_ballot_code, p_cast_at);
    INSERT INTO polls_ballotchoice (id, ballot_id, choice_id, poll_id)
    SELECT coalesce(given.id, nextval(pg_get_serial_sequence('polls_ballotchoice', 'id'))),
           p_ballot, given.choice, p_poll
    FROM unnest(p_choices, p_selection_ids) AS given (choice, id);
    INSERT INTO polls_pendingtally (poll_id, choice_id, delta)
    SELECT p_poll, chosen, 1 FROM unnest(p_choices) AS chosen
    UNION ALL SELECT p_poll, NULL, 1;
    IF p_idem_key IS NOT NULL THEN
        INSERT INTO polls_idempotencyrecord (scope, key, poll_id, response, created_at)
        VALUES (p_idem_scope, p_idem_key, p_poll, p_idem_response, p_now);
    END IF;
    RETURN 'ok';
END;
$$;
"""

DROP_CAST_BALLOT = (
    "DROP FUNCTION IF EXISTS birge_cast_ballot("
    "integer, integer, bigint, uuid, bigint, bigint, bigint, bigint, timestamptz, timestamptz, "
    "bigint[], bigint[], text, text, jsonb)"
)


def _create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CAST_BALLOT)


def _drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_CAST_BALLOT)


def _merge_shards(apps, schema_editor):
    """Each counter's shards summed into shard 0, the others deleted."""
    from django.db.models import Sum

    ChoiceTally = apps.get_model("polls", "ChoiceTally")
    BallotTally = apps.get_model("polls", "BallotTally")
    for choice_id, votes in ChoiceTally.objects.values_list("choice_id").annotate(n=Sum("votes")):
        ChoiceTally.objects.filter(choice_id=choice_id, shard=0).update(votes=votes)
    for poll_id, ballots in BallotTally.objects.values_list("poll_id").annotate(n=Sum("ballots")):
        BallotTally.objects.filter(poll_id=poll_id, shard=0).update(ballots=ballots)
    ChoiceTally.objects.exclude(shard=0).delete()
    BallotTally.objects.exclude(shard=0).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("polls", "0006_content_languages"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingTally",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("delta", models.SmallIntegerField()),
                (
                    "choice",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="polls.choice",
                    ),
                ),
                (
                    "poll",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="polls.poll",
                    ),
                ),
            ],
        ),
        migrations.RunPython(_merge_shards, migrations.RunPython.noop),
        migrations.RunPython(_create_function, _drop_function),
    ]
