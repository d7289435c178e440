"""The questionnaires seeded at first start (pure data: imported by the migration and the tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Dimension = Literal["reliability", "assurance", "tangibles", "empathy", "responsiveness"]
ItemFormat = Literal["servqual_pair", "rating", "yes_no", "text"]
DIMENSIONS: tuple[Dimension, ...] = (
    "reliability",
    "assurance",
    "tangibles",
    "empathy",
    "responsiveness",
)

# Stable ids so that seeding is idempotent and every environment names the same rows.
SEED_NAMESPACE = uuid.UUID("6c7f4f0e-3f7e-4c55-9a1e-5d2b8f0c2a10")


@dataclass(frozen=True)
class SeedItem:
    """One item of a seeded questionnaire."""

    code: str
    text: str
    dimension: Dimension | None
    format: ItemFormat
    required: bool = True


@dataclass(frozen=True)
class SeedQuestionnaire:
    """A questionnaire created by the migration (version 1)."""

    code: str
    title: str
    items: tuple[SeedItem, ...]

    @property
    def id(self) -> uuid.UUID:
        """Deterministic id of version 1."""
        return uuid.uuid5(SEED_NAMESPACE, f"{self.code}:1")


def _pair(code: str, dimension: Dimension, text: str) -> SeedItem:
    return SeedItem(code, text, dimension, "servqual_pair")


# The seeds' SERVQUAL retail questionnaire (表6-4). The seeds list "time from order to delivery"
# under both assurance and responsiveness; it is asked once, under responsiveness (speed is what
# responsiveness measures), so 20 distinct items.
SERVQUAL_RETAIL = SeedQuestionnaire(
    code="servqual-retail",
    title="SERVQUAL retail-customer survey (零售客户服务质量调查)",
    items=(
        _pair("rel_stable_supply", "reliability", "Stable supply without shortages (货源稳定)"),
        _pair("rel_supply_info", "reliability", "Timely supply information (及时了解货源信息)"),
        _pair(
            "rel_delivery_quality",
            "reliability",
            "Delivery quality: attitude, punctuality, accuracy, intact goods (送货服务质量)",
        ),
        _pair("asu_goods_sell", "assurance", "The goods I receive sell well (所进货品好卖)"),
        _pair("asu_sufficient_supply", "assurance", "Sufficient supply (货源供应充足)"),
        _pair("asu_promotions", "assurance", "Promotions that help my sales (促销活动的帮助)"),
        _pair(
            "asu_business_guidance",
            "assurance",
            "Effective business guidance from my customer manager (有效经营指导)",
        ),
        _pair("asu_manager_attitude", "assurance", "The customer manager's attitude (服务态度)"),
        _pair("tan_attire", "tangibles", "Professional attire (着装职业化)"),
        _pair("tan_tools", "tangibles", "Professional tools and materials (专业工具和资料)"),
        _pair("tan_order_lines", "tangibles", "Order phone lines get through (订货电话顺畅)"),
        _pair("tan_vehicles", "tangibles", "Clean, tidy delivery vehicles (送货车辆整洁)"),
        _pair("emp_order_frequency", "empathy", "Ordering frequency meets my needs (订货次数)"),
        _pair("emp_settlement", "empathy", "Convenient settlement (结算方式便利)"),
        _pair("emp_returns", "empathy", "Convenient returns and exchanges (退换货便利)"),
        _pair("emp_manager_cares", "empathy", "The manager cares about my situation (关注我)"),
        _pair(
            "rsp_order_to_delivery",
            "responsiveness",
            "Time from order to delivery (从订货扣款到货品送达的响应时间)",
        ),
        _pair("rsp_returns_speed", "responsiveness", "Speed of returns and exchanges (退换货速度)"),
        _pair(
            "rsp_complaint_speed", "responsiveness", "Speed of complaint handling (投诉处理速度)"
        ),
        _pair(
            "rsp_willing_to_help",
            "responsiveness",
            "Whoever I ask at the company is willing to help (乐意帮我处理)",
        ),
    ),
)

SERVICE_SATISFACTION = SeedQuestionnaire(
    code="service-satisfaction",
    title="Quarterly service satisfaction (服务满意度季度问卷)",
    items=tuple(
        SeedItem(code, text, None, "rating")
        for code, text in (
            ("ordering", "Ordering (订货满意度)"),
            ("settlement", "Settlement (货款结算满意度)"),
            ("new_products", "New-product recommendations (新品推荐契合度)"),
            ("pos_materials", "Point-of-sale materials (终端物料发放)"),
            ("complaint_handling", "Complaint handling (投诉咨询处理)"),
            ("service_offering", "The set of services offered (服务项目设置)"),
            ("staff_attitude", "Staff attitude and service quality (营销人员态度)"),
        )
    ),
)

CALLBACK = SeedQuestionnaire(
    code="callback",
    title="Complaint callback (投诉回访)",
    items=(
        SeedItem("reached", "Reached the shop (联系上客户)", None, "yes_no"),
        SeedItem("solved", "The problem is solved (问题已解决)", None, "yes_no"),
        SeedItem("satisfaction", "Satisfaction with the handling (处理满意度)", None, "rating"),
        SeedItem("comment", "Comment (意见)", None, "text", required=False),
    ),
)

SEEDED: tuple[SeedQuestionnaire, ...] = (SERVQUAL_RETAIL, SERVICE_SATISFACTION, CALLBACK)
