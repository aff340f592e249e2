"""How a container's process is derived from the pod spec and the image config."""

import pytest

from shiplane.cluster.decisions.container_process import (
    InvalidContainer,
    env_sources,
    expand,
    process_for,
)

IMAGE = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve", "--port=80"], "Env": ["PATH=/img/bin",
         "MODE=image", "EMPTY="], "WorkingDir": "/app", "User": "app"}


def pod(**container):
    return {"metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1",
                         "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", **container}]}}


def run(image=IMAGE, ip="127.1.2.3", **container):
    p = pod(**container)
    return process_for(p, p["spec"]["containers"][0], image, ip)


@pytest.mark.parametrize("text, expected", [
    ("$(A)-$(B)", "1-2"),
    ("$$(A)", "$(A)"),              # $$ escapes
    ("$(MISSING) stays", "$(MISSING) stays"),
    ("cost $5 and $", "cost $5 and $"),
    ("$(A", "$(A"),                 # unterminated: as written
    ("$(A)$(A)", "11"),
])
def test_expand_follows_kubernetes_rules(text, expected):
    assert expand(text, {"A": "1", "B": "2"}) == expected


def test_image_entrypoint_and_cmd_without_overrides():
    proc = run()
    assert proc.argv == ("/entry.sh", "serve", "--port=80")
    assert proc.working_dir == "/app" and proc.user == "app"


def test_args_replace_only_cmd_and_command_replaces_both():
    assert run(args=["debug"]).argv == ("/entry.sh", "debug")
    assert run(command=["sh", "-c"], args=["echo hi"]).argv == ("sh", "-c", "echo hi")
    assert run(command=["sleep"]).argv == ("sleep",)  # image Cmd dropped too


def test_env_overrides_image_env_and_expands_earlier_vars_only():
    proc = run(env=[{"name": "MODE", "value": "pod"},
                    {"name": "URL", "value": "http://$(HOST):$(PORT)/$(MODE)"},
                    {"name": "HOST", "value": "db"}],
               command=["echo", "$(URL)", "$(HOST)"])
    assert proc.env["MODE"] == "pod" and proc.env["PATH"] == "/img/bin"
    assert proc.env["URL"] == "http://$(HOST):$(PORT)/pod"  # HOST defined later: kept
    assert proc.argv == ("echo", "http://$(HOST):$(PORT)/pod", "db")
    assert proc.env["HOSTNAME"] == "web-1" and proc.env["EMPTY"] == ""


def test_field_refs():
    refs = {"N": "metadata.name", "NS": "metadata.namespace", "IP": "status.podIP",
            "NODE": "spec.nodeName", "APP": "metadata.labels['app']"}
    proc = run(env=[{"name": k, "valueFrom": {"fieldRef": {"fieldPath": v}}}
                    for k, v in refs.items()])
    assert {k: proc.env[k] for k in refs} == {"N": "web-1", "NS": "shop", "IP": "127.1.2.3",
                                             "NODE": "n1", "APP": "web"}


CM = {"metadata": {"name": "cfg"}, "data": {"LOG_LEVEL": "INFO", "APP_ENV": "dev",
                                            "bad key": "x", "1ST": "y"}}
SECRET = {"metadata": {"name": "creds"}, "data": {"TOKEN": "czNjcjN0", "user": "YWRtaW4="}}
SOURCES = {("ConfigMap", "cfg"): CM, ("Secret", "creds"): SECRET}


def run_with(sources=SOURCES, **container):
    p = pod(**container)
    return process_for(p, p["spec"]["containers"][0], IMAGE, "127.1.2.3", sources)


def test_env_from_first_then_env_overrides_and_expands_against_it():
    proc = run_with(envFrom=[{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "creds"},
                                                                 "prefix": "S_"}],
                    env=[{"name": "APP_ENV", "value": "override-$(LOG_LEVEL)"}])
    assert proc.env["LOG_LEVEL"] == "INFO" and proc.env["APP_ENV"] == "override-INFO"
    assert proc.env["S_TOKEN"] == "s3cr3t" and proc.env["S_user"] == "admin"
    assert "bad key" not in proc.env and "1ST" not in proc.env
    # kubelet: the keys that are not env var names, sorted, in one warning per source
    assert proc.warnings == ("Keys [1ST, bad key] from the EnvFrom configMap shop/cfg were "
                             "skipped since they are considered invalid environment variable "
                             "names.",)


def test_key_refs_read_one_key():
    proc = run_with(env=[{"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg",
                                                                             "key": "LOG_LEVEL"}}},
                         {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                             "key": "TOKEN"}}}])
    assert proc.env["LEVEL"] == "INFO" and proc.env["PASSWORD"] == "s3cr3t"


def test_missing_sources_are_the_kubelets_errors_unless_optional():
    with pytest.raises(InvalidContainer, match='^configmap "nope" not found$'):
        run_with(envFrom=[{"configMapRef": {"name": "nope"}}])
    with pytest.raises(InvalidContainer, match='^secret "nope" not found$'):
        run_with(env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}])
    with pytest.raises(InvalidContainer, match="^couldn't find key K in ConfigMap shop/cfg$"):
        run_with(env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "K"}}}])
    proc = run_with(envFrom=[{"configMapRef": {"name": "nope", "optional": True}}],
                    env=[{"name": "X", "valueFrom": {"configMapKeyRef": {
                        "name": "cfg", "key": "K", "optional": True}}},
                         {"name": "Y", "valueFrom": {"secretKeyRef": {
                             "name": "nope", "key": "k", "optional": True}}}])
    assert "X" not in proc.env and "Y" not in proc.env


def test_env_sources_lists_what_to_fetch():
    container = {"envFrom": [{"configMapRef": {"name": "a"}}, {"secretRef": {"name": "b"}}],
                 "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
                         {"name": "Y", "value": "1"}]}
    assert env_sources(container) == {("ConfigMap", "a"), ("Secret", "b"), ("ConfigMap", "c")}


def test_unsupported_sources_are_named():
    with pytest.raises(InvalidContainer, match="env CPU: valueFrom resourceFieldRef"):
        run(env=[{"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}])


def test_no_command_anywhere_is_an_error():
    with pytest.raises(InvalidContainer, match="no command specified"):
        run(image={})


def test_working_dir_and_user_overrides():
    proc = run(workingDir="/srv", securityContext={"runAsUser": 1000, "runAsGroup": 3000})
    assert proc.working_dir == "/srv" and proc.user == "1000:3000"
    p = pod()
    p["spec"]["securityContext"] = {"runAsUser": 7}
    assert process_for(p, p["spec"]["containers"][0], IMAGE).user == "7"
    assert run(image={"Cmd": ["x"]}).working_dir == "/" and run(image={"Cmd": ["x"]}).user == ""
    assert run(image={"Cmd": ["x"]}).env["PATH"].startswith("/usr/local/sbin")
