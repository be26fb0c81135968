"""Demo City Dialogue: a live and an upcoming Q&A session, and discussions of the demo
initiatives with an official answer.

Called by `manage.py seed_demo` in demo mode. Everything goes through the services, as people
would do it (under generous rate limits: the demo residents act within one second); running
it again adds nothing that is already there.
"""

from __future__ import annotations

from datetime import timedelta

from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import User
from communities.models import Initiative

from .models import Comment, Session, Thread
from .services import (
    SessionInput,
    comment_mark_answer,
    comment_post,
    flag_create,
    question_ask,
    question_moderate,
    question_vote,
    reaction_set,
    session_create,
    session_reschedule,
    thread_create,
    thread_for,
)

URBAN_TITLE = "Urban Dialogue: городская среда и транспорт"
BUSINESS_TITLE = "Business Dialogue: малый бизнес и акимат"
TOPIC_TITLE = "Автобусные маршруты в Ауэзовском районе"

URBAN_QUESTIONS = [
    # text, anonymous, upvotes
    ("Когда продлят велодорожку по проспекту Абая до Саина?", False, 14),
    ("Почему на остановках нет табло с реальным временем прибытия автобусов?", False, 11),
    ("Можно ли сделать дворы без машин в микрорайонах Ауэзовского района?", True, 7),
    ("Будут ли освещать пешеходные переходы у школ до начала учебного года?", False, 5),
    ("Как жители могут участвовать в выборе мест для новых скверов?", False, 3),
]

# Discussions of the first demo initiatives: (citizen, reply of a resident, official answer).
DISCUSSION = (
    "Поддерживаю! Важно, чтобы проект обсуждали с жителями соседних домов, а не только "
    "с архитекторами.",
    "Согласен. И нужно сразу подумать о парковке для велосипедов.",
    "Акимат рассмотрел инициативу. **Проектирование** начнётся после публичных слушаний; "
    "дату слушаний опубликуем здесь и на странице инициативы.",
)

GENEROUS = {"comment": 10_000, "question": 10_000, "vote": 10_000, "flag": 10_000}


def seed_dialogue(*, official: User, moderator: User, citizen: User, residents, stdout) -> None:
    residents = list(residents)
    with override_settings(RATE_LIMITS=GENEROUS):
        urban = _urban_session(official=official, moderator=moderator, residents=residents)
        business = _business_session(official=official, moderator=moderator)
        threads = _discussions(official=official, citizen=citizen, residents=residents)
    stdout.write(
        f"City Dialogue: {Session.objects.count()} sessions "
        f"(live: {urban.get_absolute_url()}, presenter: {urban.get_absolute_url()}presenter/; "
        f"upcoming: {business.get_absolute_url()}), {threads} new discussions"
    )


def _session(*, title, moderator, **fields) -> tuple[Session, bool]:
    existing = Session.objects.filter(title=title).first()
    if existing:
        return existing, False
    return session_create(actor=moderator, data=SessionInput(title=title, **fields)), True


# The live demo session stays live: each seed run moves its hours around now when fewer than
# this many are left (so running seed_demo twice in a row changes nothing the second time).
LIVE_BEFORE, LIVE_AFTER, LIVE_MARGIN = timedelta(hours=1), timedelta(hours=3), timedelta(hours=1)


def _keep_live(session: Session, *, moderator) -> Session:
    now = timezone.now()
    if session.starts_at <= now and session.ends_at - now >= LIVE_MARGIN:
        return session
    return session_reschedule(
        actor=moderator,
        session_id=session.pk,
        starts_at=now - LIVE_BEFORE,
        ends_at=now + LIVE_AFTER,
    )


def _urban_session(*, official, moderator, residents) -> Session:
    now = timezone.now()
    session, created = _session(
        title=URBAN_TITLE,
        moderator=moderator,
        language="ru",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        moderation=Session.Moderation.POST,
        description="Открытая встреча с акиматом: велодорожки, общественный транспорт, "
        "дворы и скверы. Задавайте вопросы и голосуйте за те, на которые хотите услышать ответ.",
        # Written in Russian, with its Kazakh and English versions (civic/content.py).
        original_language="ru",
        title_kk="Urban Dialogue: қалалық орта және көлік",
        title_en="Urban Dialogue: the city's streets and transport",
        description_kk="Әкімдікпен ашық кездесу: веложолдар, қоғамдық көлік, аулалар мен "
        "скверлер. Сұрақ қойыңыз және жауабын естігіңіз келетін сұрақтарға дауыс беріңіз.",
        description_en="An open meeting with the akimat: bike lanes, public transport, "
        "courtyards and squares. Ask, and upvote the questions you want answered.",
        host_ids=(official.pk,),
    )
    if not created:
        session = _keep_live(session, moderator=moderator)
    if not created or session.questions.exists():
        return session
    asked = []
    for i, (text, anonymous, upvotes) in enumerate(URBAN_QUESTIONS):
        question = question_ask(
            actor=residents[i], session_id=session.pk, text=text, anonymous=anonymous
        )
        for voter in residents[len(URBAN_QUESTIONS) : len(URBAN_QUESTIONS) + upvotes]:
            question_vote(actor=voter, question_id=question.pk)
        asked.append(question)
    # The most upvoted question is on screen; the last one has been answered.
    question_moderate(actor=moderator, question_id=asked[0].pk, action="pin")
    question_moderate(actor=official, question_id=asked[-1].pk, action="answer")
    return session


def _business_session(*, official, moderator) -> Session:
    # 11:00 in Almaty, three days from now.
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(
        hour=11, minute=0, second=0, microsecond=0
    )
    session, _created = _session(
        title=BUSINESS_TITLE,
        moderator=moderator,
        language="ru",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        moderation=Session.Moderation.PRE,
        description="Предприниматели и акимат: аренда, разрешения, поддержка социального "
        "бизнеса. Вопросы появляются после проверки модератором; приём вопросов откроется "
        "в начале встречи.",
        # In Russian only, on purpose: kk and en pages show it with its "in Russian" note.
        original_language="ru",
        host_ids=(official.pk,),
    )
    # Questions open when it starts (the services refuse them before): none are seeded here.
    return session


def _discussions(*, official, citizen, residents) -> int:
    created = 0
    initiatives = Initiative.objects.exclude(status=Initiative.Status.DRAFT).order_by("pk")[:3]
    for initiative in initiatives:
        thread = thread_for(actor=citizen, initiative=initiative)
        if thread.comments.exists():
            continue
        created += 1
        first_text, reply_text, answer_text = DISCUSSION
        first = comment_post(actor=citizen, thread_id=thread.pk, body=first_text)
        comment_post(actor=residents[0], thread_id=thread.pk, body=reply_text, parent_id=first.pk)
        answer = comment_post(actor=official, thread_id=thread.pk, body=answer_text)
        comment_mark_answer(actor=official, comment_id=answer.pk)
        for voter in residents[1:9]:
            reaction_set(actor=voter, comment_id=first.pk, kind="agree")
        reaction_set(actor=residents[9], comment_id=first.pk, kind="disagree")
    if not Thread.objects.filter(title=TOPIC_TITLE).exists():
        created += 1
        topic = thread_create(actor=citizen, title=TOPIC_TITLE)
        comment_post(
            actor=citizen,
            thread_id=topic.pk,
            body="После изменения маршрутов до центра приходится ехать с пересадкой. "
            "Можно ли вернуть прямой автобус от Аксая до Абая?",
        )
        for resident in residents[10:13]:
            comment_post(
                actor=resident,
                thread_id=topic.pk,
                body="Присоединяюсь, утром автобусы переполнены.",
                parent_id=Comment.objects.filter(thread=topic, parent__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
                .first(),
            )
        # A heated remark someone reported: the moderators' queue has something to show.
        remark = comment_post(
            actor=residents[13],
            thread_id=topic.pk,
            body="Кто придумал эти маршруты, тот сам на автобусе никогда не ездил.",
        )
        flag_create(actor=residents[14], comment_id=remark.pk, reason="Грубость в адрес людей")
    return created
