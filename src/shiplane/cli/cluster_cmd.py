"""``shiplane cluster``: run the embedded Kubernetes API server in the background."""

from __future__ import annotations

from pathlib import Path

import typer

from shiplane.cluster.apiserver import (
    cluster_down,
    cluster_status,
    cluster_up,
    user_kubeconfig_for,
)
from shiplane.config import STATE_DIR_ENV_VAR, find_config, load_workspace, resolve_setting
from shiplane.errors import UsageError

app = typer.Typer(no_args_is_help=True)

_NAME = typer.Option("default", "--name", "-n", help="Embedded cluster name.")
_STATE = typer.Option(None, "--state-dir", help="Override the state folder.")


def _state_dir(flag: Path | None) -> Path:
    path = find_config()
    workspace = load_workspace(path)
    resolved = resolve_setting(
        flag=flag,
        env_var=STATE_DIR_ENV_VAR,
        file_value=workspace.state_dir if path else None,
        default=workspace.state_dir,
        convert=Path,
    )
    return Path(resolved.value).resolve()


@app.command("up")
def up(
    name: str = _NAME,
    port: int | None = typer.Option(None, "--port", help="Loopback port."),
    nodes: int = typer.Option(3, "--nodes", help="Number of simulated nodes."),
    node_spec: Path | None = typer.Option(
        None, "--node-spec", help="YAML file of node groups (capacity, zone, taints, role...)."
    ),
    time_scale: float = typer.Option(
        1.0, "--time-scale", help="Cluster clock speed (60: a minute passes in a second)."
    ),
    service_proxy: bool = typer.Option(
        True, "--service-proxy/--no-service-proxy",
        help="Serve each Service port on loopback (ClusterIP 10.a.b.c → 127.a.b.c).",
    ),
    ingress_port: int | None = typer.Option(
        None, "--ingress-port", help="Run the Ingress controller on this loopback port."
    ),
    runtime: str | None = typer.Option(
        None, "--runtime",
        help="simulated or process (run every node's pods for real in bubblewrap); "
             "default: each node spec's runtime, else simulated.",
    ),
    state_dir: Path | None = _STATE,
) -> None:
    """Start the cluster: API server, controllers, scheduler, simulated nodes, Service proxy."""
    info = cluster_up(
        _state_dir(state_dir), name, port, nodes=nodes, node_spec=node_spec, time_scale=time_scale,
        service_proxy=service_proxy, ingress_port=ingress_port,
        runtime=runtime,
    )
    typer.echo(f"cluster {info.name} running at {info.url} (pid {info.pid})")
    typer.echo(f"kubeconfig: {info.kubeconfig}")


@app.command("down")
def down(name: str = _NAME, state_dir: Path | None = _STATE) -> None:
    """Stop the cluster's API server; its objects stay on disk."""
    stopped = cluster_down(_state_dir(state_dir), name)
    typer.echo(f"cluster {name} stopped" if stopped else f"cluster {name} was not running")


@app.command("status")
def status(name: str = _NAME, state_dir: Path | None = _STATE) -> None:
    """Say whether the cluster runs, where, and where its kubeconfig is."""
    info = cluster_status(_state_dir(state_dir), name)
    if info.running:
        typer.echo(f"cluster {name}: running at {info.url} (pid {info.pid})")
        typer.echo(f"kubeconfig: {info.kubeconfig}")
    else:
        typer.echo(f"cluster {name}: stopped")
        raise typer.Exit(3)


@app.command("kubeconfig")
def kubeconfig(
    name: str = _NAME,
    state_dir: Path | None = _STATE,
    path_only: bool = typer.Option(False, "--path", help="Print only the file path."),
    user: str | None = typer.Option(
        None, "--user", help="Issue a client certificate for this user instead of admin."
    ),
    groups: list[str] = typer.Option([], "--group", help="A group of --user (repeatable)."),
    namespace: str = typer.Option("default", "--namespace", help="Namespace of the context."),
) -> None:
    """Print the kubeconfig of a running cluster (or its path with --path); with --user, a
    new kubeconfig whose client certificate names that user and groups (RBAC decides)."""
    if user is not None:
        if path_only:
            raise UsageError("--path prints the admin kubeconfig's path; it has no --user form")
        typer.echo(user_kubeconfig_for(_state_dir(state_dir), name, user, groups, namespace).rstrip())
        return
    info = cluster_status(_state_dir(state_dir), name)
    if not info.kubeconfig.exists():
        raise UsageError(
            f"cluster {name!r} has no kubeconfig yet",
            hint=f"run 'shiplane cluster up --name {name}'",
        )
    typer.echo(str(info.kubeconfig) if path_only else info.kubeconfig.read_text().rstrip())


node_app = typer.Typer(no_args_is_help=True, help="Fail or recover a simulated node.")
app.add_typer(node_app, name="node")


def _node_failed(node: str, failed: bool, name: str, state_dir: Path | None) -> None:
    from shiplane.cluster.nodes.failure import set_node_failed
    from shiplane.kube import KubeClient

    info = cluster_status(_state_dir(state_dir), name)
    if not info.running:
        raise UsageError(f"cluster {name!r} is not running",
                         hint=f"run 'shiplane cluster up --name {name}'")
    with KubeClient.from_kubeconfig(info.kubeconfig) as client:
        set_node_failed(client, node, failed)


@node_app.command("fail")
def node_fail(node: str = typer.Argument(..., help="Node name (kubectl get nodes)."),
              name: str = _NAME, state_dir: Path | None = _STATE) -> None:
    """Stop NODE's kubelet: no Lease renewals or status; the node goes Unknown after 50 s and
    its pods are evicted after their tolerationSeconds (300 s by default)."""
    _node_failed(node, True, name, state_dir)
    typer.echo(f"node/{node} failed (its kubelet stopped posting status)")


@node_app.command("recover")
def node_recover(node: str = typer.Argument(..., help="Node name (kubectl get nodes)."),
                 name: str = _NAME, state_dir: Path | None = _STATE) -> None:
    """Restart NODE's kubelet: it posts Ready again and its unreachable taints are removed."""
    _node_failed(node, False, name, state_dir)
    typer.echo(f"node/{node} recovered")
@app.command("port-forward")
def port_forward(
    target: str = typer.Argument(..., help="svc/NAME, pod/NAME or a pod name."),
    ports: list[str] = typer.Argument(..., help="LOCAL:REMOTE, PORT or :REMOTE (repeatable)."),
    namespace: str = typer.Option("default", "--namespace", help="Namespace of the target."),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="Use this kubeconfig instead of the cluster's own."
    ),
    name: str = _NAME,
    state_dir: Path | None = _STATE,
) -> None:
    """Forward local loopback ports to a pod, or to one pod of a Service, until Ctrl-C."""
    from shiplane.cluster.network.forwarder import run_forward

    if kubeconfig is None:
        kubeconfig = cluster_status(_state_dir(state_dir), name).kubeconfig
    run_forward(kubeconfig, namespace, target, ports,
                lambda local, remote: typer.echo(f"Forwarding from 127.0.0.1:{local} -> {remote}"))
