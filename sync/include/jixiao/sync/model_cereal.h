// cereal serialization of the sync model and of the workflow state it
// carries. Used by the local stores and the wire codec, both through the
// bounded archive (common/bounded_archive.h). Every type is class-versioned
// from version 0; a change adds a version and keeps loading the old ones. A
// field an older peer must not see is gated by a capability instead
// (archive::has_capability; docs/protocol.md).
#pragma once

#include <algorithm>

#include <cereal/cereal.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include "jixiao/common/bounded_archive.h"
#include "jixiao/common/form_cereal.h"
#include "jixiao/sync/model.h"

namespace jixiao {

template <class Archive>
void serialize(Archive& ar, CellRef& c, std::uint32_t /*version*/) {
  ar(c.table, c.row, c.column);
}

}  // namespace jixiao

namespace jixiao::workflow {

template <class Archive>
void serialize(Archive& ar, MeetingEvidence& e, std::uint32_t /*version*/) {
  ar(e.meeting_kind, e.date, e.session, e.minutes_number, e.decision, e.attachment_hashes);
}

template <class Archive>
void serialize(Archive& ar, StageSignoff& s, std::uint32_t /*version*/) {
  ar(s.stage_id, s.by);
}

template <class Archive>
void serialize(Archive& ar, RoundRequirement& r, std::uint32_t /*version*/) {
  ar(r.unit, r.form_kinds);
}

template <class Archive>
void serialize(Archive& ar, RoundSpec& r, std::uint32_t /*version*/) {
  ar(r.round_id, r.fiscal_year, r.notice_number, r.deadline, r.requirements);
}

template <class Archive>
void serialize(Archive& ar, Round& r, std::uint32_t /*version*/) {
  ar(r.spec, r.finance_bureau, r.opened_by, r.opened_at);
}

template <class Archive>
void serialize(Archive& ar, Holder& h, std::uint32_t /*version*/) {
  ar(h.stage_id, h.stage_name, h.role, h.unit);
}

// `unassigned` is gated by a capability, not by a class version: cereal
// writes one class version per type whatever the reader, and a reader of
// release 2 knows only version 0. A peer without "unassigned-holder" gets
// exactly release 2's bytes and reads false.
template <class Archive>
void serialize(Archive& ar, FormProgress& p, std::uint32_t /*version*/) {
  ar(p.unit, p.form_kind, p.kind, p.submissions, p.holder, p.return_count, p.overdue);
  if (archive::has_capability(ar, Capability::kUnassignedHolder)) ar(p.unassigned);
}

template <class Archive>
void serialize(Archive& ar, SubmissionState& s, std::uint32_t /*version*/) {
  ar(s.submission_id, s.unit, s.form_kind, s.round_id, s.definition_id, s.definition_version, s.version, s.phase,
     s.stage_id, s.amount_fen, s.content_hash, s.submitter, s.submit_count, s.return_count, s.reviews_since_submit,
     s.signoffs, s.last_return_reason, s.last_returned_from, s.updated_at, s.first_submitted_at, s.reached_finance_at,
     s.accepted_at);
}

}  // namespace jixiao::workflow

namespace jixiao::sync {

template <class Archive>
void serialize(Archive& ar, HybridTimestamp& t, std::uint32_t /*version*/) {
  ar(t.wall_ms, t.counter);
}
template <class Archive>
void serialize(Archive& ar, CreateForm& p, std::uint32_t /*version*/) {
  ar(p.template_ref, p.unit_code, p.unit_name, p.fiscal_year, p.money_unit);
  if constexpr (Archive::is_loading::value) {
    if (p.money_unit > MoneyUnit::kWanYuan) throw cereal::Exception("unknown money unit");
  }
}
template <class Archive>
void serialize(Archive& ar, SetCell& p, std::uint32_t /*version*/) {
  ar(p.cell, p.value, p.base_value);
}
template <class Archive>
void serialize(Archive& ar, InsertRow& p, std::uint32_t /*version*/) {
  ar(p.table, p.row_id, p.after_row, p.cells);
}
template <class Archive>
void serialize(Archive& ar, DeleteRow& p, std::uint32_t /*version*/) {
  ar(p.table, p.row_id);
}
template <class Archive>
void serialize(Archive& ar, WorkflowAction& p, std::uint32_t /*version*/) {
  ar(p.action, p.expected_version, p.content_hash, p.reason, p.return_to_stage, p.evidence);
  if constexpr (Archive::is_loading::value) {
    if (p.action > workflow::Action::kAccept) throw cereal::Exception("unknown workflow action");
  }
}
template <class Archive>
void serialize(Archive& ar, ResolveConflict& p, std::uint32_t /*version*/) {
  ar(p.conflict_id, p.resolution, p.value);
  if constexpr (Archive::is_loading::value) {
    if (p.resolution > Resolution::kNewValue) throw cereal::Exception("unknown resolution");
  }
}
template <class Archive>
void serialize(Archive& ar, OpenRound& p, std::uint32_t /*version*/) {
  ar(p.spec);
}
template <class Archive>
void serialize(Archive& ar, Operation& op, std::uint32_t /*version*/) {
  ar(op.id, op.form_id, op.author, op.device, op.hlc, op.base_seq, op.payload);
}
template <class Archive>
void serialize(Archive& ar, ConflictSide& s, std::uint32_t /*version*/) {
  ar(s.value, s.author, s.device, s.hlc, s.op_id);
}
template <class Archive>
void serialize(Archive& ar, ConflictRecord& c, std::uint32_t /*version*/) {
  ar(c.id, c.form_id, c.kind, c.cell, c.winner, c.loser, c.row_cells, c.resolved, c.resolution, c.resolved_by);
}
template <class Archive>
void serialize(Archive& ar, FormCreated& e, std::uint32_t /*version*/) {
  ar(e.form, e.workflow);
}
template <class Archive>
void serialize(Archive& ar, CellWritten& e, std::uint32_t /*version*/) {
  ar(e.cell, e.value);
}
template <class Archive>
void serialize(Archive& ar, RowInserted& e, std::uint32_t /*version*/) {
  ar(e.table, e.row_id, e.after_row, e.cells);
}
template <class Archive>
void serialize(Archive& ar, RowDeleted& e, std::uint32_t /*version*/) {
  ar(e.table, e.row_id);
}
template <class Archive>
void serialize(Archive& ar, WorkflowChanged& e, std::uint32_t /*version*/) {
  ar(e.state);
}
template <class Archive>
void serialize(Archive& ar, ConflictOpened& e, std::uint32_t /*version*/) {
  ar(e.conflict);
}
template <class Archive>
void serialize(Archive& ar, ConflictClosed& e, std::uint32_t /*version*/) {
  ar(e.conflict_id, e.resolution, e.resolved_by);
}
template <class Archive>
void serialize(Archive& ar, LogEntry& e, std::uint32_t /*version*/) {
  ar(e.seq, e.form_id, e.op_id, e.author, e.device, e.hlc, e.effects);
}
template <class Archive>
void serialize(Archive& ar, CellStamp& s, std::uint32_t /*version*/) {
  ar(s.seq, s.hlc, s.device, s.author);
}
// FormReplica's cell stamps as columns (its class version 1): keys, then
// seqs, clock readings and indexes into a list of the devices and authors,
// instead of one record per cell. A form has hundreds of stamps; in columns
// they deflate better, and the server stores them in every replica blob.
struct StampColumns {
  std::vector<std::string> keys;
  std::vector<std::uint64_t> seqs;
  std::vector<std::int64_t> walls;
  std::vector<std::uint32_t> counters;
  std::vector<std::string> devices, authors;
  std::vector<std::uint32_t> device_of, author_of;

  static StampColumns of(const std::map<std::string, CellStamp>& stamps) {
    StampColumns c;
    const auto index_in = [](std::vector<std::string>& list, const std::string& v) {
      auto it = std::find(list.begin(), list.end(), v);
      if (it == list.end()) it = list.insert(list.end(), v);
      return static_cast<std::uint32_t>(it - list.begin());
    };
    for (const auto& [key, stamp] : stamps) {
      c.keys.push_back(key);
      c.seqs.push_back(stamp.seq);
      c.walls.push_back(stamp.hlc.wall_ms);
      c.counters.push_back(stamp.hlc.counter);
      c.device_of.push_back(index_in(c.devices, stamp.device));
      c.author_of.push_back(index_in(c.authors, stamp.author));
    }
    return c;
  }

  // Throws cereal::Exception for columns that do not fit together.
  std::map<std::string, CellStamp> stamps() const {
    const std::size_t n = keys.size();
    if (seqs.size() != n || walls.size() != n || counters.size() != n || device_of.size() != n || author_of.size() != n) {
      throw cereal::Exception("stamp columns of different lengths");
    }
    std::map<std::string, CellStamp> out;
    for (std::size_t i = 0; i < n; ++i) {
      if (device_of[i] >= devices.size() || author_of[i] >= authors.size()) {
        throw cereal::Exception("stamp refers to no device or author");
      }
      CellStamp stamp{seqs[i], HybridTimestamp{walls[i], counters[i]}, devices[device_of[i]], authors[author_of[i]]};
      if (!out.emplace(keys[i], std::move(stamp)).second) throw cereal::Exception("stamp key twice");
    }
    return out;
  }

  // Unversioned: the columns sit inline in FormReplica's layout.
  template <class Archive>
  void serialize(Archive& ar) {
    ar(keys, seqs, walls, counters, devices, authors, device_of, author_of);
  }
};

// FormReplica, class version 1: stamps as StampColumns. Version 0 (stamps
// as a map of records) is still read.
template <class Archive>
void save(Archive& ar, const FormReplica& r, std::uint32_t /*version*/) {
  ar(r.form, r.workflow, StampColumns::of(r.stamps), r.deleted_rows, r.conflicts, r.last_seq);
}
template <class Archive>
void load(Archive& ar, FormReplica& r, std::uint32_t version) {
  if (version == 0) {
    ar(r.form, r.workflow, r.stamps, r.deleted_rows, r.conflicts, r.last_seq);
    return;
  }
  StampColumns columns;
  ar(r.form, r.workflow, columns, r.deleted_rows, r.conflicts, r.last_seq);
  r.stamps = columns.stamps();
}

}  // namespace jixiao::sync

CEREAL_CLASS_VERSION(jixiao::CellRef, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::MeetingEvidence, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::StageSignoff, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::SubmissionState, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::RoundRequirement, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::RoundSpec, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::Round, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::Holder, 0)
CEREAL_CLASS_VERSION(jixiao::workflow::FormProgress, 0)
CEREAL_CLASS_VERSION(jixiao::sync::OpenRound, 0)
CEREAL_CLASS_VERSION(jixiao::sync::HybridTimestamp, 0)
CEREAL_CLASS_VERSION(jixiao::sync::CreateForm, 0)
CEREAL_CLASS_VERSION(jixiao::sync::SetCell, 0)
CEREAL_CLASS_VERSION(jixiao::sync::InsertRow, 0)
CEREAL_CLASS_VERSION(jixiao::sync::DeleteRow, 0)
CEREAL_CLASS_VERSION(jixiao::sync::WorkflowAction, 0)
CEREAL_CLASS_VERSION(jixiao::sync::ResolveConflict, 0)
CEREAL_CLASS_VERSION(jixiao::sync::Operation, 0)
CEREAL_CLASS_VERSION(jixiao::sync::ConflictSide, 0)
CEREAL_CLASS_VERSION(jixiao::sync::ConflictRecord, 0)
CEREAL_CLASS_VERSION(jixiao::sync::FormCreated, 0)
CEREAL_CLASS_VERSION(jixiao::sync::CellWritten, 0)
CEREAL_CLASS_VERSION(jixiao::sync::RowInserted, 0)
CEREAL_CLASS_VERSION(jixiao::sync::RowDeleted, 0)
CEREAL_CLASS_VERSION(jixiao::sync::WorkflowChanged, 0)
CEREAL_CLASS_VERSION(jixiao::sync::ConflictOpened, 0)
CEREAL_CLASS_VERSION(jixiao::sync::ConflictClosed, 0)
CEREAL_CLASS_VERSION(jixiao::sync::LogEntry, 0)
CEREAL_CLASS_VERSION(jixiao::sync::CellStamp, 0)
CEREAL_CLASS_VERSION(jixiao::sync::FormReplica, 1)
