// The load pipeline: one function that lists the stages (Unpack, Plan,
// Images, Charts, Report) for each archive.
#pragma once

#include <ostream>
#include <string>

#include "base/status.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/registry_client.h"
#include "importer/load/load_options.h"

namespace ppa {

// Runs `ppa-import load`; returns the exit status (README, Usage).
int RunLoad(const LoadOptions& options, std::ostream& out, std::ostream& err);

// IBM Cloud Container Registry namespace rules: 4 to 30 characters,
// lowercase letters, digits and underscores, starting with a letter or a
// digit. With rules "none" only the distribution grammar applies.
Status ValidateNamespace(const std::string& ns, const std::string& rules);

struct RegistryAddress {
  RegistryEndpoint endpoint;
  std::string prefix;  // path below the host, may be empty
  // "user:password@" written into the address (base/url_userinfo.h),
  // percent-decoded; used when no other credentials are given. A secret.
  Credentials userinfo;
};
// Parses a registry address: "HOST[:PORT][/PREFIX]", optionally with a
// scheme: "https://", "http://" (plain HTTP), "oci://" (helm, oras) or
// "docker://" (skopeo); the last two mean the same registry as without
// them. User info ("user:pw@HOST") is taken out into `userinfo`; error
// messages never show it. kInvalidInput, with a hint, for: an empty or
// malformed host, a tag or digest at the end ("docker://reg/ns/img:tag": a
// registry address takes none, images keep their own), a scheme or
// transport it does not know ("ftp://", "dir:", "oci-archive:", "docker:x"),
// "oci:DIR" (a layout, not a registry) and a PREFIX outside the grammar.
Result<RegistryAddress> ParseRegistryAddress(const std::string& text, bool plain_http);

// Where --registry sends the images, decided before anything is connected.
struct TargetSpec {
  enum class Kind { kRegistry, kLayout };
  Kind kind = Kind::kLayout;
  RegistryAddress registry;     // kRegistry only
  std::string layout_dir;       // kLayout only: the directory as given, never empty
  bool default_layout = false;  // no --registry: the layout <workdir>/oci-layout
};

// The connection flags that only a registry target uses.
struct RegistryOnlyFlags {
  bool plain_http = false;
  const TransportOptions* transport = nullptr;  // insecure, CA file, client certificate
  // A ChartMuseum is named too: the TLS flags apply to it, so only
  // --plain-http is left that a layout target cannot use.
  bool tls_server_besides = false;
};

// Decides what `registry` (--registry / PPA_IMPORT_REGISTRY) names. Pure.
//  - ""                    the default OCI image layout <workdir>/oci-layout
//  - "oci:DIR"             an OCI image layout directory (relative or absolute)
//  - "oci://HOST[:PORT][/PREFIX]", "docker://...", "http(s)://...", or
//    "HOST[:PORT][/PREFIX]": a registry (ParseRegistryAddress)
// Refused with kInvalidInput and a hint (exit 2), never guessed: "oci:"
// without a directory; "oci:///DIR" (a layout or a registry?); "oci:DIR:REF"
// or "oci:HOST:PORT" (skopeo's reference syntax, or a registry without "//");
// "oci:~/DIR" (the shell does not expand it); everything ParseRegistryAddress
// refuses; and a layout target with a flag only a registry uses
// (--plain-http; and, unless a ChartMuseum is named, the TLS flags
// --insecure/--tls-verify=false, --ca-file, --cert-file, --key-file, --cert-dir).
Result<TargetSpec> ParseTarget(const std::string& registry, const std::string& workdir,
                               const RegistryOnlyFlags& flags);

// --registry HOST/PREFIX whose PREFIX already ends in the namespace
// ("host/portal_prod" with --namespace portal_prod puts images below
// "host/portal_prod/portal_prod/"): the one-line warning to print, naming
// the resulting path and what to drop; "" when the path does not repeat it.
// Only a warning: some registries are organised so on purpose. Pure.
std::string DoubledNamespaceWarning(const RegistryAddress& address,
                                    const std::string& target_namespace);

}  // namespace ppa
