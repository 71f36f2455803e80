// The stored and transmitted form of a FormReplica (model_cereal.h): class
// version 1 writes cell stamps as columns; blobs of version 0 (a map of
// stamp records) are still read, and inconsistent columns are refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jixiao/common/bounded_archive.h"
#include "jixiao/common/form_json.h"
#include "jixiao/sync/model.h"
#include "jixiao/sync/model_cereal.h"
#include "test_support.h"

namespace {

// Writes exactly what FormReplica's serialize wrote at class version 0.
struct ReplicaV0 {
  jixiao::sync::FormReplica* r = nullptr;
  template <class Archive>
  void serialize(Archive& ar, std::uint32_t /*version*/) {
    ar(r->form, r->workflow, r->stamps, r->deleted_rows, r->conflicts, r->last_seq);
  }
};

// Version 1's layout with columns a test may spoil.
struct ReplicaV1Columns {
  jixiao::sync::FormReplica* r = nullptr;
  jixiao::sync::StampColumns columns;
  template <class Archive>
  void serialize(Archive& ar, std::uint32_t /*version*/) {
    ar(r->form, r->workflow, columns, r->deleted_rows, r->conflicts, r->last_seq);
  }
};

}  // namespace

CEREAL_CLASS_VERSION(ReplicaV0, 0)
CEREAL_CLASS_VERSION(ReplicaV1Columns, 1)

namespace jixiao::sync {
namespace {

FormReplica sample() {
  const FormTemplate& tmpl = testing::shipped_template("project_self_eval_row_points");
  FormReplica r;
  r.form = new_blank_form(tmpl, "731101", "保定市竞秀区科学技术协会", 2021);
  r.form.id = "3f2b6c1e-0d4a-4e8b-9a51-7c2d9e0f1a23";
  r.form.fields["goal_expected"] = CellValue::of_text("1.举办科普日活动\n2.开展科技培训");
  r.workflow.submission_id = r.form.id;
  r.workflow.unit = "731101";
  r.stamps["fields.goal_expected"] = CellStamp{12, {1'637'560'000'000, 0}, "dev-p1", "p1"};
  r.stamps["fields.project_name"] = CellStamp{14, {1'637'560'000'900, 2}, "dev-p2", "p2"};
  r.stamps["indicators[row-1].actual"] = CellStamp{15, {1'637'560'001'000, 0}, "dev-p1", "p1"};
  r.stamps["indicators[row-1].target"] = CellStamp{16, {1'637'560'001'000, 1}, "dev-p3", "p1"};
  r.deleted_rows["indicators[row-0]"] = 9;
  r.last_seq = 16;
  return r;
}

template <typename Shim>
std::string blob_of(const Shim& shim) {
  return archive::to_tagged_blob("JXR", 1, shim);
}

TEST(ReplicaCodec, AReplicaWithStampsFromSeveralDevicesRoundTrips) {
  const FormReplica r = sample();
  auto back = decode_replica(encode_replica(r));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(replica_hash(*back), replica_hash(r));
}

// Empty columns: an empty vector's data() is null, and the archive must not
// pass it to memcpy (found by fuzz_local_blobs under UBSan).
TEST(ReplicaCodec, AReplicaWithoutStampsRoundTrips) {
  FormReplica r = sample();
  r.stamps.clear();
  auto back = decode_replica(encode_replica(r));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, r);
}

TEST(ReplicaCodec, ABlobOfClassVersionZeroIsStillRead) {
  FormReplica r = sample();
  const std::string old = blob_of(ReplicaV0{&r});
  EXPECT_NE(old, encode_replica(r));  // really the other layout
  auto back = decode_replica(old);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, r);
}

TEST(ReplicaCodec, InconsistentStampColumnsAreRefused) {
  FormReplica r = sample();
  const auto good = [&] {
    ReplicaV1Columns c;
    c.r = &r;
    c.columns.keys = {"fields.a", "fields.b"};
    c.columns.seqs = {1, 2};
    c.columns.walls = {10, 20};
    c.columns.counters = {0, 0};
    c.columns.devices = {"dev-p1"};
    c.columns.authors = {"p1"};
    c.columns.device_of = {0, 0};
    c.columns.author_of = {0, 0};
    return c;
  };
  {
    auto back = decode_replica(blob_of(good()));
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->stamps.at("fields.b"), (CellStamp{2, {20, 0}, "dev-p1", "p1"}));
  }
  auto shorter = good();
  shorter.columns.walls.pop_back();
  auto no_device = good();
  no_device.columns.device_of[1] = 1;
  auto no_author = good();
  no_author.columns.author_of[0] = 7;
  auto twice = good();
  twice.columns.keys[1] = "fields.a";
  for (const auto& bad : {shorter, no_device, no_author, twice}) {
    const Status s = decode_replica(blob_of(bad)).status();
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.to_string();
  }
}

}  // namespace
}  // namespace jixiao::sync
