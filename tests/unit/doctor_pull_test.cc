// doctor's pull permission line (ClassifyPullProbe), table-driven.
#include <gtest/gtest.h>

#include "importer/commands/doctor.h"

namespace ppa {
namespace {

TEST(DoctorPullProbeTest, ClassifiesTheManifestRead) {
  struct Case {
    const char* name;
    Result<std::optional<ManifestDescriptor>> answer;
    CheckOutcome want;
    std::string want_text;
  };
  ManifestDescriptor found{.media_type = "application/vnd.oci.image.manifest.v1+json",
                           .digest = "sha256:" + std::string(64, 'a'),
                           .size = 10};
  const std::vector<Case> cases = {
      {"absent: readable", std::optional<ManifestDescriptor>(), CheckOutcome::kPass,
       "PASS  pull permission: may read manifests in 'ns/ppa-import-doctor' (its tag 'latest' is "
       "not there, as expected)\n"},
      {"present", std::optional<ManifestDescriptor>(found), CheckOutcome::kPass,
       "('latest' is sha256:aaaa"},
      {"denied", HttpError("check of manifest 'ns/ppa-import-doctor:latest' failed: 403 DENIED"),
       CheckOutcome::kFail, "fix: access denied: the account may not read"},
      {"network", NetworkError("GET reg:5000: reset", "check the proxy"), CheckOutcome::kFail,
       "fix: check the proxy"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    CheckResult got = ClassifyPullProbe(c.answer, "ns/ppa-import-doctor");
    EXPECT_EQ(got.outcome, c.want);
    std::string text = FormatCheck("pull permission", got);
    EXPECT_NE(text.find(c.want_text), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace ppa
