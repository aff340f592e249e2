def test_apps_for_push_matches_repo_and_branch():
    from shiplane.gitops import Source
    from shiplane.gitops.application import Application, Destination
    from shiplane.gitops.webhook import apps_for_push
    from shiplane.pipeline.webhook import WebhookPush

    def app(name, url, revision="HEAD"):
        return Application(name, "argocd", "p", (Source(url, "helm", revision),),
                           Destination("ns", server="s"))

    apps = [app("a", "https://git.example/org/svc.git"), app("b", "http://mirror/svc", "main"),
            app("c", "https://git.example/org/svc.git", "release"),
            app("d", "https://git.example/org/other.git"),
            app("e", "https://git.example/org/svc.git", "v1")]

    def push(ref="refs/heads/main", clone="https://git.example/org/svc"):
        return WebhookPush("github", "svc", "org/svc", clone, ref, None, "b" * 40)

    assert apps_for_push(apps, push()) == ["a", "b"]
    assert apps_for_push(apps, push("refs/heads/release")) == ["a", "c"]
    assert apps_for_push(apps, push("refs/tags/v1")) == ["e"]  # pinned to that tag
    assert apps_for_push(apps, push("refs/tags/v2")) == []
