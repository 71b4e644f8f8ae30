"""Several sites: one call fans out; one failing site does not hide the others."""

import pathlib
from typing import Any

import pytest

import asyncgroups as ag
from asyncgroups import PeriscopeSites
from asyncgroups.backends.periscope import Periscope
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
    periscope: Emulator[Any],
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
    periscope: Emulator[Any], tmp_path: pathlib.Path
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


async def test_sites_in_test_mode_change_nothing(periscope: Emulator[Any]) -> None:
    """PeriscopeSites(test_mode=True) validates on every site and stores nothing."""
    async with PeriscopeSites(
        SITES, base_url=periscope.url, test_mode=True, client_factory=_factory
    ) as sites:
        results = await sites.add_user_to_sites("t@example.com", "T", "M")
    assert results.ok
    assert all(periscope.store.site(s).user("t@example.com") is None for s in SITES)
    assert all(r.query["test_mode"] == "true" for r in periscope.requests)


async def test_only_the_named_sites_are_written(periscope: Emulator[Any]) -> None:
    """``sites=`` picks sites; an unknown site is refused before any request."""
    periscope.store.site("mySiteName3").add_user("boss@example.com")
    async with PeriscopeSites(
        SITES, base_url=periscope.url, client_factory=_factory
    ) as sites:
        assert sites.sites == list(SITES)
        with pytest.raises(ag.InvalidInputError, match="unknown sites: nowhere"):
            await sites.add_user_to_sites("x@example.com", sites=["nowhere"])
        with pytest.raises(ag.InvalidInputError, match="collection of group names"):
            await sites.add_user_to_sites("x@example.com", groups="Sales")
        assert periscope.requests == []
        results = await sites.add_user_to_sites(
            "x@example.com", sites=["mySiteName3"], invited_by_email="boss@example.com"
        )
    assert list(results) == ["mySiteName3"]
    assert results.ok
    assert periscope.store.site("mySiteName3").user("x@example.com") is not None
    assert periscope.store.site("mySiteName1").user("x@example.com") is None
    (post,) = [r for r in periscope.requests if r.method == "POST"]
    assert post.json()["invited_by_email"] == "boss@example.com"


async def test_delete_users_csv_reads_any_email_column_case_blind(
    periscope: Emulator[Any], tmp_path: pathlib.Path
) -> None:
    """``Mail`` or a named column; e-mails listed twice are deleted once per site."""
    for site in SITES:
        periscope.store.site(site).add_user("a@example.com")
        periscope.store.site(site).add_user("b@example.com")
    path = tmp_path / "leavers.csv"
    path.write_text("Name, Mail \nA,a@example.com\nA again,a@example.com\n")
    other = tmp_path / "other.csv"
    other.write_text("Who,Address\nB,b@example.com\n")
    async with PeriscopeSites(
        SITES, base_url=periscope.url, client_factory=_factory
    ) as sites:
        first = await sites.delete_users_csv(path)
        second = await sites.delete_users_csv(other, column="Address")
    for results in (first, second):
        assert results.ok
    assert all(r.succeeded == {"a@example.com"} for r in first.succeeded.values())
    deletes = [r for r in periscope.requests if r.method == "DELETE"]
    assert len(deletes) == 2 * len(SITES)
    for site in SITES:
        assert periscope.store.site(site).user("a@example.com") is None
        assert periscope.store.site(site).user("b@example.com") is None


async def test_delete_users_csv_refuses_a_bad_file_before_any_request(
    periscope: Emulator[Any], tmp_path: pathlib.Path
) -> None:
    """Unreadable, undecodable or e-mail-less files are InvalidInputError, no I/O."""
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"email\n\xff\xfe@example.com\n")
    no_email = tmp_path / "no_email.csv"
    no_email.write_text("email,name\na@example.com,A\n,B\n")
    async with PeriscopeSites(
        SITES, base_url=periscope.url, client_factory=_factory
    ) as sites:
        with pytest.raises(ag.InvalidInputError, match=r"absent\.csv: cannot read"):
            await sites.delete_users_csv(tmp_path / "absent.csv")
        with pytest.raises(
            ag.InvalidInputError, match=r"binary\.csv: line 2: not UTF-8 text"
        ):
            await sites.delete_users_csv(binary)
        with pytest.raises(
            ag.InvalidInputError, match=r"no_email\.csv: line 3: no e-mail in column"
        ):
            await sites.delete_users_csv(no_email)
        with pytest.raises(ag.InvalidInputError, match="a CSV row has no e-mail"):
            await sites.delete_users_csv([{"name": "A"}])
    assert periscope.requests == []
