"""Names for generated voters: many distinct ones, common ones far more common than rare ones.

A list of millions needs a name distribution like a country's for its searches to be honest: a
few surnames carried by one voter in thirty, a long tail carried by a handful. Everything follows
from the voter's number, so a bench can regenerate any voter's name without storing it.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAME_ROOTS = _words(
    """
    Нұрлан Сейіт Жанұзақ Қасым Әли Ахмет Бекмұхамед Ерлан Сұлтан Тұрсын Мұхамеджан Асыл
    Айтбай Байжан Досмұхамбет Есен Жұмабай Қайрат Махмұт Оразбай Сәтбай Тоқтар Шайхы Ыбырай
    Әбдірах Иван Петр Смирн Кузнец Попов Васил Соколь Михайл Новик Федор Мороз Волк Алекс
    Лебед Семен Егор Павл Козл Степан Никол Орл Андре Макар Ник Заха Ким Цой Пак Ли Хан
    Шмидт Мүсір Нәзір Ғабит Құдайберг Төлеу Үмбет Іскак Өтеміс Һаким
"""
)
MALE_ENDINGS = _words("ов ев ин бек ұлы баев жанов кулов ский енко")
FEMALE_ENDINGS = (
    "ова",
    "ева",
    "ина",
    "бекова",
    "қызы",
    "баева",
    "жанова",
    "кулова",
    "ская",
    "енко",
)
MALE_GIVEN = _words(
    """
    Асқар Ербол Данияр Нұрсұлтан Алихан Бауыржан Ержан Қанат Мұрат Серік Тимур Әлібек Айдос
    Дәурен Жандос Ілияс Олжас Рустам Сергей Александр Дмитрий Андрей Алексей Владимир Михаил
    Игорь Евгений Виктор Николай Олег Ахмед Ғалым Өмірзақ Үсен Шыңғыс
"""
)
FEMALE_GIVEN = _words(
    """
    Айгүл Гүлнар Мария Ольга Әсел Дана Жанар Қарлығаш Мөлдір Салтанат Томирис Ұлжан Індира
    Айжан Ботагөз Динара Гаухар Еркеш Елена Наталья Татьяна Ирина Светлана Анна Юлия
    Екатерина Людмила Галина Әйгерім Назерке Перизат Шолпан Зәуре Һәдия
"""
)


def _skewed(seed: int, size: int) -> int:
    """An index below `size`, small ones much likelier: the product of two hashed uniform draws,
    scaled (its density falls like -ln x), so the first names of a list are the commonest."""
    first = (seed * 2_654_435_761) & 0xFFFF_FFFF
    second = (seed * 40_503 + 12_345) * 2_246_822_519 & 0xFFFF_FFFF
    return (first % size) * (second % size) // size


def voter_name(number: int, male: bool) -> tuple[str, str, str]:
    """Surname, given name and patronymic ("" for one voter in ten) of voter `number`."""
    root = SURNAME_ROOTS[_skewed(number, len(SURNAME_ROOTS))]
    endings = MALE_ENDINGS if male else FEMALE_ENDINGS
    surname = root + endings[_skewed(number >> 3, len(endings))]
    given = (MALE_GIVEN if male else FEMALE_GIVEN)[
        _skewed(number >> 5, len(MALE_GIVEN if male else FEMALE_GIVEN))
    ]
    if number % 10 == 7:
        return surname, given, ""
    father = MALE_GIVEN[_skewed(number >> 7, len(MALE_GIVEN))]
    if number % 3 == 0:
        patronymic = father + ("ович" if male else "овна")
    else:
        patronymic = father + (" ұлы" if male else " қызы")
    return surname, given, patronymic
