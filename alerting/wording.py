"""Alert kinds in plain words, Chinese and English, for the messages and pages people outside the
centre read (family, responders, supervisors): "紧急呼叫 / an emergency call", never ``sos``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

KIND_WORDS: dict[str, tuple[str, str]] = {
    "sos": ("紧急呼叫", "an emergency call"),
    "phone": ("电话求助", "an emergency reported by phone"),
    "fall": ("跌倒报警", "a fall"),
    "inactivity": ("长时间没有活动", "no movement for a long time"),
    "not_up": ("早上没有起床", "not up in the morning"),
    "bathroom_long": ("在卫生间时间过长", "a long time in the bathroom"),
    "night_absence": ("夜间离床未归", "out of bed at night and not back"),
    "night_exit": ("夜间离家未归", "went out of the home at night and is not back"),
    "vitals": ("生命体征异常", "unusual vital signs"),
    "smoke": ("烟雾报警", "a smoke alarm"),
    "gas": ("燃气泄漏报警", "a gas alarm"),
    "water_leak": ("漏水报警", "a water leak"),
    "device_offline": ("设备离线", "a device went offline"),
    "device_silent": ("设备没有信号", "a device went silent"),
    "pad_stuck": ("压力垫一直显示有人", "a pressure pad stuck on 'occupied'"),
    "low_battery": ("设备电量低", "a low battery"),
    "unmonitored": ("无法监护", "nobody can see how they are"),
}


def kind_words(kind: str) -> tuple[str, str]:
    """(Chinese, English) for an alert kind; the code itself, spaced, when unknown."""
    return KIND_WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))


def local_stamp(at: datetime, utc_offset_min: int) -> str:
    """``2026-12-02 16:05`` in the homes' time zone: one unambiguous form in both languages."""
    return at.astimezone(timezone(timedelta(minutes=utc_offset_min))).strftime("%Y-%m-%d %H:%M")


def moving_words(kind: str, who: str, when: str) -> tuple[str, str]:
    """(Chinese, English) that ``who`` was seen moving again at ``when`` after an alert of ``kind`` (after
    a NIGHT_EXIT: back inside), for the family's message and the link pages (English in lower case)."""
    if kind == "night_exit":
        return f"{when} 家中传感器检测到{who}已回到屋内", f"home sensors saw {who} back inside at {when}"
    return f"{when} 起家中传感器又检测到{who}的活动", f"home sensors saw {who} moving again at {when}"
