// Internal: cereal serialization of the protocol messages, for the wire
// codec (protocol.cpp) and the client's local store of round reports.
#pragma once

#include "jixiao/common/bounded_archive.h"
#include "jixiao/sync/model_cereal.h"
#include "jixiao/sync/protocol.h"

namespace jixiao::sync {

template <class Archive>
void serialize(Archive& ar, SyncRequest& m, std::uint32_t /*version*/) {
  ar(m.request_id, m.device, m.user, m.cursor, m.ops, m.max_response_bytes);
}
template <class Archive>
void serialize(Archive& ar, OpResult& m, std::uint32_t /*version*/) {
  ar(m.seq, m.code, m.reason, m.message);  // op_id: by position (pair_results)
}
// FormSnapshot, class version 1: the replica without its cell stamps. The
// stamps (seq, clock, device, author of each cell's last write) are the
// server's merge bookkeeping; no client decision reads them, and they were
// about 40% of a finance bureau's bootstrap after compression
// (bench/RESULTS.md). A client's replica holds only the stamps of entries it
// applied since, which replica_hash() leaves out.
template <class Archive>
void save(Archive& ar, const FormSnapshot& m, std::uint32_t /*version*/) {
  ar(m.replica.form, m.replica.workflow, m.replica.deleted_rows, m.replica.conflicts, m.replica.last_seq);
}
template <class Archive>
void load(Archive& ar, FormSnapshot& m, std::uint32_t version) {
  if (version == 0) {
    ar(m.replica);
    return;
  }
  m.replica.stamps.clear();
  ar(m.replica.form, m.replica.workflow, m.replica.deleted_rows, m.replica.conflicts, m.replica.last_seq);
}
template <class Archive>
void serialize(Archive& ar, RoundReport& m, std::uint32_t /*version*/) {
  ar(m.round, m.progress);
}
template <class Archive>
void serialize(Archive& ar, SyncResponse& m, std::uint32_t /*version*/) {
  ar(m.request_id, m.results, m.snapshots, m.entries, m.cursor, m.more, m.rounds);
}
template <class Archive>
void serialize(Archive& ar, ErrorResponse& m, std::uint32_t /*version*/) {
  ar(m.request_id, m.code, m.reason, m.next, m.message);
}

// Capabilities travel as wire names (vector<string>) from protocol version
// 3 on, after the release-2 fields: a version-2 envelope has the release-2
// layout exactly. Names this build does not know are dropped, never an
// error: a newer peer may offer more.
template <class Archive>
void save_capabilities(Archive& ar, const Capabilities& caps) {
  if (archive::wire_version(ar) >= kFirstCapabilityVersion) ar(caps.names());
}
template <class Archive>
void load_capabilities(Archive& ar, Capabilities& caps) {
  caps = Capabilities{};
  if (archive::wire_version(ar) < kFirstCapabilityVersion) return;
  std::vector<std::string> names;
  ar(names);
  caps = Capabilities::from_names(names);
}

template <class Archive>
void save(Archive& ar, const LoginRequest& m, std::uint32_t /*version*/) {
  ar(m.user, m.device, m.password, m.token, m.client_version);
  save_capabilities(ar, m.capabilities);
}
template <class Archive>
void load(Archive& ar, LoginRequest& m, std::uint32_t /*version*/) {
  ar(m.user, m.device, m.password, m.token, m.client_version);
  load_capabilities(ar, m.capabilities);
}
template <class Archive>
void save(Archive& ar, const LoginResponse& m, std::uint32_t /*version*/) {
  ar(m.token, m.user, m.unit_name, m.server_time_ms);
  save_capabilities(ar, m.capabilities);
}
template <class Archive>
void load(Archive& ar, LoginResponse& m, std::uint32_t /*version*/) {
  ar(m.token, m.user, m.unit_name, m.server_time_ms);
  load_capabilities(ar, m.capabilities);
}

}  // namespace jixiao::sync

namespace jixiao {
template <class Archive>
void serialize(Archive& ar, User& u, std::uint32_t /*version*/) {
  ar(u.id, u.display_name, u.unit, u.roles, u.disabled);
}
}  // namespace jixiao

CEREAL_CLASS_VERSION(jixiao::User, 0)
CEREAL_CLASS_VERSION(jixiao::sync::LoginRequest, 0)
CEREAL_CLASS_VERSION(jixiao::sync::LoginResponse, 0)
CEREAL_CLASS_VERSION(jixiao::sync::SyncRequest, 0)
CEREAL_CLASS_VERSION(jixiao::sync::OpResult, 0)
CEREAL_CLASS_VERSION(jixiao::sync::FormSnapshot, 1)
CEREAL_CLASS_VERSION(jixiao::sync::RoundReport, 0)
CEREAL_CLASS_VERSION(jixiao::sync::SyncResponse, 0)
CEREAL_CLASS_VERSION(jixiao::sync::ErrorResponse, 0)
