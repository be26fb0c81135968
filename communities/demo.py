"""Demo communities' details, members and initiatives in every status, with a dossier.

Called by `manage.py seed_demo` in demo mode. Everything goes through the services, as
people would do it; running it again adds nothing that is already there.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import District, User

from .models import Community, Initiative, Membership
from .services import (
    CommunityInput,
    InitiativeInput,
    attachment_add,
    community_register,
    initiative_create,
    initiative_progress_add,
    initiative_transition,
    support_add,
)

COMMUNITY_DETAILS = {
    # slug: (kk name, en name, focus areas, contact e-mail, website)
    "tram-depot": (
        "Трамвай деполары — қауымдастыққа",
        "Tram Depot for the Community",
        ["urban_space", "culture", "transport"],
        "depo@demo.birge.kz",
        "https://depo.example.kz",
    ),
    "green-almaty": (
        "Жасыл Алматы",
        "Green Almaty",
        ["ecology", "health"],
        "green@demo.birge.kz",
        "",
    ),
    "velo-almaty": (
        "Велосипедті Алматы",
        "Cycling Almaty",
        ["transport", "urban_space"],
        "velo@demo.birge.kz",
        "",
    ),
    "kamkor-social": (
        "Қамқор — әлеуметтік кәсіпорын",
        "Kamkor social business",
        ["social", "business"],
        "kamkor@demo.birge.kz",
        "",
    ),
}

# community slug, title, summary, category, district, (lat, lon), budget, timeline, status, body
INITIATIVES = [
    (
        "tram-depot",
        "Реконструкция бывшего трамвайного депо в общественное пространство",
        "Депо становится местом для культуры, мастерских и рынка выходного дня.",
        "urban_space",
        "almaly",
        ("43.256700", "76.928600"),
        "1850000000",
        "2027–2029",
        "accepted",
        "Проект подготовлен сообществом за несколько месяцев: **эскизный проект**, "
        "смета и результаты обсуждений с соседями.\n\n"
        "- сохранить исторические цеха\n- открыть двор для жителей\n- мастерские и рынок",
    ),
    (
        "green-almaty",
        "Субботник в парке Первого Президента",
        "Весенняя уборка парка вместе с жителями Бостандыкского района.",
        "ecology",
        "bostandyk",
        ("43.188400", "76.886700"),
        "450000",
        "апрель 2026",
        "implemented",
        "Мешки, перчатки и вывоз мусора — от акимата района; волонтёры — от сообщества.",
    ),
    (
        "velo-almaty",
        "Защищённая велодорожка по проспекту Абая",
        "Отделённая от машин велодорожка от Розыбакиева до Достык.",
        "transport",
        "almaly",
        ("43.240200", "76.909700"),
        "920000000",
        "2027",
        "under_review",
        "Велодорожка шириной 2 м с физическим отделением от проезжей части.",
    ),
    (
        "green-almaty",
        "Датчики качества воздуха в каждом дворе Ауэзовского района",
        "Открытые данные о PM2.5 рядом с домом, на карте в реальном времени.",
        "ecology",
        "auezov",
        ("43.219500", "76.847000"),
        "36000000",
        "6 месяцев",
        "submitted",
        "",
    ),
    (
        "green-almaty",
        "Тысяча деревьев вдоль Восточной объездной",
        "Посадка и три года ухода за деревьями силами волонтёров.",
        "ecology",
        "medeu",
        None,
        "120000000",
        "2026–2028",
        "in_progress",
        "",
    ),
    (
        "kamkor-social",
        "Доступные пешеходные переходы в Турксибе",
        "Понижения бордюров и тактильная плитка на 40 переходах.",
        "social",
        "turksib",
        ("43.339000", "77.004000"),
        "210000000",
        "2027",
        "changes_requested",
        "",
    ),
    (
        "velo-almaty",
        "Ночной велопробег по перекрытому Аль-Фараби",
        "Раз в месяц перекрывать проспект для велосипедистов ночью.",
        "culture",
        "bostandyk",
        None,
        "15000000",
        "ежемесячно",
        "rejected",
        "",
    ),
    (
        "tram-depot",
        "Летний кинотеатр во дворе депо",
        "Показы под открытым небом по пятницам.",
        "culture",
        "almaly",
        None,
        "",
        "лето 2027",
        "draft",
        "",
    ),
    (
        "kamkor-social",
        "Инклюзивное кафе на Арбате",
        "Кафе, где работают люди с инвалидностью.",
        "business",
        "almaly",
        None,
        "25000000",
        "",
        "withdrawn",
        "",
    ),
]

# The initiatives' other-language versions (civic/content.py), by their Russian title:
# (kk title, kk summary), (en title, en summary). Some are given in one language only, on
# purpose: their kk or en pages show the Russian text with its "in Russian" note.
TRANSLATIONS = {
    "Реконструкция бывшего трамвайного депо в общественное пространство": (
        ("Бұрынғы трамвай деполарын қоғамдық кеңістікке айналдыру",
         "Депо мәдениет, шеберханалар және демалыс күнгі базар орнына айналады."),
        ("Turning the former tram depot into a public space",
         "The depot becomes a place for culture, workshops and a weekend market."),
    ),
    "Субботник в парке Первого Президента": (
        ("Тұңғыш Президент саябағындағы сенбілік",
         "Бостандық ауданының тұрғындарымен бірге саябақты көктемгі тазалау."),
        ("Clean-up day in the First President's Park",
         "A spring clean-up of the park with the residents of Bostandyk district."),
    ),
    "Защищённая велодорожка по проспекту Абая": (
        ("Абай даңғылы бойындағы қорғалған веложол",
         "Розыбакиевтен Достыққа дейін көліктерден бөлінген веложол."),
        ("A protected bike lane along Abay Avenue",
         "A bike lane separated from cars, from Rozybakiev to Dostyk."),
    ),
    "Датчики качества воздуха в каждом дворе Ауэзовского района": (
        None,  # no Kazakh version: the kk page shows the Russian with its note
        ("Air-quality sensors in every courtyard of Auezov district",
         "Open PM2.5 data next to your home, on a live map."),
    ),
    "Тысяча деревьев вдоль Восточной объездной": (
        ("Шығыс айналма жолы бойында мың ағаш",
         "Еріктілердің күшімен ағаш отырғызу және үш жыл күтім."),
        ("A thousand trees along the Eastern Bypass",
         "Planting, and three years of care for the trees by volunteers."),
    ),
    "Доступные пешеходные переходы в Турксибе": (
        ("Түрксібтегі қолжетімді жаяу жүргінші өткелдері",
         "40 өткелде бордюрлерді төмендету және тактильді плиткалар."),
        ("Accessible pedestrian crossings in Turksib",
         "Lowered kerbs and tactile paving at 40 crossings."),
    ),
    "Инклюзивное кафе на Арбате": (
        None,
        ("An inclusive café on the Arbat", "A café where people with disabilities work."),
    ),
    # The night bike ride and the summer cinema: in Russian only.
}  # fmt: skip

# The communities' descriptions in Kazakh and English (Kamkor's: in Russian only, on purpose).
DESCRIPTIONS = {
    "tram-depot": (
        "Бұрынғы трамвай деподан қоғамдық кеңістік жасау жобасын дайындап жатқан тұрғындар мен "
        "сәулетшілер: эскиздік жоба, смета, көршілермен талқылау.",
        "Residents and architects preparing the conversion of the former tram depot into a "
        "public space: design concept, cost estimate, talks with the neighbours.",
    ),
    "green-almaty": (
        "Экологиялық бірлестік: саябақтардағы сенбіліктер, ағаш отырғызу, тұрғындармен бірге "
        "ауа сапасын бақылау.",
        "An environmental association: park clean-ups, tree planting and air-quality "
        "monitoring together with residents.",
    ),
    "velo-almaty": (
        "Қауіпсіз веложолдар желісі мен ыңғайлы өткелдер үшін қала велосипедшілері.",
        "The city's cyclists for a safe network of bike lanes and convenient crossings.",
    ),
}

# Dossier documents' titles: written in English, with their Kazakh and Russian versions.
DOCUMENT_TITLES = {
    "Design": {"kk": {"title": "Жоба"}, "ru": {"title": "Проект"}},
    "Cost estimate": {"kk": {"title": "Смета"}, "ru": {"title": "Смета"}},
}

RESPONSES = {
    "under_review": "Проект передан в управление мобильности; ответ — в течение 30 дней.",
    "accepted": "Акимат принимает проект сообщества за основу реконструкции депо. "
    "Разработка ПСД включена в план 2027 года.",
    "rejected": "Перекрытие магистрали ночью невозможно по требованиям экстренных служб. "
    "Предлагаем провести велопробег в парке.",
    "changes_requested": "Уточните список переходов и приложите фотографии текущего состояния.",
    "in_progress": "Посадка начата: 320 деревьев из 1000.",
    "implemented": "Субботник проведён, вывезено 12 тонн мусора. Спасибо жителям!",
}

# Progress the community reported on its initiative in progress (the trees): percent, note.
PROGRESS = [
    (12, "Посажены первые 120 деревьев у развязки с Рыскулова."),
    (32, "320 деревьев из 1000; полив организован с волонтёрами района."),
]

SUPPORTERS = {"accepted": 37, "under_review": 23, "submitted": 8}

PATHS = {
    "draft": [],
    "submitted": ["submitted"],
    "under_review": ["submitted", "under_review"],
    "changes_requested": ["submitted", "under_review", "changes_requested"],
    "accepted": ["submitted", "under_review", "accepted"],
    "rejected": ["submitted", "under_review", "rejected"],
    "in_progress": ["submitted", "under_review", "accepted", "in_progress"],
    "implemented": ["submitted", "under_review", "accepted", "in_progress", "implemented"],
    "withdrawn": ["submitted", "withdrawn"],
}


def small_pdf(text: str) -> bytes:
    """A valid one-page PDF with one line of (ASCII) text."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def seed_communities(*, lead: User, citizen: User, moderator: User, official: User, voters, stdout):
    for slug, (name_kk, name_en, focus, email, website) in COMMUNITY_DETAILS.items():
        community = Community.objects.get(slug=slug)
        description_kk, description_en = DESCRIPTIONS.get(slug, ("", ""))
        # The demo's communities are written in Russian (seed_demo), with kk/en versions.
        Community.objects.filter(slug=slug).update(
            original_language="ru",
            name_kk=name_kk,
            name_ru=community.name,
            name_en=name_en,
            description_ru=community.description,
            description_kk=description_kk,
            description_en=description_en,
            focus_areas=focus,
            contact_email=email,
            website=website,
        )
        community = Community.objects.get(slug=slug)
        Membership.objects.get_or_create(
            community=community, user=lead, defaults={"role": Membership.Role.LEAD}
        )
    if not Community.objects.filter(slug="turksib-neighbours").exists():
        pending = community_register(
            actor=citizen,
            data=CommunityInput(
                name="Соседи Турксиба",
                original_language="ru",
                name_kk="Түрксіб көршілері",
                name_en="Turksib Neighbours",
                kind=Community.Kind.CITIZEN_GROUP,
                description="Жители Турксибского района: дворы, освещение, детские площадки.",
                focus_areas=["urban_space", "social"],
                district_ids=list(
                    District.objects.filter(slug="turksib").values_list("pk", flat=True)
                ),
            ),
        )
        Community.objects.filter(pk=pending.pk).update(slug="turksib-neighbours")
    created = 0
    for row in INITIATIVES:
        slug, title, summary, category, district, location, budget, timeline, status, body = row
        community = Community.objects.get(slug=slug)
        if Initiative.objects.filter(community=community, title=title).exists():
            continue
        kk, en = TRANSLATIONS.get(title, (None, None))
        initiative = initiative_create(
            actor=lead,
            community_id=community.pk,
            data=InitiativeInput(
                title=title,
                summary=summary,
                original_language="ru",
                title_kk=kk[0] if kk else "",
                summary_kk=kk[1] if kk else "",
                title_en=en[0] if en else "",
                summary_en=en[1] if en else "",
                category=category,
                body=body,
                district_id=District.objects.get(slug=district).pk,
                latitude=location[0] if location else None,
                longitude=location[1] if location else None,
                budget_kzt=Decimal(budget) if budget else None,
                timeline=timeline,
            ),
        )
        if slug == "tram-depot" and status == "accepted":
            _dossier(initiative, lead)
        for to in PATHS[status]:
            if to == "under_review":  # supporters arrive while it is open
                for voter in voters[: SUPPORTERS.get(status, 12)]:
                    support_add(actor=voter, initiative_id=initiative.pk)
            actor = lead if to in ("submitted", "withdrawn") else official
            initiative_transition(
                actor=actor,
                initiative_id=initiative.pk,
                to=to,
                response=RESPONSES.get(to, "") if actor is official else "",
            )
        if status == "submitted":
            for voter in voters[: SUPPORTERS["submitted"]]:
                support_add(actor=voter, initiative_id=initiative.pk)
        if status == "in_progress":
            for percent, note in PROGRESS:
                initiative_progress_add(
                    actor=lead, initiative_id=initiative.pk, percent=percent, note=note
                )
        created += 1
    stdout.write(
        f"Initiatives: {Initiative.objects.count()} ({created} new; "
        f"tram depot: {Initiative.objects.filter(community__slug='tram-depot', status='accepted').first().get_absolute_url()})"
    )


def _dossier(initiative: Initiative, lead: User) -> None:
    files = [
        ("Design", "design", "depot-design-v1.pdf", "Tram depot: design concept v1"),
        ("Design", "design", "depot-design-v2.pdf", "Tram depot: design concept v2"),
        ("Cost estimate", "estimate", "depot-estimate.pdf", "Tram depot: cost estimate"),
    ]
    for title, kind, name, text in files:
        attachment_add(
            actor=lead,
            initiative_id=initiative.pk,
            title=title,
            original_language="en",
            translations=DOCUMENT_TITLES.get(title),
            kind=kind,
            upload=SimpleUploadedFile(name, small_pdf(text), content_type="application/pdf"),
        )
