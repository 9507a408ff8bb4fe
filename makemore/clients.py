"""Who is asking, and how much one asker may hold on a public server.

A *client* is the network address a request comes from: the socket peer or, when the peer is a trusted proxy
(MAKEMORE_TRUSTED_PROXIES, comma-separated addresses), the address that proxy put in X-Forwarded-For. A signed-in
visitor is their own client ("hf-<user name>"), wherever they connect from.

Anonymous workspace keys cost nothing to make, so on a public server what one visitor may hold (jobs and queue
places, data sets, disk, keys minted, uploads) is counted per client, over every workspace that client writes to:
the Ledger links an owner to the client that last wrote to it (ROOT/clients.json keeps the links across a
restart; an owner that never wrote anything is never linked). The web layer says which client a request comes
from (`acting_as`); the core reads it (`current`) where it checks an allowance.
"""
import contextlib
import contextvars
import ipaddress
import os
import threading
import time
from collections import deque
from pathlib import Path

from .errors import QuotaError
from .limits import Limits
from .store import atomic_write_json, read_str_map

FILE = "clients.json"
LOCAL = "local"
_CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("makemore_client", default=None)


# On a Hugging Face Space the container is reached only through the Space's proxy, from an internal address:
# unless MAKEMORE_TRUSTED_PROXIES says otherwise, peers in these ranges are that proxy there.
SPACE_PROXIES = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7"


def trusted_proxies(env=None) -> frozenset[str]:
    """The proxies whose X-Forwarded-For is believed: MAKEMORE_TRUSTED_PROXIES, comma-separated addresses or
    networks ("10.0.0.0/8"); on a Space (SPACE_ID set) with the variable unset, the internal ranges above."""
    env = os.environ if env is None else env
    raw = env.get("MAKEMORE_TRUSTED_PROXIES")
    if raw is None:
        raw = SPACE_PROXIES if env.get("SPACE_ID") else ""
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def is_trusted(address: str, trusted) -> bool:
    """Is `address` one of the trusted proxies (an address listed, or inside a network listed)?"""
    if address in trusted:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in trusted:
        try:
            if "/" in entry and ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: str | None, forwarded_for: str | None, trusted=frozenset()) -> str:
    """The client of a request: the socket `peer`, unless the peer is a trusted proxy; then the right-most address
    in X-Forwarded-For that is not a trusted proxy itself (the one the proxy saw; what is left of it, anyone can
    write). A malformed entry counts as the peer's. An IPv6 address stands for its /64 network, which one home or
    one server usually gets whole."""
    peer = (peer or "").strip() or "unknown"
    if not is_trusted(peer, trusted) or not forwarded_for:
        return _network(peer)
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        if is_trusted(hop, trusted):
            continue
        try:
            return _network(str(ipaddress.ip_address(hop)))
        except ValueError:
            return _network(peer)
    return _network(peer)


def _network(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:  # ::ffff:198.51.100.7 is 198.51.100.7
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


@contextlib.contextmanager
def acting_as(client: str | None):
    """While this block runs (one request), the core counts what it does against `client`."""
    token = _CLIENT.set(client)
    try:
        yield
    finally:
        _CLIENT.reset(token)


def current() -> str | None:
    """The client of the request being served (None outside one: the command line, tests, the scheduler)."""
    return _CLIENT.get()


class Ledger:
    """Owner -> client links, and the allowances counted per client."""

    def __init__(self, root, limits: Limits):
        self.root, self.limits = Path(root), limits
        self.users = self.root / "users"
        self.path = self.root / FILE
        self._lock = threading.Lock()
        self._minted: dict[str, deque] = {}  # client -> when it got its last keys (within the hour)
        self._links = read_str_map(self.path)

    def client_of(self, owner: str) -> str:
        """Whose allowance an owner's work counts to: a signed-in user's own; an anonymous owner's client."""
        if owner.startswith("hf-"):
            return owner
        return self._links.get(owner, owner)

    def link(self, owner: str, client: str | None = None) -> str:
        """Note that `client` (default: the current request's) writes to `owner`; returns the owner's client."""
        client = client if client is not None else current()
        if owner.startswith("hf-") or owner == LOCAL or client is None or not self.limits.public:
            return self.client_of(owner)
        with self._lock:
            if self._links.get(owner) != client:
                self._links[owner] = client
                atomic_write_json(self.path, self._links)
        return client

    def forget(self, owner: str):
        with self._lock:
            if self._links.pop(owner, None) is not None:
                atomic_write_json(self.path, self._links)

    def owners_of(self, client: str) -> set[str]:
        """The owners whose work counts to `client` (itself, for a signed-in user)."""
        with self._lock:
            return {owner for owner, linked in self._links.items() if linked == client} | \
                ({client} if client.startswith("hf-") else set())

    # --- allowances ------------------------------------------------------------------------------
    def mint(self, client: str | None, now: float | None = None):
        """Count a workspace key handed to `client`; QuotaError over MAKEMORE_MAX_KEYS_PER_CLIENT an hour."""
        cap, now = self.limits.max_keys_per_client, now or time.time()
        if not cap or client is None:
            return
        with self._lock:
            recent = self._minted.setdefault(client, deque())
            while recent and now - recent[0] > 3600:
                recent.popleft()
            if len(recent) >= cap:
                raise QuotaError(f"This address got {cap} workspace keys in the last hour, this server's limit: "
                                 "keep using the key you have (it is your workspace).")
            recent.append(now)
            if len(self._minted) > 10_000:  # forget clients idle for an hour (a bounded table)
                self._minted = {c: times for c, times in self._minted.items() if times and now - times[-1] < 3600}

    def check_storage(self, owner: str, extra_bytes: int = 0, new_dataset: bool = False):
        """Refuse (QuotaError) a write to `owner` that takes its client over its data sets or disk allowance."""
        limits = self.limits
        if not (limits.max_datasets_per_client or limits.max_client_bytes) or owner == LOCAL:
            return
        roots = [self.users / o for o in self.owners_of(self.link(owner)) | {owner}]
        if new_dataset and limits.max_datasets_per_client:
            count = sum(1 for r in roots for p in (r / "datasets").glob("*.txt"))
            if count >= limits.max_datasets_per_client:
                raise QuotaError(f"The workspaces used from your address hold {count} data sets, this server's limit "
                                 "per visitor: delete one you no longer need, then upload again.")
        if limits.max_client_bytes:
            used = sum(p.stat().st_size for r in roots if r.is_dir() for p in r.rglob("*") if p.is_file())
            if used + extra_bytes > limits.max_client_bytes:
                raise QuotaError(f"The workspaces used from your address would go over this server's "
                                 f"{limits.max_client_bytes / 1e6:.0f} MB of disk per visitor: delete runs or "
                                 "data sets you no longer need.")
