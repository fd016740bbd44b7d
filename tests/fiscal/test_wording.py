"""Every Natura code and billing mode has its words in Italian and English."""

from __future__ import annotations

from services.fiscal import identifiers
from services.fiscal.natura import STAMP_DUTY_NATURE, Natura
from services.fiscal.profiles import BillingMode
from services.fiscal.wording import (
    CREDIT_NOTE_TITLE,
    MODE_WORDING,
    NATURA_WORDING,
    STAMP_DUTY_NOTICE,
    Locale,
    legal_reference,
    natura_text,
)


def test_every_natura_has_both_languages_and_a_law_the_schema_can_carry() -> None:
    assert set(NATURA_WORDING) == set(Natura)
    for natura in Natura:
        italian, english = natura_text(natura, Locale.IT), natura_text(natura, Locale.EN)
        assert italian and english and italian != english
        reference = legal_reference(natura)
        assert 0 < len(reference) <= 100
        assert identifiers.latin_text(reference) == reference


def test_the_generic_codes_the_sdi_refuses_are_not_offered() -> None:
    assert {"N2", "N3", "N6"}.isdisjoint(n.value for n in Natura)
    assert set(Natura) >= STAMP_DUTY_NATURE
    assert Natura.N3_1 not in STAMP_DUTY_NATURE and Natura.N4 in STAMP_DUTY_NATURE


def test_rendiconto_says_it_is_outside_vat_under_article_4() -> None:
    rendiconto = MODE_WORDING[BillingMode.RENDICONTO]
    assert "art. 4, comma 4, del DPR 633/1972" in rendiconto.notice(Locale.IT)
    assert "non fiscale" in rendiconto.notice(Locale.IT)
    assert "art. 4(4)" in rendiconto.notice(Locale.EN)
    assert rendiconto.title(Locale.IT) == "Rendiconto"
    assert set(MODE_WORDING) == set(BillingMode)
    for mode in BillingMode:
        for locale in Locale:
            assert MODE_WORDING[mode].title(locale) and MODE_WORDING[mode].notice(locale)
    assert set(CREDIT_NOTE_TITLE) == set(STAMP_DUTY_NOTICE) == set(Locale)
