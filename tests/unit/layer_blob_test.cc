#include "docker_io/image/layer_blob.h"

#include <gtest/gtest.h>

#include "docker_io/image/digest.h"
#include "docker_io/image/media_types.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

// An image whose one layer is `stored` (written at offset 0 of a file).
struct OneLayer {
  test::TempDir dir{"ppa-layer"};
  ImageSource image;
  OneLayer(const std::string& stored, Compression c, const std::string& diff_id) {
    image.tarball = dir.Join("tarball");
    image.origin = "images/x.tar";
    test::WriteFileOrDie(image.tarball, "PAD" + stored);
    LayerSource l;
    l.entry = "layer.tar";
    l.offset = 3;
    l.size = stored.size();
    l.compression = c;
    l.diff_id = diff_id;
    image.layers.push_back(l);
  }
  Result<LayerBlob> Prepare(ManifestFormat f = ManifestFormat::kDocker) {
    return PrepareLayerBlob(image, image.layers[0], dir.path(), f, {});
  }
};

std::string LayerTar() {
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "line " + std::to_string(i) + "\n";
  return test::BuildRawTar({{"etc/", '5'}, {"etc/data", '0', content}});
}

TEST(PrepareLayerBlob, UncompressedIsGzippedDeterministically) {
  std::string tar = LayerTar();
  OneLayer a(tar, Compression::kNone, Sha256Digest(tar));
  OneLayer b(tar, Compression::kNone, Sha256Digest(tar));
  auto x = a.Prepare();
  auto y = b.Prepare();
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(x->digest, y->digest);
  EXPECT_EQ(x->diff_id, Sha256Digest(tar));
  EXPECT_TRUE(x->spooled);
  EXPECT_LT(x->size, tar.size());
  EXPECT_EQ(x->media_type, media_types::kDockerLayerGzip);
  auto spool = test::ReadFileToString(x->file.path);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(Sha256Digest(*spool), x->digest);
  EXPECT_EQ(a.Prepare(ManifestFormat::kOci)->media_type, media_types::kOciLayerGzip);
}

TEST(PrepareLayerBlob, TamperedLayerFailsNamingIt) {
  std::string tar = LayerTar();
  std::string want = Sha256Digest(tar);
  tar[1000] ^= 1;
  OneLayer a(tar, Compression::kNone, want);
  auto x = a.Prepare();
  ASSERT_FALSE(x.ok());
  EXPECT_NE(x.status().message().find("layer.tar"), std::string::npos);
  EXPECT_NE(x.status().message().find("diff_id"), std::string::npos);
}

TEST(PrepareLayerBlob, GzipLayerIsPushedAsStored) {
  std::string tar = LayerTar();
  std::string gz = test::Gzip(tar);
  OneLayer a(gz, Compression::kGzip, Sha256Digest(tar));
  auto x = a.Prepare();
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_FALSE(x->spooled);
  EXPECT_EQ(x->digest, Sha256Digest(gz));
  EXPECT_EQ(x->file.offset, 3u);
  EXPECT_EQ(x->size, gz.size());
}

TEST(PrepareLayerBlob, GzipLayerWithWrongDiffIdOrDigest) {
  std::string tar = LayerTar();
  std::string gz = test::Gzip(tar);
  OneLayer wrong_diff(gz, Compression::kGzip, Sha256Digest("other"));
  EXPECT_FALSE(wrong_diff.Prepare().ok());
  OneLayer wrong_digest(gz, Compression::kGzip, Sha256Digest(tar));
  wrong_digest.image.layers[0].digest = Sha256Digest("not it");
  EXPECT_FALSE(wrong_digest.Prepare().ok());
  OneLayer truncated(gz.substr(0, gz.size() / 2), Compression::kGzip, Sha256Digest(tar));
  EXPECT_FALSE(truncated.Prepare().ok());
}

TEST(KnownStoredLayerBlob, HashesTheStoredBytesOnly) {
  std::string tar = LayerTar();
  std::string gz = test::Gzip(tar);
  // The diff_id is not looked at (the cache vouches for it): a wrong one
  // still passes, a wrong stored digest does not.
  OneLayer a(gz, Compression::kGzip, Sha256Digest("not checked"));
  a.image.layers[0].digest = Sha256Digest(gz);
  auto x = KnownStoredLayerBlob(a.image, a.image.layers[0], ManifestFormat::kOci);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->digest, Sha256Digest(gz));
  EXPECT_EQ(x->diff_id, Sha256Digest("not checked"));
  EXPECT_EQ(x->file.offset, 3u);
  EXPECT_EQ(x->size, gz.size());
  EXPECT_EQ(x->media_type, media_types::kOciLayerGzip);

  a.image.layers[0].digest = Sha256Digest("other bytes");
  auto y = KnownStoredLayerBlob(a.image, a.image.layers[0], ManifestFormat::kOci);
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("layer.tar"), std::string::npos);
  a.image.layers[0].digest.clear();
  EXPECT_FALSE(KnownStoredLayerBlob(a.image, a.image.layers[0], ManifestFormat::kOci).ok());
}

TEST(PrepareLayerBlob, ZstdLayerIsVerifiedAndKept) {
  test::TempDir dir("ppa-zstd");
  std::string tar = LayerTar();
  test::WriteFileOrDie(dir.Join("l.tar"), tar);
  auto r = test::RunProcess({"zstd", "-q", "-f", dir.Join("l.tar"), "-o", dir.Join("l.tar.zst")});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  auto zst = test::ReadFileToString(dir.Join("l.tar.zst"));
  ASSERT_TRUE(zst.ok());
  OneLayer a(*zst, Compression::kZstd, Sha256Digest(tar));
  auto x = a.Prepare();
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(x->digest, Sha256Digest(*zst));
  EXPECT_EQ(x->media_type, media_types::kOciLayerZstd);
}


// A layer hashed as it was unpacked (content_digest) is not hashed again:
// verifying it reads nothing, compressing it takes the digest as its diff_id.
TEST(LayerBlob, ContentDigestStandsForTheHashOfTheStoredBytes) {
  std::string tar = LayerTar();
  OneLayer a(tar, Compression::kNone, Sha256Digest(tar));
  a.image.layers[0].content_digest = Sha256Digest(tar);
  auto plain = a.Prepare();
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->diff_id, Sha256Digest(tar));
  OneLayer b(tar, Compression::kNone, Sha256Digest(tar));
  EXPECT_EQ(b.Prepare()->digest, plain->digest);  // the same blob either way

  ImageSource gone = a.image;
  gone.tarball = a.dir.Join("missing");  // not read at all
  EXPECT_TRUE(VerifyLayerDiffId(gone, gone.layers[0]).ok());
  gone.layers[0].content_digest = Sha256Digest("other bytes");
  auto mismatch = VerifyLayerDiffId(gone, gone.layers[0]);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidInput);
  EXPECT_NE(mismatch.message().find("layer.tar"), std::string::npos);
}

TEST(PrepareLayerBlob, GzipLayerTakesItsStoredDigestFromContentDigest) {
  std::string tar = LayerTar();
  std::string gz = test::Gzip(tar);
  OneLayer a(gz, Compression::kGzip, Sha256Digest(tar));
  a.image.layers[0].digest = Sha256Digest(gz);
  a.image.layers[0].content_digest = Sha256Digest(gz);
  auto ok = a.Prepare();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->digest, Sha256Digest(gz));
  // Still decompressed: the diff_id is checked against the stream.
  a.image.layers[0].diff_id = Sha256Digest("other");
  EXPECT_FALSE(a.Prepare().ok());
  // The stored digest is not hashed again: a wrong one on record fails.
  a.image.layers[0].diff_id = Sha256Digest(tar);
  a.image.layers[0].content_digest = Sha256Digest("recorded");
  auto wrong = a.Prepare();
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("digest"), std::string::npos);
}

TEST(KnownStoredLayerBlob, ContentDigestIsCheckedWithoutReading) {
  std::string gz = test::Gzip(LayerTar());
  OneLayer a(gz, Compression::kGzip, Sha256Digest(LayerTar()));
  a.image.tarball = a.dir.Join("missing");
  a.image.layers[0].digest = Sha256Digest(gz);
  a.image.layers[0].content_digest = Sha256Digest(gz);
  auto blob = KnownStoredLayerBlob(a.image, a.image.layers[0], ManifestFormat::kDocker);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(blob->digest, Sha256Digest(gz));
  a.image.layers[0].content_digest = Sha256Digest("tampered");
  EXPECT_FALSE(KnownStoredLayerBlob(a.image, a.image.layers[0], ManifestFormat::kDocker).ok());
}

}  // namespace
}  // namespace ppa
