"""kubectl with default flags against the embedded cluster: server-side validation, apply
(client- and server-side), conflicts, diff, explain, CRDs, auth can-i, RBAC over mTLS."""

import pytest

pytestmark = pytest.mark.slow

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"""


def deployment(ns="default", replicas=2, typo=False):
    text = DEPLOYMENT.format(ns=ns, replicas=replicas)
    return text.replace("replicas:", "replicass:") if typo else text


def test_client_side_apply_validates_on_the_server(kubectl):
    assert "created" in kubectl("apply", "-f", "-", stdin=deployment()).stdout
    bad = kubectl("apply", "-f", "-", stdin=deployment(typo=True), check=False)
    assert bad.returncode != 0
    assert ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
            'unknown field "spec.replicass"') in bad.stderr


def test_server_side_apply_conflicts_and_force(kubectl):
    kubectl("apply", "-f", "-", stdin=deployment(ns="default", replicas=2))
    kubectl("apply", "-f", "-", stdin=deployment(replicas=5))  # client-side apply owns replicas
    conflict = kubectl("apply", "--server-side", "-f", "-", stdin=deployment(replicas=3), check=False)
    assert conflict.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
            ".spec.replicas") in conflict.stderr
    forced = kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=deployment(replicas=3))
    assert "serverside-applied" in forced.stdout
    assert kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}").stdout == "3"
    managers = kubectl("get", "deploy", "web", "--show-managed-fields", "-o",
                       "jsonpath={.metadata.managedFields[*].manager}").stdout.split()
    assert "kubectl" in managers
    typo = kubectl("apply", "--server-side", "-f", "-", stdin=deployment(typo=True), check=False)
    assert ("failed to create typed patch object (apps/v1, Kind=Deployment): .spec.replicass: "
            "field not declared in schema") in typo.stderr


def test_diff(kubectl):
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=deployment(replicas=3))
    same = kubectl("diff", "--server-side", "-f", "-", stdin=deployment(replicas=3), check=False)
    assert same.returncode == 0, same.stderr
    changed = kubectl("diff", "--server-side", "-f", "-", stdin=deployment(replicas=4), check=False)
    assert changed.returncode == 1 and "-  replicas: 3" in changed.stdout and "+  replicas: 4" in changed.stdout


def test_explain_reads_openapi_v3(kubectl):
    text = kubectl("explain", "deployment.spec.strategy").stdout
    assert "FIELD: strategy <DeploymentStrategy>" in text and "rollingUpdate" in text


def test_argo_cd_crds_are_served(kubectl):
    crds = kubectl("get", "crd").stdout
    assert "applications.argoproj.io" in crds and "appprojects.argoproj.io" in crds
    kubectl("create", "namespace", "argocd", check=False)
    kubectl("apply", "-f", "-", stdin="""apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: argocd}
spec:
  project: default
  source: {repoURL: "https://git.example.com/apps.git", path: guestbook, targetRevision: HEAD}
  destination: {server: "https://kubernetes.default.svc", namespace: guestbook}
""")
    table = kubectl("get", "applications", "-n", "argocd", "-o", "wide").stdout.splitlines()
    assert table[0].split() == ["NAME", "SYNC", "STATUS", "HEALTH", "STATUS", "REVISION", "PROJECT"]
    assert table[1].split() == ["guestbook", "default"]
    bad = kubectl("apply", "-f", "-", check=False, stdin="""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: broken, namespace: argocd}
spec:
  source: {repoURL: "https://git.example.com/apps.git"}
""")
    # kubectl renders the 422's causes as a list
    assert bad.stderr == ('The Application "broken" is invalid: \n* spec.destination: Required value\n'
                          '* spec.project: Required value\n')


def test_auth_can_i_and_rbac(kubectl):
    assert kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"
    kubectl("create", "namespace", "dev", check=False)
    kubectl("apply", "-f", "-", stdin="""apiVersion: v1
kind: Namespace
metadata: {name: dev}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: developers-edit, namespace: dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: developers}]
""")
    assert kubectl("auth", "can-i", "create", "deployments", "-n", "dev", user="dana").stdout.strip() == "yes"
    no = kubectl("auth", "can-i", "create", "deployments", "-n", "prod", user="dana", check=False)
    assert no.stdout.strip() == "no" and no.returncode == 1
    assert "created" in kubectl("apply", "-f", "-", user="dana", stdin=deployment(ns="dev")).stdout
    denied = kubectl("apply", "-f", "-", user="dana", stdin=deployment(ns="prod"), check=False)
    assert ('deployments.apps "web" is forbidden: User "dana" cannot get resource "deployments" in API '
            'group "apps" in the namespace "prod"') in denied.stderr


def test_imperative_creates_send_protobuf(kubectl):
    kubectl("create", "namespace", "imperative")
    kubectl("create", "deployment", "web", "--image=nginx:1.25", "--replicas=0", "-n", "imperative")
    kubectl("create", "secret", "generic", "creds", "--from-literal=token=abc", "-n", "imperative")
    kubectl("create", "rolebinding", "devs", "--clusterrole=view", "--group=developers", "-n", "imperative")
    assert kubectl("get", "deploy", "web", "-n", "imperative", "-o", "jsonpath={.spec.replicas}").stdout == "0"
    assert kubectl("auth", "can-i", "list", "pods", "-n", "imperative", user="dana").stdout.strip() == "yes"


def test_service_account_tokens(kubectl):
    kubectl("create", "namespace", "ci")
    kubectl("create", "serviceaccount", "deployer", "-n", "ci")
    kubectl("create", "rolebinding", "deployer-edit", "--clusterrole=edit",
            "--serviceaccount=ci:deployer", "-n", "ci")
    token = kubectl("create", "token", "deployer", "-n", "ci").stdout.strip()
    assert token.count(".") == 2
    who = kubectl("auth", "can-i", "create", "deployments", "-n", "ci", "--token", token)
    assert who.stdout.strip() == "yes"
    elsewhere = kubectl("auth", "can-i", "create", "deployments", "-n", "default", "--token", token,
                        check=False)
    assert elsewhere.stdout.strip() == "no"
    kubectl("delete", "serviceaccount", "deployer", "-n", "ci")
    gone = kubectl("get", "pods", "-n", "ci", "--token", token, check=False)
    assert gone.returncode != 0 and "Unauthorized" in gone.stderr
