"""Which kind of room a device is in, from the free text of its location.

The home detector tells three rooms apart (:data:`stream.kernels.home.ROOM_BATH`, ``ROOM_BED``,
``ROOM_OTHER``): a silence in the bathroom has its own limit and a trip there at night is part of
the night; activity in the bedroom at night is rest. Registries and recorded logs name rooms freely,
in English or Chinese, alone or with more words: ``Bathroom``, ``toilet downstairs``, ``hall-toilet``,
``master_bedroom``, ``Bedroom 2``, ``卫生间``, ``主卧``. Reading only the exact words ``bathroom`` or
``bedroom`` would put such a home's bathroom among the other rooms, and its night trips and long
baths would be judged as if in the kitchen.

A location is split into words (letters, digits and Chinese characters; ``_``, ``-``, spaces,
punctuation and a change from lower to upper case separate them). It is a bathroom when a word
names one, a bedroom when a word names one and none names a bathroom (``bedroom en-suite shower``
is the shower room), otherwise another room.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stream.kernels import home as k

BATHROOM_STEMS = ("bath", "toilet", "shower", "restroom", "washroom", "lavatory")
"""An English word that begins with one of these names a bathroom (``bathroom``, ``toilets``, ``showerroom``)."""
BATHROOM_WORDS = frozenset({"wc", "loo", "ensuite", "lav", "powder"})
BEDROOM_STEMS = ("bedroom", "bedchamber", "sleep")
BEDROOM_WORDS = frozenset({"bed", "beds", "bedside", "bdrm"})
BATHROOM_CHINESE = ("卫生间", "浴室", "厕所", "洗手间", "淋浴", "盥洗", "主卫", "次卫", "客卫", "公卫", "卫浴", "洗澡")
BEDROOM_CHINESE = ("卧", "睡房", "寝室")

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[\u4e00-\u9fff]+")


def location_words(location: str) -> list[str]:
    """``location`` split into lower-case words (``hall-bedroom_door`` → ``hall, bedroom, door``;
    ``MasterBedroom`` → ``master, bedroom``; ``主卧 门`` → ``主卧, 门``)."""
    return [w.lower() for w in _WORD.findall(location)]


def _is_bathroom(word: str) -> bool:
    return word.startswith(BATHROOM_STEMS) or word in BATHROOM_WORDS or any(c in word for c in BATHROOM_CHINESE)


def _is_bedroom(word: str) -> bool:
    return word.startswith(BEDROOM_STEMS) or word in BEDROOM_WORDS or any(c in word for c in BEDROOM_CHINESE)


@lru_cache(maxsize=4096)  # a home has a few locations, read for every event
def room_code(location: str) -> int:
    """The home kernel's room code of a device at ``location`` (``ROOM_BATH``, ``ROOM_BED`` or
    ``ROOM_OTHER``)."""
    words = location_words(location)
    if any(_is_bathroom(w) for w in words) or "ensuite" in "".join(words):
        return k.ROOM_BATH
    if any(_is_bedroom(w) for w in words):
        return k.ROOM_BED
    return k.ROOM_OTHER
