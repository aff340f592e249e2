"""The kubelet exec/attach pure parts: the nsenter command line and the refusals."""

from shiplane.cluster.nodes.container_streams import exec_command_line, target_refusal


def test_exec_enters_every_namespace_root_and_cwd_of_the_app():
    assert exec_command_line("/usr/bin/nsenter", 4242, 0, 0, ["sh", "-c", "id"]) == [
        "/usr/bin/nsenter", "-t", "4242", "-m", "-u", "-i", "-n", "-p", "-r", "-w",
        "--", "sh", "-c", "id"]
    assert exec_command_line("nsenter", 7, 1000, 1001, ["id"])[-6:] == [
        "-S", "1000", "-G", "1001", "--", "id"]


def _refusal(**changes):
    args = {"pod": "web", "container": "app", "runtime": "process", "node": "n1",
            "spec": {"name": "app"}, "running": True, "attach_stdin": False, **changes}
    return target_refusal(**args)


def test_refusals_in_kubelets_words():
    assert _refusal() is None
    missing = _refusal(spec=None)
    assert (missing.code, missing.message) == (404, 'container not found ("app")')
    stopped = _refusal(running=False)
    assert (stopped.code, stopped.message) == (500, 'container not found ("app")')
    simulated = _refusal(runtime="simulated")
    assert simulated.code == 400 and "simulated container runs no process" in simulated.message
    assert "created with stdin: true" in _refusal(attach_stdin=True).message
    assert _refusal(attach_stdin=True, spec={"name": "app", "stdin": True}) is None
