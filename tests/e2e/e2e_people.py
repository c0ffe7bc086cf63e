"""People of the end-to-end tests: users registered and signed in through the stack's REST API
(Traefik), and pairs of them who are accepted contacts."""

from parley_probe.api import ApiClient

PASSWORD = "correct horse battery staple"


def auth(api: ApiClient) -> dict[str, str]:
    """The ``Authorization`` header of ``api``'s signed-in user."""
    return {"Authorization": f"Bearer {api.access_token}"}


def email_of(name: str, run: str) -> str:
    return f"{name.lower()}-{run}@e2e.parley.example.com"


async def signed_in(base_url: str, name: str, run: str) -> ApiClient:
    """A new user ``name`` (unique to ``run``), registered and signed in."""
    api = ApiClient(base_url)
    await api.register(email_of(name, run), name, PASSWORD)
    await api.login(email_of(name, run), PASSWORD)
    return api


async def contacts(base_url: str, run: str) -> tuple[ApiClient, ApiClient, str]:
    """Ada and Bob, signed in, accepted contacts (Ada invited Bob by email, Bob accepted):
    ``(ada, bob, bob's user id)``."""
    ada, bob = await signed_in(base_url, "Ada", run), await signed_in(base_url, "Bob", run)
    invitation = await ada._call(  # noqa: SLF001
        "invite", "POST", "/api/auth/contacts/invitations", json={"email": email_of("Bob", run)}, expect=(201,)
    )
    await bob._call("accept", "POST", f"/api/auth/contacts/{invitation['contact_id']}/accept")  # noqa: SLF001
    return ada, bob, invitation["user"]["user_id"]
