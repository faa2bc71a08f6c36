"""Runs ``localstripe`` (the Stripe-protocol fake server, DESIGN §8) for the tests and the
benchmarks: bound to 127.0.0.1 only, from scratch, in its own process group.

localstripe's own CLI (``localstripe --port N [--from-scratch]``) listens on every interface
("::") and pickles its state to the fixed /tmp/localstripe.pickle after every POST. This runs
the same aiohttp application bound to 127.0.0.1, starts from scratch (what --from-scratch does:
the pickle is not loaded) and does not write the shared pickle either, so parallel sessions and
a developer's own localstripe do not clobber one another. Its fake Stripe.js is at
``<url>/js.stripe.com/v3/``. It has no Checkout Sessions and no idempotency keys, and does not
send charge.refunded events.

    with LocalStripe(log_path=Path("var/localstripe.log")) as url:
        ...  # StripePaymentIntentProvider(api_base=url, ...)

Development tool only (``localstripe`` is a dev requirement); nothing in the site imports it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

LAUNCHER = """
import sys
from aiohttp import web
from localstripe import server
from localstripe.resources import store
store.dump_to_disk = lambda: None
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


class LocalStripeError(RuntimeError):
    """localstripe is missing, exited, or did not answer in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStripe:
    """One localstripe server process. ``start()`` returns its URL once it answers;
    ``stop()`` ends its process group (SIGTERM, then SIGKILL)."""

    def __init__(self, *, log_path: Path, port: int | None = None, python: str | None = None):
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.python = python or sys.executable
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, *, seconds: float = 20) -> str:
        try:
            import localstripe  # noqa: F401
        except ImportError as exc:
            raise LocalStripeError(
                "localstripe is not installed: install the dev requirements"
            ) from exc
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [self.python, "-c", LAUNCHER, str(self.port)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait(seconds)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def _wait(self, seconds: float) -> None:
        """Polls the fake Stripe.js (no proxy) until it answers 200."""
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + seconds
        while True:
            if self.process.poll() is not None:
                raise LocalStripeError(
                    f"localstripe exited with {self.process.returncode} before answering; "
                    f"log: {self._tail()}"
                )
            try:
                with no_proxy.open(self.url + "/js.stripe.com/v3/", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise LocalStripeError(
                    f"localstripe did not answer on {self.url} within {seconds:.0f} s; "
                    f"log: {self._tail()}"
                )
            time.sleep(0.1)

    def stop(self, *, grace: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is not None:
            _stop_group(process, grace=grace)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _stop_group(process: subprocess.Popen, *, grace: float) -> None:
    """SIGTERM to the process group led by ``process``, SIGKILL to what is left after
    ``grace`` seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        process.poll()
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or the group never looks empty
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


def register_webhook(url: str, *, endpoint: str, secret: str) -> None:
    """Makes localstripe POST its events, signed with ``secret`` like Stripe does, to
    ``endpoint`` (the site's /payments/stripe/webhook/)."""
    # Every event type: the site's endpoint answers the ones it does not use with "ignored".
    data = urllib.parse.urlencode({"url": endpoint, "secret": secret}).encode()
    request = urllib.request.Request(f"{url}/_config/webhooks/site", data=data, method="POST")
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with no_proxy.open(request, timeout=5) as response:
        response.read()


def main(argv: list[str] | None = None) -> None:
    """The demo's payment provider: ``python -m marketplace.localstripe_launcher --port 8420
    --webhook http://127.0.0.1:8000/payments/stripe/webhook/ --secret whsec_…`` runs
    localstripe on 127.0.0.1 until interrupted, delivering its events to the site."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook", default="")
    parser.add_argument("--secret", default="")
    parser.add_argument("--log", default="var/localstripe.log")
    args = parser.parse_args(argv)
    server = LocalStripe(log_path=Path(args.log), port=args.port)
    url = server.start()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        if args.webhook:
            register_webhook(url, endpoint=args.webhook, secret=args.secret)
        print(f"localstripe (fake Stripe, no real money) on {url}", flush=True)
        while not stop and server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
