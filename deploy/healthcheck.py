#!/usr/bin/env python3
"""Container health check: GET /healthz on this container's own gateway port.

Exit 0 when the gateway answers 2xx within the timeout, 1 otherwise. Used by the
image's HEALTHCHECK and handy by hand: `docker compose exec gateway-1 haven-healthcheck`.
"""

import os
import sys
import urllib.error
import urllib.request

port = os.environ.get("HAVEN_PORT", "8000")
url = f"http://127.0.0.1:{port}/healthz"
try:
    with urllib.request.urlopen(url, timeout=4) as response:
        body = response.read(2048).decode("utf-8", "replace").strip()
        print(f"{response.status} {body}")
except (urllib.error.URLError, OSError) as exc:
    print(f"unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
