// A deterministic workload for the sync benchmarks (issue 6), built on the
// shipped templates: a city of 1 + 10 units (the city 科协 and ten district
// 科协 under it, with a finance bureau above), each unit with project forms of
// the template project_self_eval_row_points holding 40 indicator rows and
// Chinese narratives of several hundred characters generated from word lists.
//
// Everything the generator decides comes from one seeded std::mt19937_64;
// form, row and operation ids are random UUIDs drawn by the replica (same
// length every run, so byte counts do not depend on them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "jixiao/common/cell_ref.h"
#include "jixiao/common/form.h"
#include "jixiao/common/status.h"
#include "jixiao/sync/client_replica.h"
#include "jixiao/service/sync_service.h"

namespace jixiao::bench {

inline constexpr char kTemplateId[] = "project_self_eval_row_points";
inline constexpr char kBureauCode[] = "F001";
inline constexpr char kCityCode[] = "731002";

// The people of one unit the benchmarks drive.
struct UnitPeople {
  UnitCode code;
  std::string name;
  UnitLevel level = UnitLevel::kDistrict;
  UserId preparer_a;  // two preparers: two machines of the same unit
  UserId preparer_b;
  UserId reviewer;
};

struct City {
  server::Directory directory;
  std::vector<UnitPeople> units;  // units[0] is the city 科协, then the districts
  UserId supervisor;              // the city's 上级审核人
  UserId finance_reviewer;        // the bureau's 财政局审核人
};

// The finance bureau, the city 科协 and `districts` district 科协.
City make_city(std::size_t districts = 10);

// Plausible Chinese prose from word lists.
class Narrator {
 public:
  explicit Narrator(std::mt19937_64& rng) : rng_(rng) {}
  std::string sentence();
  // Sentences until at least `min_chars` characters (code points).
  std::string paragraph(std::size_t min_chars);
  // A paragraph of 300..700 characters.
  std::string narrative();
  std::size_t pick(std::size_t n);  // uniform in [0, n)

 private:
  std::mt19937_64& rng_;
};

std::size_t utf8_chars(const std::string& s);

// Values as a person types them: 万元 with two decimals in [lo, hi] cents;
// an indicator value ("≥500人次", "及时" …); a narrative with one sentence
// rewritten, or one added while it is shorter than `max_chars` characters.
std::string money_wan(Narrator& n, std::size_t lo_cents, std::size_t hi_cents);
std::string indicator_value(Narrator& n);
std::string revise(Narrator& n, const std::string& text, std::size_t max_chars = SIZE_MAX);

// Size of `data` compressed with zlib at level 9: how the limits are measured.
std::uint64_t zlib9_size(const std::string& data);

// What one project form holds, as a person would type it.
struct FormContent {
  std::vector<std::pair<CellRef, std::string>> cells;                  // fields and fixed rows
  std::vector<std::vector<std::pair<std::string, std::string>>> rows;  // 40 indicator rows
};

FormContent generate_form(Narrator& n, const UnitPeople& unit, std::size_t index, std::size_t indicator_rows = 40);

// Creates the form in `replica` and writes `content` (each edit an operation
// in the outbox).
Result<FormId> create_form(sync::ClientReplica& replica, int fiscal_year, const FormContent& content);

struct CellChange {
  FormId form;
  CellRef cell;
  std::string text;
};

// The cells a preparer may edit in a form (not computed), as seen in `view`.
std::vector<CellRef> editable_cells(const Form& form);

// "An offline week": edits `fraction` of the editable cells of `forms`
// (narratives get a sentence rewritten or added, other cells a new value)
// and takes `actions` workflow actions (提交 of the first forms). Returns
// the cell changes made (for the limit of the comparison).
Result<std::vector<CellChange>> offline_week(sync::ClientReplica& replica, const std::vector<FormId>& forms,
                                             Narrator& n, double fraction = 0.10, std::size_t actions = 3);

// ---- additions for the real-wire and peer benchmarks (bench/wire.cpp, bench/export_dataset.cpp) ----

// Every unit's forms, generated in the order jixiao-bench-sync-cost draws
// them (units in `city.units` order, `per_unit` forms each): the same seed
// gives the same content in every benchmark. result[i] belongs to city.units[i].
std::vector<std::vector<FormContent>> generate_city_forms(Narrator& n, const City& city, std::size_t per_unit = 10);

// The city as `jixiao-server import-units` / `import-users` read it
// (docs/server-admin.md §2): the finance bureau, then city.units in order;
// every user of city.directory with `password` as initial password.
std::string units_csv(const City& city);
std::string users_csv(const City& city, const std::string& password);

}  // namespace jixiao::bench
