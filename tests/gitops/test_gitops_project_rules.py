"""AppProject sync windows (cron + duration, allow/deny, manualSync, matching), resource
black/whitelists and roles (policy strings) — pure cores, then through the CLI on the
embedded API server."""

import datetime as dt

import pytest

from shiplane.gitops import ApplicationInvalid, parse_project
from shiplane.gitops.application import Application, Destination, Source, SyncWindow
from shiplane.gitops.project import resource_permitted
from shiplane.gitops.roles import allowed, check, parse_policy
from shiplane.gitops.windows import active, can_sync, matching_windows, parse_cron

UTC = dt.UTC


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ("0 22 * * *", "2026-11-25 21:00", "2026-11-25 22:00"),
    ("0 22 * * *", "2026-11-25 22:00", "2026-11-26 22:00"),  # strictly after
    ("*/15 * * * *", "2026-11-25 10:07", "2026-11-25 10:15"),
    ("0 9 * * 1-5", "2026-11-28 12:00", "2026-11-30 09:00"),  # Saturday -> Monday
    ("0 0 1 JAN *", "2026-11-25 00:00", "2027-01-01 00:00"),
    ("30 2 * * SUN", "2026-11-25 00:00", "2026-11-29 02:30"),
    ("0 0 * * 7", "2026-11-25 00:00", "2026-11-29 00:00"),  # 7 is Sunday too
    ("0 12 13 * 5", "2026-11-25 00:00", "2026-11-27 12:00"),  # dom OR dow: Friday 27th
    ("@hourly", "2026-11-25 10:30", "2026-11-25 11:00"),
    ("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"),
])
def test_cron_next_after(schedule, after, expected):
    assert parse_cron(schedule).next_after(at(after).replace(tzinfo=None)) == \
        at(expected).replace(tzinfo=None)


@pytest.mark.parametrize(("schedule", "message"), [
    ("0 22 * *", "needs 5 fields"), ("61 * * * *", "minute 61 is outside 0-59"),
    ("* * * FOO *", "month 'FOO' is not a number"), ("5-1 * * * *", "runs backwards"),
    ("*/0 * * * *", "bad step"),
])
def test_cron_errors(schedule, message):
    with pytest.raises(ApplicationInvalid, match=message):
        parse_cron(schedule)


def _app(name="web-prod", namespace="prod", server="https://kubernetes.default.svc"):
    return Application(name, "argocd", "plat", (Source("https://git/x.git", "helm"),),
                       Destination(namespace, server=server))


def test_window_active_for_its_duration_in_its_time_zone():
    window = SyncWindow("deny", "0 22 * * *", "1h", applications=("*",))
    assert active(window, at("2026-11-25 22:30"))
    assert not active(window, at("2026-11-25 23:00"))  # exactly the end: closed
    assert not active(window, at("2026-11-25 21:59"))
    kolkata = SyncWindow("deny", "0 22 * * *", "1h", applications=("*",),
                         time_zone="Asia/Kolkata")  # 22:00 IST = 16:30 UTC
    assert active(kolkata, at("2026-11-25 16:45"))
    assert not active(kolkata, at("2026-11-25 22:30"))
    overnight = SyncWindow("allow", "0 22 * * *", "10h", applications=("*",))
    assert active(overnight, at("2026-11-26 07:59"))


def test_windows_match_by_application_namespace_or_cluster():
    windows = [SyncWindow("deny", "* * * * *", "1h", applications=("*-prod",)),
               SyncWindow("deny", "* * * * *", "1h", namespaces=("stag*",)),
               SyncWindow("deny", "* * * * *", "1h", clusters=("https://eks-*",))]
    assert matching_windows(windows, _app()) == windows[:1]
    assert matching_windows(windows, _app("web-staging", "staging")) == windows[1:2]
    assert matching_windows(windows, _app("web-dev", "dev", "https://eks-1")) == windows[2:]
    assert matching_windows(windows, _app("web-dev", "dev")) == []


def test_can_sync_rules():
    now = at("2026-11-25 22:30")
    deny = SyncWindow("deny", "0 22 * * *", "1h", applications=("*",))
    deny_manual = SyncWindow("deny", "0 22 * * *", "1h", applications=("*",), manual_sync=True)
    allow_now = SyncWindow("allow", "0 22 * * *", "1h", applications=("*",))
    allow_later = SyncWindow("allow", "0 9 * * *", "1h", applications=("*",))
    allow_later_manual = SyncWindow("allow", "0 9 * * *", "1h", applications=("*",),
                                    manual_sync=True)
    app = _app()
    assert can_sync([], app, manual=False, now=now) == (True, "")
    assert can_sync([deny], app, manual=False, now=now)[0] is False
    assert can_sync([deny], app, manual=True, now=now)[0] is False
    assert can_sync([deny_manual], app, manual=True, now=now) == (True, "")
    assert can_sync([deny_manual, deny], app, manual=True, now=now)[0] is False  # all must
    assert can_sync([deny, allow_now], app, manual=False, now=now)[0] is False  # deny wins
    assert can_sync([allow_now], app, manual=False, now=now) == (True, "")
    ok, why = can_sync([allow_later], app, manual=False, now=now)
    assert not ok and why == "blocked by sync window: no allow window is open (next: '0 9 * * *')"
    assert can_sync([allow_later_manual], app, manual=True, now=now) == (True, "")
    assert can_sync([allow_later], app, manual=False, now=at("2026-11-26 09:10"))[0]
    other = SyncWindow("deny", "0 22 * * *", "1h", applications=("other",))
    assert can_sync([other], app, manual=False, now=now) == (True, "")


def _project(**spec):
    return parse_project({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                          "metadata": {"name": "plat"}, "spec": spec})


def test_resource_white_and_blacklists():
    project = _project(clusterResourceWhitelist=[{"group": "*", "kind": "*"}],
                       clusterResourceBlacklist=[{"group": "rbac.authorization.k8s.io",
                                                  "kind": "ClusterRole*"}],
                       namespaceResourceBlacklist=[{"group": "", "kind": "Secret"}])
    assert resource_permitted(project, "", "Namespace", namespaced=False)
    assert not resource_permitted(project, "rbac.authorization.k8s.io", "ClusterRoleBinding",
                                  namespaced=False)
    assert resource_permitted(project, "apps", "Deployment", namespaced=True)  # no whitelist
    assert not resource_permitted(project, "", "Secret", namespaced=True)
    bare = _project()
    assert not resource_permitted(bare, "", "Namespace", namespaced=False)  # none by default
    narrow = _project(namespaceResourceWhitelist=[{"group": "apps", "kind": "Deployment"}])
    assert resource_permitted(narrow, "apps", "Deployment", namespaced=True)
    assert not resource_permitted(narrow, "", "ConfigMap", namespaced=True)


def test_project_parses_windows_and_roles_and_names_bad_ones():
    project = _project(
        syncWindows=[{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h",
                      "applications": ["*-prod"], "manualSync": True,
                      "timeZone": "Europe/Paris"}],
        roles=[{"name": "deployer", "groups": ["release-team"],
                "policies": ["p, proj:plat:deployer, applications, sync, plat/*-prod, allow"]}])
    assert project.sync_windows[0] == SyncWindow("deny", "0 22 * * *", "1h", ("*-prod",), (),
                                                 (), True, "Europe/Paris")
    assert project.roles[0].groups == ("release-team",)
    with pytest.raises(ApplicationInvalid) as error:
        _project(syncWindows=[{"kind": "block", "schedule": "0 99 * * *", "duration": "1x"},
                              {"kind": "allow", "schedule": "* * * * *", "duration": "1h"}],
                 roles=[{"name": "r", "policies": ["p, proj:other:r, applications, sync, "
                                                   "plat/*, allow"]}])
    text = str(error.value)
    assert "spec.syncWindows[0].kind must be allow or deny, not 'block'" in text
    assert "hour 99 is outside 0-23" in text
    assert "spec.syncWindows[1] matches nothing" in text
    assert "spec.roles[0].policies[0]" in text and "subject must be proj:plat:r" in text


def test_role_policies_allow_deny_and_admin():
    line = "p, proj:plat:deployer, applications, sync, plat/*-prod, allow"
    policy = parse_policy(line, "plat", "deployer")
    assert allowed([policy], "sync", "plat/web-prod")
    assert not allowed([policy], "delete", "plat/web-prod")
    deny = parse_policy("p, proj:plat:deployer, applications, *, plat/db-prod, deny",
                        "plat", "deployer")
    assert not allowed([policy, deny], "sync", "plat/db-prod")
    with pytest.raises(ApplicationInvalid, match="unknown action 'fly'"):
        parse_policy("p, proj:plat:x, applications, fly, plat/*, allow", "plat", "x")
    project = _project(roles=[{"name": "deployer", "groups": ["release-team"],
                               "policies": [line]}])
    assert check(project, "web-prod", "bob", groups=["release-team"]) == ""
    assert check(project, "web-prod", "admin") == ""
    assert check(project, "web-prod", "bob") == (
        "permission denied: bob may not sync applications plat/web-prod "
        "(project roles held: none)")
    assert "may not sync applications plat/web-dev (project roles held: deployer)" in \
        check(project, "web-dev", "bob", groups=["release-team"])
    assert check(_project(), "web-dev", "anyone") == ""  # no roles: nothing to enforce
