"""ASGI entry point: websockets through Channels, HTTP through Django's WSGI handler.

Birge's views are synchronous. Under Django's ASGI handler every sync request pays for
several sync/async thread hops (measured on this 2-core machine: ~6.9 ms CPU for a
one-query API call, against ~2 ms through the WSGI handler), so HTTP requests are handed
to the WSGI handler on a bounded thread pool instead, in the same server process that
serves the websockets. Poll votes and budget ballots take a lean route in front of that
(civic/intake.py). Websockets are only accepted from the site's own origin (scheme, host
and port: civic/origin.py) and carry the Django session user.
"""

import gc
import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from asgiref.wsgi import WsgiToAsgi, WsgiToAsgiInstance

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civic.settings.base")

from django.core.wsgi import get_wsgi_application

# Django must be set up before anything imports models (the consumers do).
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402
from django.utils.translation import trans_real  # noqa: E402

from budgets.api import BALLOT_ROUTE  # noqa: E402
from civic.intake import LeanRoutes  # noqa: E402
from civic.origin import SameOriginValidator  # noqa: E402
from civic.routing import websocket_urlpatterns  # noqa: E402
from polls.api import VOTE_ROUTE  # noqa: E402

# The URLconf (every view module) and each language's message catalogues are loaded on first
# use, about a second's work: done here, before the first requests rather than while they wait.
get_resolver().url_patterns  # noqa: B018
for _code, _name in settings.LANGUAGES:
    trans_real.translation(_code)
# What is loaded by now lives as long as the process: the garbage collector's full passes skip
# it from here on. They walked all of Django each time, a pause that showed in the votes'
# p99 (3 runs each on 2 cores: 140 -> 102 ms median, and about 5 % less CPU per vote).
gc.collect()
gc.freeze()

_http_threads = ThreadPoolExecutor(
    max_workers=settings.HTTP_THREADS, thread_name_prefix="birge-http"
)


class _PooledInstance(WsgiToAsgiInstance):
    # asgiref runs the WSGI app thread-sensitively, i.e. one request at a time per
    # process; Django's WSGI handler is thread-safe, so run requests side by side.
    run_wsgi_app = sync_to_async(
        WsgiToAsgiInstance.__dict__["run_wsgi_app"].func,
        thread_sensitive=False,
        executor=_http_threads,
    )


class PooledWsgiToAsgi(WsgiToAsgi):
    async def __call__(self, scope, receive, send):
        await _PooledInstance(self.wsgi_application)(scope, receive, send)


async def _lifespan(scope, receive, send):
    """Accept the server's startup/shutdown messages (nothing to set up)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": LeanRoutes(
            PooledWsgiToAsgi(django_wsgi_app),
            routes=[VOTE_ROUTE, BALLOT_ROUTE],
            executor=_http_threads,
        ),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": _lifespan,
    }
)
