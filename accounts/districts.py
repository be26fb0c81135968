"""Almaty's eight districts: reference data used by the data migration and seed_demo."""

ALMATY_DISTRICTS = [
    # slug, kk, ru, en
    ("alatau", "Алатау ауданы", "Алатауский район", "Alatau District"),
    ("almaly", "Алмалы ауданы", "Алмалинский район", "Almaly District"),
    ("auezov", "Әуезов ауданы", "Ауэзовский район", "Auezov District"),
    ("bostandyk", "Бостандық ауданы", "Бостандыкский район", "Bostandyk District"),
    ("zhetysu", "Жетісу ауданы", "Жетысуский район", "Zhetysu District"),
    ("medeu", "Медеу ауданы", "Медеуский район", "Medeu District"),
    ("nauryzbay", "Наурызбай ауданы", "Наурызбайский район", "Nauryzbay District"),
    ("turksib", "Түрксіб ауданы", "Турксибский район", "Turksib District"),
]


def ensure_districts(district_model) -> int:
    """Create or update the districts; returns how many were created. Idempotent."""
    created = 0
    for position, (slug, kk, ru, en) in enumerate(ALMATY_DISTRICTS):
        _obj, was_created = district_model.objects.update_or_create(
            slug=slug,
            defaults={"name_kk": kk, "name_ru": ru, "name_en": en, "position": position},
        )
        created += was_created
    return created
