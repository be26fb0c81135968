"""The audit log reads as sentences: one test per kind of entry, the page in kk/ru/en, links,
and a fixed number of queries per page."""

from __future__ import annotations

import pytest
from django.utils import translation

from audit.describe import KINDS, Target, describe, describe_all, kind_label
from audit.models import AuditEntry
from tests.factories import UserFactory, make_initiative

pytestmark = pytest.mark.django_db

T = '“<a href="/x/">Tram depot</a>”'
# kind -> (target type, facts, the English sentence with actor "Aigerim" and target "Tram depot")
EXPECTED = {
    "poll.open": ("polls.poll", {}, f"<strong>Aigerim</strong> opened the poll {T}"),
    "poll.close": ("polls.poll", {"total_votes": 12},
                   f"<strong>Aigerim</strong> closed the poll {T} with 12 ballots"),
    "poll.update": ("polls.poll", {}, f"<strong>Aigerim</strong> changed the draft poll {T}"),
    "poll.delete": ("polls.poll", {}, f"<strong>Aigerim</strong> deleted the draft poll {T}"),
    "initiative.move": ("communities.initiative", {"from": "draft", "to": "submitted"},
                        f"<strong>Aigerim</strong> moved the initiative {T} from Draft to Submitted"),
    "initiative.decide": ("communities.initiative", {"from": "under_review", "to": "accepted"},
                          f"<strong>Aigerim</strong> decided on the initiative {T}: from Under review to Accepted"),
    "initiative.progress": ("communities.initiative", {"percent": 40},
                            f"<strong>Aigerim</strong> reported progress on the initiative {T} (40\u202f%)"),
    "threshold.set": ("", {"threshold": 150},
                      "<strong>Aigerim</strong> set the support needed for review to 150"),
    "community.approve": ("communities.community", {"reason": ""},
                          f"<strong>Aigerim</strong> approved the community {T}."),
    "community.reject": ("communities.community", {"reason": "No charter"},
                         f"<strong>Aigerim</strong> rejected the community {T}. Reason: “No charter”."),
    "community.suspend": ("communities.community", {"reason": "Spam"},
                          f"<strong>Aigerim</strong> suspended the community {T}. Reason: “Spam”."),
    "community.reinstate": ("communities.community", {},
                            f"<strong>Aigerim</strong> reinstated the community {T}."),
    "thread.hide": ("dialogue.thread", {"reason": "Off topic"},
                    f"<strong>Aigerim</strong> hid the discussion {T}. Reason: “Off topic”."),
    "thread.restore": ("dialogue.thread", {}, f"<strong>Aigerim</strong> restored the discussion {T}"),
    "thread.answer": ("dialogue.thread", {"comment": 3},
                      f"<strong>Aigerim</strong> marked the official answer in {T}"),
    "comment.hide": ("dialogue.comment", {"reason": "Rude"},
                     f"<strong>Aigerim</strong> hid the comment {T}. Reason: “Rude”."),
    "comment.restore": ("dialogue.comment", {}, f"<strong>Aigerim</strong> restored the comment {T}"),
    "session.create": ("dialogue.session", {}, f"<strong>Aigerim</strong> scheduled the Q&amp;A session {T}"),
    "session.reschedule": ("dialogue.session", {},
                           f"<strong>Aigerim</strong> changed the time of the Q&amp;A session {T}"),
    "session.ban": ("dialogue.session", {"user": 4, "reason": "Spam"},
                    f"<strong>Aigerim</strong> removed a participant from the Q&amp;A session {T}. Reason: “Spam”."),
    "session.unban": ("dialogue.session", {"user": 4},
                      f"<strong>Aigerim</strong> let a participant back into the Q&amp;A session {T}"),
    "question.approve": ("dialogue.question", {}, f"<strong>Aigerim</strong> published the question {T}"),
    "question.pin": ("dialogue.question", {}, f"<strong>Aigerim</strong> put the question {T} on screen"),
    "question.unpin": ("dialogue.question", {}, f"<strong>Aigerim</strong> took the question {T} off screen"),
    "question.answer": ("dialogue.question", {}, f"<strong>Aigerim</strong> marked the question {T} answered"),
    "question.hide": ("dialogue.question", {"reason": "Spam"},
                      f"<strong>Aigerim</strong> hid the question {T}. Reason: “Spam”."),
    "question.restore": ("dialogue.question", {}, f"<strong>Aigerim</strong> restored the question {T}"),
    "flag.create": ("dialogue.flag", {"reason": "Lies"},
                    f"<strong>Aigerim</strong> reported {T}. Reason: “Lies”."),
    "flag.dismiss": ("dialogue.flag", {}, f"<strong>Aigerim</strong> dismissed the report {T}"),
    "budget_round.create": ("budgets.budgetround", {}, f"<strong>Aigerim</strong> created the budget round {T}"),
    "budget_round.update": ("budgets.budgetround", {}, f"<strong>Aigerim</strong> changed the budget round {T}"),
    "budget_round.delete": ("budgets.budgetround", {}, f"<strong>Aigerim</strong> deleted the budget round {T}"),
    "budget_round.schedule": ("budgets.budgetround", {},
                              f"<strong>Aigerim</strong> scheduled the budget round {T}"),
    "budget_round.open": ("budgets.budgetround", {}, f"<strong>Aigerim</strong> opened the budget round {T}"),
    "budget_round.close": ("budgets.budgetround", {"ballots": 7},
                           f"<strong>Aigerim</strong> closed the budget round {T} with 7 ballots"),
    "budget_round.outcomes": ("budgets.budgetround", {},
                              f"<strong>Aigerim</strong> recorded the outcomes of the budget round {T}"),
    "budget_round.recompute": ("budgets.budgetround", {},
                               f"<strong>Aigerim</strong> recounted the budget round {T}"),
    "budget_round.import": ("budgets.budgetround", {"projects": 5, "ballots": 90},
                            f"<strong>Aigerim</strong> imported into {T}: projects: 5, ballots: 90"),
    "budget_project.add": ("budgets.budgetproject", {"round": 1, "title": "Benches"},
                           "<strong>Aigerim</strong> added the project “Benches” to a budget round"),
    "budget_project.cost": ("budgets.budgetproject", {"from": 100, "to": 120},
                            f"<strong>Aigerim</strong> changed the cost of the project {T} from 100 to 120 ₸"),
    "budget_project.remove": ("budgets.budgetproject", {},
                              f"<strong>Aigerim</strong> removed the project {T}"),
    "role.grant": ("accounts.user", {"role": "moderator"},
                   "<strong>Aigerim</strong> made <a href=\"/x/\">Tram depot</a>: Moderator"),
    "role.revoke": ("accounts.user", {"role": "official"},
                    "<strong>Aigerim</strong> took the role Official from <a href=\"/x/\">Tram depot</a>"),
    "user.flags": ("accounts.user", {}, "<strong>Aigerim</strong> changed the account <a href=\"/x/\">Tram depot</a>"),
    "audit.export": ("", {"format": "csv"}, "<strong>Aigerim</strong> exported the audit log"),
    "census.import_created": ("residents.censusimport", {"bytes": 10, "file": "a.csv"},
                              "<strong>Aigerim</strong> uploaded a census file"),
    "census.import_refused": ("residents.censusimport", {"reason": "too_large"},
                              "<strong>Aigerim</strong> uploaded a census file that was refused"),
    "census.import_done": ("residents.censusimport", {"rows_total": 10, "rows_rejected": 2},
                           "<strong>Aigerim</strong> imported the census: rows: 10, refused: 2"),
    "resident.verified": ("accounts.user", {"method": "census"},
                          "<a href=\"/x/\">Tram depot</a> was verified as a resident"),
    "resident.verify_failed": ("accounts.user", {"code": "no_match"},
                               "A residence check of <a href=\"/x/\">Tram depot</a> failed"),
    "resident.verify_throttled": ("accounts.user", {},
                                  "Residence checks of <a href=\"/x/\">Tram depot</a> were paused: too many tries"),
    "resident.verification_removed": ("accounts.user", {},
                                      "<a href=\"/x/\">Tram depot</a> removed their residence verification"),
    "resident.desk_failed": ("accounts.user", {"code": "x"},
                             "<strong>Aigerim</strong> could not verify <a href=\"/x/\">Tram depot</a> at the desk"),
    "resident.identity_reported": ("", {"iin_last4": "1234"},
                                   "<strong>Aigerim</strong> reported that their identity may have been taken"),
    "resident.identity_report_failed": ("", {},
                                        "<strong>Aigerim</strong> tried to report a taken identity, without a match"),
    "resident.identity_report_closed": ("", {},
                                        "<strong>Aigerim</strong> closed a report of a taken identity"),
}  # fmt: skip


def test_every_kind_has_a_sentence_and_a_test():
    assert set(EXPECTED) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_kind_reads_as_a_sentence(kind):
    target_type, data, sentence = EXPECTED[kind]
    actor = UserFactory(display_name="Aigerim")
    entry = AuditEntry(actor=actor, action=kind, target_type=target_type,
                       target_id="7" if target_type else "", data=data)  # fmt: skip
    targets = {(target_type, "7"): Target("Tram depot", "/x/")} if target_type else {}
    with translation.override("en"):
        text = str(describe(entry, targets))
        label = kind_label(kind)
    assert text == sentence
    assert "{" not in text and "_" not in text.replace("/x/", "")
    assert label.startswith("…") or "…" in label  # the filter names the kind in words
    assert kind not in label


def test_a_gone_target_is_named_by_its_kind_and_number():
    entry = AuditEntry(actor=None, action="poll.delete", target_type="polls.poll", target_id="9")
    with translation.override("en"):
        assert str(describe(entry, {})) == "The system deleted the draft poll poll #9"


def test_an_unknown_kind_still_reads_without_a_crash():
    entry = AuditEntry(actor=None, action="thing.happened", target_type="", target_id="")
    with translation.override("en"):
        assert "thing.happened" in str(describe(entry, {}))


def test_names_and_statuses_come_in_the_readers_language():
    from communities.models import Initiative

    initiative = make_initiative()
    entry = AuditEntry.objects.create(
        actor=UserFactory(display_name="Aigerim"),
        action="initiative.decide",
        target_type="communities.initiative",
        target_id=str(initiative.pk),
        data={"from": "under_review", "to": "accepted"},
    )
    for lang in ("kk", "ru", "en"):
        with translation.override(lang):
            (row,) = describe_all([entry])
            text = str(row["sentence"])
            assert str(Initiative.Status.UNDER_REVIEW.label) in text
            assert str(Initiative.Status.ACCEPTED.label) in text
            assert f'href="/{lang}/' in text  # the link keeps the reader's language
            assert "under_review" not in text and "communities.initiative" not in text


def test_targets_of_a_page_take_one_query_per_kind_of_object(django_assert_max_num_queries):
    actor = UserFactory()
    entries = [
        AuditEntry.objects.create(actor=actor, action="initiative.move",
                                  target_type="communities.initiative",
                                  target_id=str(make_initiative().pk), data={})
        for _ in range(5)
    ]  # fmt: skip
    entries = list(
        AuditEntry.objects.select_related("actor").filter(pk__in=[e.pk for e in entries])
    )
    with django_assert_max_num_queries(1):
        rows = describe_all(entries)
    assert len(rows) == 5
