"""Several sites: one call fans out; one failing site does not hide the others."""

import pathlib

import asyncgroups as ag
from asyncgroups.backends.periscope import Periscope, PeriscopeSites
from asyncgroups.testing import Emulator, Fault

from .conftest import FAST

SITES = {
    "mySiteName1": "myAPIKey1",
    "mySiteName2": "myAPIKey2",
    "mySiteName3": "myAPIKey3",
}


def _factory(backend: Periscope) -> ag.Client:
    return ag.Client(backend, retry=FAST)


async def test_add_user_to_three_sites_while_one_answers_503(
    periscope: Emulator,
) -> None:
    """One call adds a user to 3 sites; the 503 site is reported with its error."""
    for site in SITES:
        periscope.store.site(site).seed_group("Sales")
    periscope.faults.add(
        Fault.status(503),
        when=lambda r: r.headers.get("HTTP-X-PARTNER-AUTH", "").startswith(
            "mySiteName2:"
        ),
    )
    async with PeriscopeSites(
        SITES,
        base_url=periscope.url,
        admin_email="admin@example.com",
        client_factory=_factory,
    ) as sites:
        results = await sites.add_user_to_sites(
            "new@example.com", "New", "User", groups=["Sales"]
        )
    assert set(results.succeeded) == {"mySiteName1", "mySiteName3"}
    assert set(results.failed) == {"mySiteName2"}
    error = results.failed["mySiteName2"]
    assert isinstance(error, ag.ServerError)
    assert error.status == 503
    assert not results.ok
    for site in ("mySiteName1", "mySiteName3"):
        user = results[site]
        assert isinstance(user, ag.User)
        assert periscope.store.site(site).members("Sales") == {"new@example.com"}
    assert periscope.store.site("mySiteName2").user("new@example.com") is None
    assert "myAPIKey" not in repr(results) + str(error) + repr(error)


async def test_delete_users_csv_on_every_site(
    periscope: Emulator, tmp_path: pathlib.Path
) -> None:
    """A CSV of e-mails deletes those users from every site in one call."""
    for site in SITES:
        for i in range(3):
            periscope.store.site(site).add_user(f"leaver{i}@example.com")
    path = tmp_path / "my_csv_of_users_to_delete.csv"
    path.write_text(
        "email_address,name\n"
        + "".join(f"leaver{i}@example.com,L{i}\n" for i in range(3))
        + "ghost@example.com,G\n"
    )
    async with PeriscopeSites(
        SITES, base_url=periscope.url, client_factory=_factory
    ) as sites:
        results = await sites.delete_users_csv(path)
    assert results.ok
    for site, result in results.succeeded.items():
        assert result.succeeded == {f"leaver{i}@example.com" for i in range(3)}
        assert isinstance(result.failed["ghost@example.com"], ag.NotFoundError)
        assert periscope.store.site(site).user("leaver0@example.com") is None


async def test_sites_in_test_mode_change_nothing(periscope: Emulator) -> None:
    """PeriscopeSites(test_mode=True) validates on every site and stores nothing."""
    async with PeriscopeSites(
        SITES, base_url=periscope.url, test_mode=True, client_factory=_factory
    ) as sites:
        results = await sites.add_user_to_sites("t@example.com", "T", "M")
    assert results.ok
    assert all(periscope.store.site(s).user("t@example.com") is None for s in SITES)
    assert all(r.query["test_mode"] == "true" for r in periscope.requests)
