// The real `skopeo` as an independent client to judge what our code wrote
// or pushed. Runs with its own HOME, registries.conf (no search registries),
// policy (accept anything) and auth file in a private temporary folder, so
// it never reads the user's configuration or reaches beyond loopback.
//
// References: "docker://host/repo:tag", "docker-archive:/path[:name:tag]",
// "oci-archive:/path[:ref]", "dir:/path"; a reference without a transport
// prefix means "docker://". TLS verification is off (the test registries
// speak plain HTTP on 127.0.0.1). `creds` is "user:password" or "".
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "base/status.h"
#include "tests/support/process.h"

namespace ppa::test {

// `skopeo inspect [--raw]`: the image summary (Digest, Layers,
// Architecture, ...) or, with `raw`, the manifest itself.
Result<nlohmann::json> SkopeoInspect(const std::string& ref, bool raw,
                                     const std::string& creds = "");
// `skopeo inspect --config`: the image config (rootfs.diff_ids, ...).
Result<nlohmann::json> SkopeoInspectConfig(const std::string& ref, const std::string& creds = "");

// `skopeo copy SRC DST` with TLS verification off on both sides.
Status SkopeoCopy(const std::string& src, const std::string& dst, const std::string& src_creds = "",
                  const std::string& dst_creds = "");
// Pulls `ref` into the folder `dir` (`dir:` transport); skopeo verifies
// every blob's digest on the way, so success proves the pushed content.
Status SkopeoCopyToDir(const std::string& ref, const std::string& dir,
                       const std::string& creds = "");

// Checks that `ref` is a manifest list / image index whose platforms are
// exactly `expected` ("os/architecture" or "os/architecture/variant").
Status CheckManifestListPlatforms(const std::string& ref, const std::set<std::string>& expected,
                                  const std::string& creds = "");

// Runs skopeo with the private environment (global flags added). For tests
// that need another subcommand.
ProcessResult RunSkopeo(const std::vector<std::string>& args);

}  // namespace ppa::test
