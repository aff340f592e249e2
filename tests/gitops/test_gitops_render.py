from pathlib import Path

import pytest

from shiplane.gitops import GitSources, LocalSources, SourceUnavailable, load_documents
from shiplane.gitops.desired import render_application
from shiplane.gitops.tracking import owned_by
from shiplane.scaffold import set_image


def _apps(root: Path):
    apps, _ = load_documents((root / "argocd-apps").glob("*.yaml"))
    return {a.name: a for a in apps}


def test_multi_source_render_uses_platform_values_over_chart_env_values(repos, platform_root):
    app = _apps(platform_root)["payment-service-staging"]
    state = render_application(app, GitSources(repos))
    deployment = next(m for m in state.manifests if m["kind"] == "Deployment")
    assert deployment["metadata"]["namespace"] == app.destination.namespace
    assert "replicas" not in deployment["spec"]  # values-staging.yaml: autoscaling on
    assert any(m["kind"] == "HorizontalPodAutoscaler" for m in state.manifests)
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith("/payment-service:staging")
    assert all(owned_by(m, app.name) for m in state.manifests)
    assert len(state.revisions) == 2 and all(len(r) == 40 for r in state.revisions)


def test_render_follows_git_revision(repos, platform_root):
    app = _apps(platform_root)["payment-service-dev"]
    sources = GitSources(repos)
    before = render_application(app, sources)
    set_image("payment-service", environment="dev", tag="1.4.0", directory=platform_root)
    after = render_application(app, sources)
    assert after.revisions[1] != before.revisions[1]

    def image(state):
        d = next(m for m in state.manifests if m["kind"] == "Deployment")
        return d["spec"]["template"]["spec"]["containers"][0]["image"]

    assert image(after).endswith(":1.4.0") and image(before).endswith(":dev")
    old = render_application(app, sources, revisions={1: before.revisions[1]})
    assert image(old).endswith(":dev")


def test_inline_values_and_parameters_win_over_files(repos, platform_root):
    import dataclasses

    from shiplane.gitops import HelmParameter
    app = _apps(platform_root)["payment-service-dev"]
    chart = app.sources[0]
    helm = dataclasses.replace(chart.helm, values_object={"replicaCount": 5},
                               parameters=(HelmParameter("image.tag", "777", True),))
    app = dataclasses.replace(app, sources=(dataclasses.replace(chart, helm=helm),
                                            app.sources[1]))
    deployment = next(m for m in render_application(app, GitSources(repos)).manifests
                      if m["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 5
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":777")


def test_missing_sources_are_clear_errors(repos, platform_root):
    app = _apps(platform_root)["payment-service-dev"]
    with pytest.raises(SourceUnavailable, match="no git repository registered for"):
        render_application(app, GitSources({}))
    with pytest.raises(SourceUnavailable, match="no local checkout"):
        render_application(app, LocalSources({}))
    (platform_root / "dev" / "payment-service" / "values.yaml").unlink()
    local = LocalSources(repos)
    with pytest.raises(SourceUnavailable, match=r"value file \$values/dev/payment-service"):
        render_application(app, local)
    with pytest.raises(SourceUnavailable, match="has no revision 'nope'"):
        GitSources(repos).resolve(app.sources[0].repo_url, "nope")


def test_render_cache_per_commit(repos, platform_root):
    app = _apps(platform_root)["payment-service-dev"]
    sources, cache = GitSources(repos), {}
    first = render_application(app, sources, cache=cache)
    first.manifests[0]["metadata"]["name"] = "mutated by caller"
    again = render_application(app, sources, cache=cache)
    assert len(cache) == 1 and again.manifests[0]["metadata"]["name"] != "mutated by caller"
    set_image("payment-service", environment="dev", tag="2.0.0", directory=platform_root)
    render_application(app, sources, cache=cache)
    assert len(cache) == 2
