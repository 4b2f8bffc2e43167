// A zstd layer whose frame asks for a window above kMaxDecoderWindow is
// refused before the window is allocated (ZSTD_d_windowLogMax), with an
// error that says so; one within it is verified as usual.
#include <gtest/gtest.h>

#include "archive/inflate/stream_window.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/layer_blob.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

std::string Tar() {
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "row " + std::to_string(i) + "\n";
  return test::BuildRawTar({{"etc/", '5'}, {"etc/data", '0', content}});
}

Result<LayerBlob> PrepareZstd(const test::TempDir& dir, const std::string& tar,
                              const std::vector<std::string>& zstd) {
  test::ProcessResult z = test::RunProcess(zstd, tar);  // stdin: no content size, a window
  EXPECT_EQ(z.exit_code, 0) << z.stderr_text;
  ImageSource image;
  image.tarball = dir.Join("tarball");
  image.origin = "images/x.tar";
  test::WriteFileOrDie(image.tarball, z.stdout_text);
  LayerSource l;
  l.entry = "layer.tar";
  l.offset = 0;
  l.size = z.stdout_text.size();
  l.compression = Compression::kZstd;
  l.diff_id = Sha256Digest(tar);
  image.layers.push_back(l);
  return PrepareLayerBlob(image, image.layers[0], dir.path(), ManifestFormat::kOci, {});
}

TEST(LayerBlobWindow, ZstdWindowAboveTheLimitIsRefused) {
  test::TempDir dir("ppa-zwin");
  const std::string tar = Tar();
  auto ok = PrepareZstd(dir, tar, {"zstd", "-q", "--long=26", "-c"});
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  for (const char* window : {"--long=27", "--long=28"}) {
    SCOPED_TRACE(window);
    auto refused = PrepareZstd(dir, tar, {"zstd", "-q", window, "-c"});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kUnsafeArchive) << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("above the 64 MiB this tool allows"),
              std::string::npos)
        << refused.status().ToString();
  }
}

}  // namespace
}  // namespace ppa
