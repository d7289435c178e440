"""The complaint category catalogue and the service items (pure)."""

from __future__ import annotations

from typing import Literal

ServiceItem = Literal[
    "customer_manager_visit",
    "phone_ordering",
    "online_ordering",
    "delivery",
    "after_sales_window",
    "market_supervision",
    "supply_allocation",
    "monopoly_enforcement",
    "other",
]
Channel = Literal["hotline", "web", "app", "sms", "visit", "walk_in", "letter"]
ComplainantType = Literal["retailer", "consumer"]
Priority = Literal["normal", "urgent"]

DEFAULT_CATEGORIES: dict[str, tuple[str, str]] = {
    "brand_shortage": ("product", "品牌短缺"),
    "scarce_allocation": ("product", "紧俏货源分配不公"),
    "supply_volume": ("product", "供应总量"),
    "damaged_goods": ("product", "破损残次"),
    "wrong_items": ("product", "品种与订单不符"),
    "forced_bundling": ("product", "搭售"),
    "price_fluctuation": ("product", "价格波动"),
    "staff_attitude": ("service", "服务态度"),
    "delivery_timeliness": ("service", "送货不及时"),
    "settlement": ("service", "结算"),
    "information_disclosure": ("service", "信息不公开"),
    "contact_frequency": ("service", "电访过频"),
    "market_regulation": ("service", "监管不到位"),
    "network_layout": ("service", "布局无序"),
    "handling_dissatisfaction": ("service", "处理不满意"),
    "other_service": ("service", "其他服务"),
    "counterfeit_suspected": ("retail_conduct", "疑似假冒"),
    "overpricing": ("retail_conduct", "价格过高"),
    "sale_to_minors": ("retail_conduct", "向未成年人销售"),
    "other_conduct": ("retail_conduct", "其他经营行为"),
}


def build_catalogue(extra: str) -> dict[str, tuple[str, str]]:
    """The default catalogue plus configured `group:code` entries."""
    catalogue = dict(DEFAULT_CATEGORIES)
    for item in extra.split(","):
        group, _, code = item.strip().partition(":")
        if group and code:
            catalogue[code.strip()] = (group.strip(), code.strip())
    return catalogue


def default_company_responsible(complainant_type: str) -> bool:
    """Retailer complaints are about the company; consumer complaints are about a shop."""
    return complainant_type == "retailer"
