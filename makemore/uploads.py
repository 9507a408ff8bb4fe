"""Files posted to Gradio's upload route (POST /gradio_api/upload), bounded per client on a public server.

Gradio keeps every upload in its cache folder before any event sees it, with only a cap per file
(launch(max_file_size=...)) and a clean-up after hours. On a public server UploadGuard, an ASGI middleware in front
of the app, also caps what one client (clients.py) has there at once, in files and bytes; an event that keeps an
upload copies it into the owner's workspace within seconds, so every upload is removed `upload_lifetime_seconds`
after it came, and the oldest go first when free disk runs low (Owners.evict_idle asks `Uploads.free`).
"""
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .clients import client_address, trusted_proxies
from .limits import Limits

UPLOAD_PATH = "/gradio_api/upload"


@dataclass
class Upload:
    client: str
    path: Path
    size: int
    came: float


class Uploads:
    """The uploads made through the guard: who sent each, how big, when."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._items: list[Upload] = []
        self._lock = threading.Lock()

    def held(self, client: str) -> tuple[int, int]:
        """(files, bytes) `client` has in the upload area now."""
        self.sweep()
        with self._lock:
            mine = [u for u in self._items if u.client == client]
        return len(mine), sum(u.size for u in mine)

    def add(self, client: str, paths: list[str], now: float | None = None):
        now = now or time.time()
        with self._lock:
            for path in map(Path, paths):
                try:
                    self._items.append(Upload(client, path, path.stat().st_size, now))
                except OSError:
                    continue

    def sweep(self, now: float | None = None) -> int:
        """Remove the uploads older than their lifetime; returns the bytes freed."""
        now = now or time.time()
        with self._lock:
            old = [u for u in self._items if now - u.came > self.limits.upload_lifetime_seconds]
        return self._remove(old)

    def free(self, free_bytes: int, now: float | None = None) -> int:
        """Expired uploads go; then, while free disk is under MAKEMORE_MIN_FREE_BYTES, the oldest others.
        Returns the bytes freed."""
        freed = self.sweep(now)
        minimum = self.limits.min_free_bytes
        with self._lock:
            oldest = sorted(self._items, key=lambda u: u.came)
        for upload in oldest:
            if not minimum or free_bytes + freed >= minimum:
                break
            freed += self._remove([upload])
        return freed

    def disk_bytes(self) -> int:
        with self._lock:
            return sum(u.size for u in self._items)

    def _remove(self, uploads: list[Upload]) -> int:
        with self._lock:
            self._items = [u for u in self._items if u not in uploads]
        for upload in uploads:
            upload.path.unlink(missing_ok=True)
            try:
                upload.path.parent.rmdir()  # Gradio's folder per upload (named by its hash), if now empty
            except OSError:
                pass
        return sum(u.size for u in uploads)


class UploadGuard:
    """ASGI middleware: a POST to the upload route from a client over its allowance is answered 429 (too many
    files) or 413 (too many bytes) before Gradio stores anything; what the route stored is noted in `uploads`."""

    def __init__(self, app, uploads: Uploads, trusted=None):
        self.app, self.uploads = app, uploads
        self.trusted = trusted_proxies() if trusted is None else frozenset(trusted)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].endswith(UPLOAD_PATH):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        peer = (scope.get("client") or ("unknown", 0))[0]
        client = client_address(peer, headers.get("x-forwarded-for"), self.trusted)
        refusal = self.refusal(client, headers.get("content-length"))
        if refusal:
            return await _answer(send, *refusal)
        body = []

        async def noting(message):
            if message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.note(client, b"".join(body))
            await send(message)
        await self.app(scope, receive, noting)

    def refusal(self, client: str, length: str | None) -> tuple[int, str] | None:
        """(status, message) when `client` may not upload a request of `length` bytes now, else None."""
        limits = self.uploads.limits
        if not limits.public:
            return None
        files, held = self.uploads.held(client)
        if limits.max_upload_files_per_client and files >= limits.max_upload_files_per_client:
            return 429, (f"You have {files} uploaded files waiting, this server's limit: use them, or try again in "
                         f"{limits.upload_lifetime_seconds / 60:.0f} minutes.")
        if not (length or "").isdigit():
            return 411, "An upload must say its size (Content-Length)."
        if limits.max_upload_bytes_per_client and held + int(length) > limits.max_upload_bytes_per_client:
            return 413, (f"Your uploads would take over {limits.max_upload_bytes_per_client / 1e6:.0f} MB, this "
                         f"server's limit per visitor: try again in {limits.upload_lifetime_seconds / 60:.0f} minutes.")
        return None

    def note(self, client: str, body: bytes):
        try:
            paths = json.loads(body)
        except ValueError:
            return
        if isinstance(paths, list):
            self.uploads.add(client, [p for p in paths if isinstance(p, str)])


async def _answer(send, status: int, text: str):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": text.encode()})


