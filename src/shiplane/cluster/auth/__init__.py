"""TLS, authentication and RBAC authorization for the embedded API server, as pure functions
over request facts and RBAC objects (plus one atomic 0600 file writer for keys)."""

from shiplane.cluster.auth.accessreview import InvalidReview, evaluate_access_review
from shiplane.cluster.auth.authn import (
    RequestCredentials,
    TokenFile,
    authenticate,
    parse_token_file,
    user_from_certificate,
)
from shiplane.cluster.auth.bootstrap import bootstrap_cluster_role_bindings, bootstrap_cluster_roles
from shiplane.cluster.auth.errors import (
    AuthError,
    Forbidden,
    InvalidTokenFile,
    TLSMaterialError,
    Unauthenticated,
)
from shiplane.cluster.auth.guard import Authenticators, guard
from shiplane.cluster.auth.middleware import AuthMiddleware
from shiplane.cluster.auth.peercert import PeerCertH11Protocol, peer_certificate
from shiplane.cluster.auth.pki import ClusterPKI, user_kubeconfig
from shiplane.cluster.auth.rbac import Decision, RBACAuthorizer, forbidden, forbidden_message, rule_allows
from shiplane.cluster.auth.requestinfo import Attributes, request_attributes
from shiplane.cluster.auth.serviceaccount import DEFAULT_ISSUER, ServiceAccountTokens, service_account_user
from shiplane.cluster.auth.tls import (
    CertificateAuthority,
    IssuedCertificate,
    load_certificate,
    serving_names,
    write_private,
    write_public,
)
from shiplane.cluster.auth.user import ANONYMOUS, AUTHENTICATED, MASTERS, UNAUTHENTICATED, UserInfo

__all__ = [
    "ANONYMOUS",
    "AUTHENTICATED",
    "DEFAULT_ISSUER",
    "MASTERS",
    "UNAUTHENTICATED",
    "Attributes",
    "AuthError",
    "AuthMiddleware",
    "Authenticators",
    "CertificateAuthority",
    "ClusterPKI",
    "Decision",
    "Forbidden",
    "InvalidReview",
    "InvalidTokenFile",
    "IssuedCertificate",
    "PeerCertH11Protocol",
    "RBACAuthorizer",
    "RequestCredentials",
    "ServiceAccountTokens",
    "TLSMaterialError",
    "TokenFile",
    "Unauthenticated",
    "UserInfo",
    "authenticate",
    "bootstrap_cluster_role_bindings",
    "bootstrap_cluster_roles",
    "evaluate_access_review",
    "forbidden",
    "forbidden_message",
    "guard",
    "load_certificate",
    "parse_token_file",
    "peer_certificate",
    "request_attributes",
    "rule_allows",
    "service_account_user",
    "serving_names",
    "user_from_certificate",
    "user_kubeconfig",
    "write_private",
    "write_public",
]
