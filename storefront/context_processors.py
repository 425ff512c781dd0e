from django.conf import settings


def storefront(request):
    return {"sandbox_mode": settings.SANDBOX_MODE}
