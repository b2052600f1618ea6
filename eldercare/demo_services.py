"""The demo's service centre: a realistic menu (菜单式服务), providers, sites and a day of orders.

Prices follow the published menus of city service platforms (a subsidised lunch at the community
canteen ¥12 with ¥5 from the government for residents of 60 and over; cleaning by the hour, bathing
help per visit). Seeding is idempotent: the menu is put again, and the day's orders are made once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from registry.area import Area
from servicecentre import OrderRequest, OrderState, PlanRequest, Reach, ServiceCentre

CATEGORIES = (
    ("meal", "助餐", "Meals"),
    ("clean", "助洁", "Cleaning"),
    ("bath", "助浴", "Bathing"),
    ("walk", "助行", "Walking and escort"),
    ("medical", "助医", "Medical help"),
    ("comfort", "精神慰藉", "Companionship"),
    ("errand", "物品代购", "Shopping errands"),
    ("delivery", "餐饮递送", "Meal delivery"),
)


@dataclass(frozen=True, slots=True)
class MenuItem:
    id: str
    category: str
    name: str
    name_en: str
    unit: str
    price_fen: int
    subsidy_fen: int = 0
    duration_min: int = 60


ITEMS = (
    MenuItem("lunch", "meal", "长者午餐（两荤一素）", "lunch (two meat, one vegetable)", "份", 1200, 500, 30),
    MenuItem("dinner", "meal", "长者晚餐", "dinner", "份", 1000, 400, 30),
    MenuItem("meal-delivery", "delivery", "送餐上门", "meal delivered home", "次", 300, 300, 20),
    MenuItem("clean-2h", "clean", "居家保洁（2小时）", "home cleaning (2 h)", "次", 8000, 3000, 120),
    MenuItem("laundry", "clean", "衣物清洗", "laundry", "次", 3000, 0, 60),
    MenuItem("bath-home", "bath", "上门助浴", "bathing help at home", "次", 12000, 5000, 90),
    MenuItem("escort-walk", "walk", "陪同散步/出行", "escorted walk or trip", "小时", 4000, 1000, 60),
    MenuItem("clinic-escort", "medical", "陪同就医", "escort to the clinic", "次", 6000, 2000, 180),
    MenuItem("medicine-pickup", "medical", "代取药品", "medicine pick-up", "次", 1500, 0, 60),
    MenuItem("chat-visit", "comfort", "上门陪伴聊天", "companionship visit", "小时", 3000, 3000, 60),
    MenuItem("shopping", "errand", "代购日用品", "shopping for daily goods", "次", 1000, 0, 60),
)
PROVIDERS = (
    ("canteen-huanghe", "黄河社区长者饭堂 Huanghe Community Canteen", "豫民养食 2024-031",
     ("lunch", "dinner", "meal-delivery")),
    ("jiazheng-jinshui", "金水区安康家政服务有限公司 Ankang Home Services", "豫民养服 2023-118",
     ("clean-2h", "laundry", "bath-home", "escort-walk", "clinic-escort", "medicine-pickup", "chat-visit",
      "shopping")),
)  # fmt: skip
STAFF = (
    ("canteen-huanghe", "canteen-desk", "饭堂调度 刘敏"),
    ("canteen-huanghe", "canteen-w1", "送餐员 陈强"),
    ("jiazheng-jinshui", "ankang-desk", "家政调度 孙丽"),
    ("jiazheng-jinshui", "ankang-w1", "护理员 周红"),
    ("jiazheng-jinshui", "ankang-w2", "护理员 吴军"),
)
SITES = (
    ("site-canteen", "黄河社区长者饭堂", "canteen", "金水区经八路14号", "周一至周日 10:30-13:00, 16:30-18:30", 80,
     "canteen-huanghe"),
    ("site-daycare", "经八路街道日间照料中心", "day_care", "金水区经八路20号", "周一至周五 08:00-18:00", 40, None),
    ("site-station", "黄河社区养老服务站", "service_station", "金水区黄河路8号院", "周一至周六 08:30-17:30", 0,
     "jiazheng-jinshui"),
)  # fmt: skip

DAY_OF_ORDERS = (
    # resident, item, provider, local time, how far it got
    ("res-0001", "lunch", "canteen-huanghe", time(11, 30), OrderState.RATED),
    ("res-0002", "lunch", "canteen-huanghe", time(11, 30), OrderState.COMPLETED),
    ("res-0003", "meal-delivery", "canteen-huanghe", time(11, 45), OrderState.CHECKED_IN),
    ("res-0002", "clean-2h", "jiazheng-jinshui", time(9, 0), OrderState.COMPLETED),
    ("res-0003", "bath-home", "jiazheng-jinshui", time(15, 0), OrderState.ASSIGNED),
    ("res-0001", "clinic-escort", "jiazheng-jinshui", time(14, 0), OrderState.ACCEPTED),
    ("res-0002", "chat-visit", "jiazheng-jinshui", time(16, 0), OrderState.REQUESTED),
    ("res-0003", "shopping", "jiazheng-jinshui", time(10, 0), OrderState.CANCELLED),
)
PATH = (OrderState.ACCEPTED, OrderState.ASSIGNED, OrderState.CHECKED_IN, OrderState.COMPLETED, OrderState.RATED)
BOOKED_BEFORE = timedelta(hours=20)
"""The seeded orders were booked by phone the afternoon before (the one still requested: just now)."""
STEP_AFTER: dict[OrderState, timedelta] = {
    OrderState.CANCELLED: timedelta(minutes=25),
    OrderState.ACCEPTED: timedelta(minutes=6),
    OrderState.ASSIGNED: timedelta(minutes=40),
}
"""When a seeded order's desk steps were made, after its booking."""
CHECKED_IN_LATE = timedelta(minutes=3)
RATED_AFTER = timedelta(minutes=45)


async def seed_menu(centre: ServiceCentre, org_node: str) -> None:
    """The city's menu, the two providers serving ``org_node``'s area, their staff and the sites."""
    root = Reach(Area(), None, "demo")
    for code, name, name_en in CATEGORIES:
        await centre.menu.put_category({"code": code, "name": name, "name_en": name_en}, root)
    for item in ITEMS:
        await centre.menu.put_item(
            {"id": item.id, "category": item.category, "name": item.name, "name_en": item.name_en,
             "unit": item.unit, "price_fen": item.price_fen, "subsidised": item.subsidy_fen > 0,
             "subsidy_fen": item.subsidy_fen, "subsidy_min_age": 60, "duration_min": item.duration_min},
            root,
        )  # fmt: skip
    prices = {item.id: item.price_fen for item in ITEMS}
    for provider_id, name, licence, offers in PROVIDERS:
        await centre.menu.put_provider(
            {"id": provider_id, "name": name, "licence": licence, "org_node": org_node, "areas": [org_node]}, root
        )
        for item_id in offers:
            await centre.menu.offer(provider_id, item_id, prices[item_id], root)
    for provider_id, username, display in STAFF:
        await centre.menu.add_staff(provider_id, username, root, name=display)
    for site_id, name, kind, address, hours, capacity, site_provider in SITES:
        await centre.menu.put_site(
            {"id": site_id, "name": name, "type": kind, "address": address, "org_node": org_node, "hours": hours,
             "capacity": capacity, "provider_id": site_provider},
            root,
        )  # fmt: skip


async def seed_day(centre: ServiceCentre, day: date, now: datetime) -> int:
    """A day of orders in every state, a weekday lunch plan and two calls; once per day. Returns the
    number of orders made (0 if the day was seeded before). Each step of an order is stamped when it
    would have been made (:func:`step_times`), never after ``now``: the day's reports read as a
    provider's day, its on-time rate the seeded orders' (all served on time), not 0 % because every
    worker seemed to check in at the moment the demo started."""
    root = Reach(Area(), None, "demo")
    start = centre.ctx.local_to_utc(day, time(0, 0))
    if await centre.orders.board(root, start=start, end=start + timedelta(days=1), limit=1):
        return 0
    workers = {provider_id: username for provider_id, username, _ in STAFF if username.endswith("w1")}
    duration = {item.id: timedelta(minutes=item.duration_min) for item in ITEMS}
    made = 0
    for resident_id, item_id, provider_id, at, reached in DAY_OF_ORDERS:
        scheduled = centre.ctx.local_to_utc(day, at)
        booked, moves = step_times(scheduled, duration[item_id], reached, now)
        with clock_at(centre, booked):
            order = await centre.orders.create(OrderRequest(resident_id, item_id, provider_id, scheduled), root)
        made += 1
        desk = Reach(Area(), provider_id, "demo")
        for step, when in moves:
            with clock_at(centre, when):
                if step is OrderState.CANCELLED:
                    await centre.orders.move(order.id, step, root, reason="老人临时外出 resident went out")
                else:
                    reach = root if step is OrderState.RATED else desk
                    await centre.orders.move(order.id, step, reach, worker=workers[provider_id], rating=5)
    if not await centre.plans.list(root, "res-0001"):
        await centre.plans.create(
            PlanRequest("res-0001", "lunch", "canteen-huanghe", (1, 2, 3, 4, 5), time(11, 30), day), root
        )
    await centre.calls.log({"number": "13800000001", "category": "service_request", "notes": "预约陪同就医"}, root)
    await centre.calls.log({"number": "13800000002", "category": "care_call", "direction": "outbound",
                            "notes": "每周关爱回访"}, root)  # fmt: skip
    return made


def step_times(
    scheduled: datetime, duration: timedelta, reached: OrderState, now: datetime
) -> tuple[datetime, list[tuple[OrderState, datetime]]]:
    """When a seeded order was booked, then each step it made up to ``reached`` and when: booked the
    afternoon before (``BOOKED_BEFORE``; one still requested, just now), the desk's steps soon after
    (``STEP_AFTER``), checked in ``CHECKED_IN_LATE`` after the scheduled time, completed an item's
    duration later, rated ``RATED_AFTER`` after that; a time still to come is ``now`` (the demo shows
    a day in every state whatever the hour it starts)."""
    booked = now - timedelta(minutes=5) if reached is OrderState.REQUESTED else scheduled - BOOKED_BEFORE
    if reached is OrderState.CANCELLED:
        story = [(OrderState.CANCELLED, booked + STEP_AFTER[OrderState.CANCELLED])]
    else:
        checked_in = scheduled + CHECKED_IN_LATE
        times = {
            **{step: booked + after for step, after in STEP_AFTER.items()},
            OrderState.CHECKED_IN: checked_in,
            OrderState.COMPLETED: checked_in + duration,
            OrderState.RATED: checked_in + duration + RATED_AFTER,
        }
        story = [(step, times[step]) for step in PATH[: PATH.index(reached) + 1]] if reached in PATH else []
    return min(booked, now), [(step, min(at, now)) for step, at in story]


@contextmanager
def clock_at(centre: ServiceCentre, at: datetime) -> Iterator[None]:
    """The centre's clock stopped at ``at`` for one seeded step (seeding runs before any loop)."""
    clock = centre.clock
    centre.clock = lambda: at
    try:
        yield
    finally:
        centre.clock = clock


async def seed_service_centre(centre: ServiceCentre, org_node: str, now: datetime) -> int:
    await seed_menu(centre, org_node)
    made = await seed_day(centre, centre.ctx.local_date(now), now)
    await centre.plans.spawn(now)
    return made
