// jixiao-bench-export-dataset: the benchmark workload (bench/workload.h, the
// seed of jixiao-bench-sync-cost) as DATASET files for the PouchDB peer
// harness (docs/bench-peer.md, "DATASET"), so that PouchDB
// replicates the same documents and the same edits jixiao syncs.
//
//   jixiao-bench-export-dataset OUT_DIR [seed]
//
// writes
//   OUT_DIR/unit.json  one unit (district 731101): its 10 forms as created
//                      offline, and one edit round: the offline week
//                      (push_initial/pull_initial = the unit's first sync and
//                      a second machine's first pull; push_edit_1/pull_edit_1
//                      = the week)
//   OUT_DIR/city.json  the 110 forms of the city as the finance bureau
//                      receives them (after the week, at 财政局审核), no edit
//                      round (pull_initial = the bureau's bootstrap)
//
// A document is jixiao's own form JSON (form_to_json, docs/form-format.md),
// keys in jixiao's order, with "_id" (the form id) first and one key jixiao's
// form file does not have: "workflow": {"phase", "stage"}, where a 提交 shows
// (the form JSON carries no workflow state; jixiao sends it as a
// WorkflowAction operation). The edit round is the difference between each
// form's JSON before and after the week, leaf by leaf: every changed cell is
// one edit at its JSON path (["fields", key], ["tables", "funds", row, col],
// ["tables", "indicators", index, col]); a 提交 is two edits,
// ["workflow", "phase"] 草稿 → 审核中 and ["workflow", "stage"] "" → unit_review.
// The exporter checks that applying the edits to the first documents gives
// exactly the second.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "jixiao/common/form_json.h"
#include "jixiao/common/form_template.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/workflow/clock.h"
#include "jixiao/workflow/engine.h"
#include "workload.h"

namespace jixiao::bench {
namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void die(const std::string& what) {
  std::cerr << "jixiao-bench-export-dataset: " << what << "\n";
  std::exit(2);
}
void check(const Status& s, const std::string& what) {
  if (!s) die(what + ": " + s.to_string());
}

// The harness's document: "_id", then jixiao's form JSON, then "workflow".
Json document(const sync::ClientReplica& r, const TemplateRegistry& templates, const FormId& id) {
  auto v = r.view(id);
  check(v.status(), "view " + id);
  const FormTemplate* t = templates.latest(kTemplateId);
  Json doc;
  doc["_id"] = id;
  const Json form = Json::parse(form_to_json(v->form, *t));
  for (const auto& [k, val] : form.items()) doc[k] = val;
  doc["workflow"] = Json{{"phase", std::string(workflow::phase_name(v->workflow.phase))},
                         {"stage", v->workflow.stage_id}};
  return doc;
}

// Leaf-by-leaf difference `before` -> `after` as harness edits.
void diff(const Json& before, const Json& after, Json& path, const std::string& id, Json& edits) {
  if (before.is_object() && after.is_object()) {
    for (const auto& [k, v] : before.items()) {
      if (!after.contains(k)) die("the week removed " + path.dump() + "/" + k + " of " + id + ": not expressible");
    }
    for (const auto& [k, v] : after.items()) {
      path.push_back(k);
      if (before.contains(k)) {
        diff(before[k], v, path, id, edits);
      } else {
        edits.push_back(Json{{"id", id}, {"path", path}, {"value", v}});
      }
      path.erase(path.size() - 1);
    }
    return;
  }
  if (before.is_array() && after.is_array() && before.size() == after.size()) {
    for (std::size_t i = 0; i < after.size(); ++i) {
      path.push_back(i);
      diff(before[i], after[i], path, id, edits);
      path.erase(path.size() - 1);
    }
    return;
  }
  if (before != after) edits.push_back(Json{{"id", id}, {"path", path}, {"value", after}});
}

void apply_edit(Json& doc, const Json& edit) {
  Json* at = &doc;
  const Json& p = edit["path"];
  for (std::size_t i = 0; i + 1 < p.size(); ++i) at = p[i].is_string() ? &(*at)[p[i].get<std::string>()] : &(*at)[p[i].get<std::size_t>()];
  const Json& last = p[p.size() - 1];
  if (last.is_string()) {
    (*at)[last.get<std::string>()] = edit["value"];
  } else {
    (*at)[last.get<std::size_t>()] = edit["value"];
  }
}

void write(const std::filesystem::path& file, const Json& j) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << j.dump();
  if (!out) die("cannot write " + file.string());
}

}  // namespace

int run(int argc, char** argv) {
  if (argc < 2) die("usage: jixiao-bench-export-dataset OUT_DIR [seed]");
  const std::filesystem::path out_dir = argv[1];
  const std::uint64_t seed = argc > 2 ? std::stoull(argv[2]) : 20220301;
  std::filesystem::create_directories(out_dir);

  TemplateRegistry templates;
  check(templates.load_directory(TemplateRegistry::default_directory(argv[0])), "templates");
  workflow::ManualClock clock(workflow::utc_time(2022, 3, 1, 9, 0));
  const City city = make_city(10);
  std::mt19937_64 rng(seed);
  Narrator narrator(rng);
  constexpr std::size_t kFormsPerUnit = 10;
  constexpr std::size_t kWeekUnit = 1;  // the first district, as in jixiao-bench-sync-cost
  const auto contents = generate_city_forms(narrator, city, kFormsPerUnit);

  // Each unit's forms created offline on its preparer's replica.
  std::vector<std::unique_ptr<sync::ClientReplica>> replicas;
  std::vector<std::vector<FormId>> forms;
  for (std::size_t u = 0; u < city.units.size(); ++u) {
    const UnitPeople& p = city.units[u];
    auto r = sync::ClientReplica::open(
        ":memory:", sync::ClientIdentity{city.directory.users.at(p.preparer_a), "dev-" + p.code + "-a", p.name},
        templates, clock);
    check(r.status(), "replica of " + p.code);
    replicas.push_back(std::move(r).value());
    std::vector<FormId>& ids = forms.emplace_back();
    for (const FormContent& fc : contents[u]) {
      auto id = create_form(*replicas.back(), 2021, fc);
      check(id.status(), "create form for " + p.code);
      ids.push_back(*id);
    }
  }
  sync::ClientReplica& wr = *replicas[kWeekUnit];
  Json unit_before = Json::array();
  for (const FormId& f : forms[kWeekUnit]) unit_before.push_back(document(wr, templates, f));

  // The offline week, drawn after every form, as jixiao-bench-sync-cost draws it.
  clock.advance(std::chrono::hours(24 * 7));
  auto changes = offline_week(wr, forms[kWeekUnit], narrator, 0.10, 3);
  check(changes.status(), "offline week");
  Json round = Json::array();
  std::size_t docs_touched = 0;
  for (std::size_t i = 0; i < forms[kWeekUnit].size(); ++i) {
    Json after = document(wr, templates, forms[kWeekUnit][i]);
    // The replica's view does not foresee a queued action (the server decides
    // it); offline_week submits the first 3 forms, which the server then
    // shows at the district workflow's first stage.
    if (i < 3) {
      after["workflow"] = Json{{"phase", std::string(workflow::phase_name(workflow::Phase::kInReview))},
                               {"stage", "unit_review"}};
    }
    Json path = Json::array();
    const std::size_t before_count = round.size();
    diff(unit_before[i], after, path, forms[kWeekUnit][i], round);
    if (round.size() > before_count) ++docs_touched;
    Json check_doc = unit_before[i];
    for (std::size_t e = before_count; e < round.size(); ++e) apply_edit(check_doc, round[e]);
    if (check_doc != after) die("edits do not reproduce the week of " + forms[kWeekUnit][i]);
  }
  std::size_t workflow_edits = 0;
  for (const Json& e : round) if (e["path"][0] == "workflow") ++workflow_edits;

  std::size_t unit_bytes = 0;
  for (const Json& d : unit_before) unit_bytes += d.dump().size();
  write(out_dir / "unit.json", Json{{"forms", unit_before}, {"edits", Json::array({round})}});

  // The city as the bureau receives it: every form after the week, at 财政局审核.
  Json city_docs = Json::array();
  std::size_t city_bytes = 0;
  for (std::size_t u = 0; u < city.units.size(); ++u) {
    for (const FormId& f : forms[u]) {
      Json d = document(*replicas[u], templates, f);
      d["workflow"] = Json{{"phase", std::string(workflow::phase_name(workflow::Phase::kInReview))},
                           {"stage", "finance_review"}};
      city_bytes += d.dump().size();
      city_docs.push_back(std::move(d));
    }
  }
  write(out_dir / "city.json", Json{{"forms", city_docs}, {"edits", Json::array()}});

  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  std::printf("%s: %zu forms, %zu B of documents; 1 edit round: %zu edits in %zu documents "
              "(%zu cell changes + 3 提交 as %zu workflow edits)\n",
              (out_dir / "unit.json").c_str(), unit_before.size(), unit_bytes, round.size(), docs_touched,
              changes->size(), workflow_edits);
  std::printf("%s: %zu forms, %zu B of documents; no edit round\n", (out_dir / "city.json").c_str(), city_docs.size(),
              city_bytes);
  return 0;
}

}  // namespace jixiao::bench

int main(int argc, char** argv) { return jixiao::bench::run(argc, argv); }
