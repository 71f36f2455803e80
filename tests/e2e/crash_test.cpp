// Test B: crash safety. Two preparers of one unit (p1, p2) edit one form
// while their `jixiao sync` processes and `jixiao-server serve` are killed
// with SIGKILL at random moments, 12 times each (a seeded schedule), each
// server kill followed by a restart on the same data directory and the same
// port (the port the first start picked is written into the configuration,
// so the clients need no re-pointing).
//
// An edit is one `jixiao set` (a distinct cell) or `jixiao add-row` (a row
// with a unique 三级指标 text), started together with the syncs so it runs
// while they do. It counts as acknowledged when the command exited 0: a
// local edit is durable when the command returns.
//
// At the end, with no faults, both clients sync until idle, a third preparer
// registers afresh, the server is stopped and its form read from its store.
// Every acknowledged edit must be in the server's form exactly once, every
// client's `show --json` must equal the server's form, and `verify-audit`
// must pass. Prints `runs=<kills> ops=<edits> lost=<n> duplicated=<n>`.
// Seed: $JIXIAO_E2E_SEED (printed).
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <random>

#include "process.h"
#include "server_view.h"
#include "system.h"

namespace jixiao::e2e {
namespace {

constexpr int kServerKills = 20;
constexpr int kClientKills = 20;
constexpr int kMaxKillDelayMs = 80;   // a local sync takes ~100 ms with its process start
constexpr Millis kReap{30000};        // a sync must end this soon after its server or link dies

const char* const kUnits =
    "F001,保定市财政局,财政局,,\n"
    "731002,保定市科学技术协会,市级,,F001\n"
    "731101,竞秀区科学技术协会,区县级,731002,F001\n";

const char* const kUsers =
    "p1,张晓梅,731101,preparer,p1-Passw0rd!\n"
    "p2,刘海燕,731101,preparer,p2-Passw0rd!\n"
    "p3,陈志远,731101,preparer,p3-Passw0rd!\n";

// What a preparer may still edit: its share of the text fields and the
// text cells of the rows it added.
struct Preparer {
  const ClientDir* dir = nullptr;
  std::vector<std::string> free_fields;
  struct OwnRow {
    std::string tag, row_id;
    std::vector<std::string> free_columns{"level1", "level2", "deviation"};
  };
  std::vector<OwnRow> rows;
};

struct Edit {
  enum class Kind { kAddRow, kSetField, kSetRowCell } kind = Kind::kAddRow;
  std::string by;
  std::string tag;     // the row's level3 (kAddRow, kSetRowCell)
  std::string cell;    // field key (kSetField) or column (kSetRowCell)
  std::string value;
  std::string row_id;  // kSetRowCell
};

// An edit running in the background.
struct PendingEdit {
  Edit edit;
  Preparer* who = nullptr;
  std::size_t row_index = 0;  // kSetRowCell: index into who->rows
  Process proc;
};

class CrashSafety : public ::testing::Test {
 protected:
  // Picks an edit for `p` and starts it.
  PendingEdit start_edit(Preparer& p, const std::string& form) {
    PendingEdit pe;
    pe.who = &p;
    Edit& e = pe.edit;
    e.by = p.dir->login();
    const std::string n = std::to_string(++edit_counter_);
    std::vector<std::size_t> rows_with_cells;
    for (std::size_t i = 0; i < p.rows.size(); ++i) {
      if (!p.rows[i].free_columns.empty()) rows_with_cells.push_back(i);
    }
    const int pick = static_cast<int>(rng_() % 3);
    if (pick == 0 && !p.free_fields.empty()) {
      e.kind = Edit::Kind::kSetField;
      e.cell = p.free_fields.back();
      p.free_fields.pop_back();  // never written twice, whatever the outcome
      e.value = e.by + "-编辑" + n;
      pe.proc = p.dir->start({"set", form, "fields." + e.cell, e.value});
    } else if (pick == 1 && !rows_with_cells.empty()) {
      e.kind = Edit::Kind::kSetRowCell;
      pe.row_index = rows_with_cells[rng_() % rows_with_cells.size()];
      auto& row = p.rows[pe.row_index];
      e.tag = row.tag;
      e.row_id = row.row_id;
      e.cell = row.free_columns.back();
      row.free_columns.pop_back();
      e.value = e.by + "-单元格" + n;
      pe.proc = p.dir->start({"set", form, "indicators[" + row.row_id + "]." + e.cell, e.value});
    } else {
      e.kind = Edit::Kind::kAddRow;
      e.tag = e.by + "-指标" + n;
      pe.proc = p.dir->start({"add-row", form, "indicators", "level3=" + e.tag, "target=≥1", "actual=1"});
    }
    ++attempted_;
    return pe;
  }

  // Waits for an edit; records it as acknowledged when it exited 0.
  void finish_edit(PendingEdit& pe) {
    const ExitStatus s = pe.proc.reap(kReap);
    if (!s.ok()) {
      ++edit_failures_;
      std::cout << "[e2e] edit by " << pe.edit.by << " failed (" << s.describe() << "): " << pe.proc.stderr_text();
      EXPECT_FALSE(s.deadline_kill) << "a local edit hung";
      return;
    }
    if (pe.edit.kind == Edit::Kind::kAddRow) {
      const auto id = first_uuid(pe.proc.stdout_text());
      EXPECT_TRUE(id.has_value()) << pe.proc.stdout_text();
      if (id) pe.who->rows.push_back({pe.edit.tag, *id, {"level1", "level2", "deviation"}});
    }
    acknowledged_.push_back(pe.edit);
  }

  void do_edit(Preparer& p, const std::string& form) {
    PendingEdit pe = start_edit(p, form);
    finish_edit(pe);
  }

  // A background sync's outcome. A crash, a lost link or a busy store must
  // never cost a client its session: `jixiao sync` without a password then
  // fails until someone types it (`jixiao login`), and a daemon stops syncing.
  void count_sync(Process& p, bool killed_on_purpose) {
    const ExitStatus s = p.reap(kReap);
    const std::string err = p.stderr_text();
    if (err.find("no token") != std::string::npos || err.find("reauthenticate") != std::string::npos) {
      ++sessions_lost_;
      ADD_FAILURE() << "a sync lost the client's session: " << err;
    }
    if (killed_on_purpose && !s.exited && s.signal == SIGKILL && !s.deadline_kill) {
      ++syncs_killed_;
    } else if (s.ok()) {
      ++syncs_ok_;
    } else {
      ++syncs_failed_;
    }
    EXPECT_FALSE(s.deadline_kill) << "a sync did not end within " << kReap.count() << " ms";
  }

  std::mt19937_64 rng_;
  int edit_counter_ = 0;
  int attempted_ = 0;
  int edit_failures_ = 0;
  int syncs_ok_ = 0, syncs_failed_ = 0, syncs_killed_ = 0, sessions_lost_ = 0;
  std::vector<Edit> acknowledged_;
};

TEST_F(CrashSafety, KilledClientsAndServerLoseAndDuplicateNothing) {
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t seed = e2e_seed();
  std::cout << "[e2e] CrashSafety seed=" << seed << " (JIXIAO_E2E_SEED=" << seed << " to repeat)" << std::endl;
  rng_.seed(seed);
  TempDir tmp("jixiao-e2e-crash");

  ServerProcess server(tmp.path());
  ASSERT_NO_THROW(server.init());
  ASSERT_NO_THROW(server.import_units(kUnits));
  ASSERT_NO_THROW(server.import_users(kUsers));
  std::uint16_t port = 0;
  ASSERT_NO_THROW(port = server.start());
  const std::string url = server.url(port);

  const ClientDir d1(tmp.path(), "p1", "p1-Passw0rd!");
  const ClientDir d2(tmp.path(), "p2", "p2-Passw0rd!");
  for (const ClientDir* c : {&d1, &d2}) {
    const RunResult r = c->register_at(url, server.ca_file());
    ASSERT_TRUE(r.ok()) << c->login() << " register: " << r.both();
  }
  const RunResult created = d1.run({"create", "project_self_eval_row_points", "--year", "2022"});
  ASSERT_TRUE(created.ok()) << created.both();
  const std::string form = first_uuid(created.out).value_or("");
  ASSERT_FALSE(form.empty()) << created.out;
  ASSERT_TRUE(d1.sync(3).ok());
  ASSERT_TRUE(d2.sync(3).ok());
  ASSERT_EQ(parse_forms(d2.run({"forms"}).out).count(form.substr(0, 8)), 1U) << "p2 does not see p1's form";

  Preparer p1{&d1, {"project_name", "department", "goal_expected", "narr_basic", "narr_result", "narr_suggestions"}, {}};
  Preparer p2{&d2, {"implementing_unit", "project_code", "goal_actual", "narr_work", "narr_problems", "narr_other"}, {}};
  Preparer* preparers[] = {&p1, &p2};

  // The schedule: which kind of kill each run ends with.
  std::vector<bool> server_kill(kServerKills, true);
  server_kill.resize(kServerKills + kClientKills, false);
  std::shuffle(server_kill.begin(), server_kill.end(), rng_);

  int runs = 0;
  for (const bool kill_server : server_kill) {
    // Some edits before the syncs start.
    for (int i = static_cast<int>(rng_() % 3); i > 0; --i) do_edit(*preparers[rng_() % 2], form);
    // Both syncs and one edit at once; a kill at a random moment.
    Process s1 = d1.start({"sync"});
    Process s2 = d2.start({"sync"});
    PendingEdit concurrent = start_edit(*preparers[rng_() % 2], form);
    sleep_for(Millis(rng_() % (kMaxKillDelayMs + 1)));
    if (kill_server) {
      const ExitStatus s = server.kill9();
      EXPECT_TRUE(!s.exited && s.signal == SIGKILL) << "the server ended before the kill: " << s.describe();
      count_sync(s1, false);
      count_sync(s2, false);
      finish_edit(concurrent);
      ASSERT_NO_THROW(server.start()) << "restart " << runs;
    } else {
      const bool first = rng_() % 2 == 0;
      Process& victim = first ? s1 : s2;
      Process& other = first ? s2 : s1;
      victim.signal(SIGKILL);
      count_sync(victim, true);
      count_sync(other, false);
      finish_edit(concurrent);
    }
    ++runs;
  }

  // No more faults: sync until a whole pass sends and receives nothing.
  bool idle = false;
  for (int pass = 0; pass < 10 && !idle; ++pass) {
    idle = true;
    for (const ClientDir* c : {&d1, &d2}) {
      const RunResult r = c->sync(3);
      ASSERT_TRUE(r.ok()) << c->login() << " final sync: " << r.both();
      const auto summary = parse_sync_summary(r.both());
      ASSERT_TRUE(summary.has_value()) << r.both();
      EXPECT_EQ(summary->rejected, 0) << c->login() << ": the server rejected changes: " << r.both();
      idle = idle && summary->sent == 0 && summary->received == 0;
    }
  }
  EXPECT_TRUE(idle) << "the clients did not become idle";
  for (const ClientDir* c : {&d1, &d2}) {
    const auto forms = parse_forms(c->run({"forms"}).out);
    ASSERT_EQ(forms.count(form.substr(0, 8)), 1U);
    const FormLine& line = forms.at(form.substr(0, 8));
    EXPECT_EQ(line.pending, 0) << c->login();
    EXPECT_EQ(line.conflicts, 0) << c->login();
    EXPECT_EQ(line.rejected, 0) << c->login();
  }
  const ClientDir d3(tmp.path(), "p3", "p3-Passw0rd!");
  const RunResult fresh = d3.register_at(url, server.ca_file(), 3);
  ASSERT_TRUE(fresh.ok()) << fresh.both();

  std::vector<nlohmann::json> shown;
  for (const ClientDir* c : {&d1, &d2, &d3}) {
    const RunResult r = c->run({"show", form, "--json"});
    ASSERT_TRUE(r.ok()) << r.both();
    shown.push_back(nlohmann::json::parse(r.out, nullptr, false));
    ASSERT_FALSE(shown.back().is_discarded()) << r.out;
  }
  const ExitStatus stopped = server.stop();
  EXPECT_TRUE(stopped.ok()) << stopped.describe();
  const RunResult audit = server.admin({"verify-audit"});
  EXPECT_TRUE(audit.ok()) << audit.both();

  const ServerView view = read_server_view(server.data_dir(), form);
  ASSERT_TRUE(view.error.empty()) << view.error;
  const nlohmann::json server_form = nlohmann::json::parse(view.form_json);
  EXPECT_EQ(shown[0], server_form) << "p1's form differs from the server's";
  EXPECT_EQ(shown[1], server_form) << "p2's form differs from the server's";
  EXPECT_EQ(shown[2], server_form) << "a fresh client's form differs from the server's";

  // Every acknowledged edit exactly once.
  std::map<std::string, std::vector<const nlohmann::json*>> rows_by_tag;
  for (const auto& row : server_form["tables"]["indicators"]) {
    rows_by_tag[row.value("level3", "")].push_back(&row);
  }
  int lost = 0;
  int duplicated = 0;
  for (const auto& [tag, rows] : rows_by_tag) {
    if (rows.size() > 1) {
      ++duplicated;
      ADD_FAILURE() << "row " << tag << " appears " << rows.size() << " times";
    }
  }
  for (const Edit& e : acknowledged_) {
    bool present = false;
    switch (e.kind) {
      case Edit::Kind::kAddRow:
        present = rows_by_tag.count(e.tag) == 1;
        break;
      case Edit::Kind::kSetField:
        present = server_form["fields"].value(e.cell, "") == e.value;
        break;
      case Edit::Kind::kSetRowCell:
        present = rows_by_tag.count(e.tag) == 1 && rows_by_tag[e.tag].front()->value(e.cell, "") == e.value;
        break;
    }
    if (!present) {
      ++lost;
      ADD_FAILURE() << "lost: " << e.by << " " << (e.kind == Edit::Kind::kAddRow ? "add-row " : "set ") << e.tag << " "
                    << e.cell << " = " << e.value;
    }
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[e2e] runs=" << runs << " ops=" << acknowledged_.size() << " lost=" << lost
            << " duplicated=" << duplicated << std::endl;
  std::cout << "[e2e] server_kills=" << kServerKills << " client_kills=" << kClientKills
            << " server_starts=" << server.starts() << " edits_attempted=" << attempted_
            << " edits_failed=" << edit_failures_ << " syncs_ok=" << syncs_ok_ << " syncs_failed=" << syncs_failed_
            << " syncs_killed=" << syncs_killed_ << " sessions_lost=" << sessions_lost_
            << " rows=" << rows_by_tag.size() << " seconds=" << seconds
            << std::endl;
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  if (HasFailure()) {
    tmp.keep();
    std::cout << "[e2e] kept " << tmp.path() << " for inspection" << std::endl;
  }
}

}  // namespace
}  // namespace jixiao::e2e
