"""django-csp's middleware, with the policy string built once instead of once per response.

Building the header from the settings cost about 0.1 ms of CPU per response on a 2-core
server (a tenth of a vote's). A response that asks nothing of its own (no nonce used, no
per-view policy, no exemption) gets the same header every time: the one django-csp built for
the first such response, until a CSP setting changes. Anything else goes through django-csp as
before.
"""

from __future__ import annotations

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

# What a view may set on its response to change or drop the policy (csp.decorators).
_RESPONSE_PARTS = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


class CSPMiddleware(BaseCSPMiddleware):
    # (whether a plain response's header may be reused, the header) as django-csp built it
    # for the first plain response; dropped when a CSP setting changes (_forget_policy).
    _built: tuple[bool, dict[str, str]] | None = None

    def process_response(self, request, response):
        plain = (
            not settings.DEBUG
            and getattr(request, "_csp_nonce", None) is None
            and not any(hasattr(response, name) for name in _RESPONSE_PARTS)
            and not any(header in response for header in (HEADER, HEADER_REPORT_ONLY))
        )
        built = CSPMiddleware._built
        if not plain or built is None or not built[0]:
            response = super().process_response(request, response)
            if plain and built is None:
                reusable = not policy_varies_by_path()
                headers = {h: response[h] for h in (HEADER, HEADER_REPORT_ONLY) if h in response}
                CSPMiddleware._built = (reusable, headers)
            return response
        for header, value in built[1].items():
            response[header] = value
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def policy_varies_by_path() -> bool:
    """Whether a policy has per-path exclusions, which give each path its own answer."""
    return "EXCLUDE_URL_PREFIXES" in repr(_policies())


def _policies() -> tuple:
    return (
        getattr(settings, "CONTENT_SECURITY_POLICY", None),
        getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
    )


@receiver(setting_changed)
def _forget_policy(*, setting, **kwargs) -> None:
    if setting in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY", "DEBUG"):
        CSPMiddleware._built = None
