from django.conf import settings


def storefront(request):
    shop = getattr(request, "shop", None)
    brand_css_url = ""
    if shop is not None and shop.has_branding:
        brand_css_url = f"{request.shop_prefix}brand.css?v={shop.brand_version}"
    return {
        "sandbox_mode": settings.SANDBOX_MODE,
        "shop": shop,
        "embed": getattr(request, "embed", None),
        "brand_css_url": brand_css_url,
        "embed_cart_count": _embed_cart_count(request),
    }


def _embed_cart_count(request) -> int | None:
    """Framed pages tell the host page how many tickets the order holds."""
    if getattr(request, "embed", None) is None:
        return None
    from checkout import session

    has_open = request.session.get(session.OPEN_KEY) is not None
    return int(request.session.get(session.COUNT_KEY) or 0) if has_open else 0
