// Package token is the compare stage for service-account token exposure and
// API-server authentication settings. It reads the rendered objects of one
// overlay at base and head (or at one revision for a scan) and reports:
//
//   - token.automount: workloads whose pods start holding a service-account
//     token, move to another account, or hold the token of an account whose
//     permissions grow in the same change;
//   - token.legacy-secret: Secrets of type kubernetes.io/service-account-token,
//     which the token controller fills with a token that never expires;
//   - token.projected: projected serviceAccountToken volumes whose tokens live
//     longer or become usable against the API server or by a new audience;
//   - authn.apiserver-flag: kube-apiserver flags in static pod manifests and
//     kubeadm ClusterConfiguration;
//   - authn.jwt-config: JWT authenticators of AuthenticationConfiguration;
//   - token.jwt-literal: JWTs committed in Secrets, ConfigMaps, env values and
//     kubeconfigs, reported by fingerprint only.
//
// What an account can do comes from the RBAC engine through Options; this
// package does not import it. No finding ever carries a token or any Secret
// value: tokens appear as the first 8 hex digits of their SHA-256.
//
// # Severities
//
// token.automount (severity never below the floor in the last column):
//
//	event                                            severity
//	existing workload starts holding a token         account risk, at least low
//	new workload holds a token, account has no risk  info
//	new workload holds a token, account has risk     account risk, at least low
//	workload moves to another account (holds token)  new account's risk, at least low
//	holds a token, account's permissions increase    account risk, at least low
//	scan: holds the token of "default"               account risk, at least low
//	scan: holds the token of an account with risk    account risk (info below high)
//
// token.legacy-secret: high; critical when the account's risk is critical.
//
// token.projected (the highest matching row; "API audience" is an empty
// audience, which the API server accepts; "long" is over one day):
//
//	change                                             severity
//	audience becomes the API audience                  medium, high if long
//	new source with the API audience                   medium, high if long
//	expiration grows, API audience                     medium, high if long
//	audience changes to, or new source with, another   medium
//	expiration grows, other audience                   low, medium if long
//	scan: API audience and long                        high
//	scan: other audience and long                      low
//	scan: anything else                                info
//
// authn.apiserver-flag and authn.jwt-config: see the tables at the top of
// apiserver.go and jwtconfig.go. token.jwt-literal: critical for a
// Kubernetes service-account token or a token without exp, else high.
//
// Configuration files that are not API objects (kubeadm
// ClusterConfiguration, AuthenticationConfiguration, kubeconfig) have no
// metadata.name; manifest.Decode names them by their path. The same
// documents held in ConfigMap values are found by Compare and Scan
// themselves.
package token
