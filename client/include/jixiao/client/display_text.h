// What people read about forms, cells, operations and log effects, in
// Chinese: shared by the form operations, the history and the command line
// (and the local web page, later). Pure: templates and workflow
// definitions in, text out. Thread-safe (const).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jixiao/common/form_template.h"
#include "jixiao/sync/model.h"
#include "jixiao/workflow/definition.h"

namespace jixiao::client {

class DisplayText {
 public:
  // Both borrowed; must outlive this.
  DisplayText(const TemplateRegistry& templates, const std::vector<workflow::WorkflowDefinition>& workflows)
      : templates_(templates), workflows_(workflows) {}

  const TemplateRegistry& templates() const { return templates_; }
  const std::vector<workflow::WorkflowDefinition>& workflows() const { return workflows_; }

  const FormTemplate* template_of(const Form& form) const;
  // The stage's name in its definition ("单位审核"), else its id.
  std::string stage_name(const workflow::SubmissionState& state) const;
  // The stage of `state` (its definition's, else any definition's stage of that id).
  const workflow::StageDefinition* find_stage(const workflow::SubmissionState& state) const;
  // "项目资金·年度资金总额·全年执行数"
  std::string describe_cell(const Form& form, const CellRef& cell) const;
  // "修改 项目名称 为“…”"; `view`: the form as shown (nullptr: unknown).
  std::string describe_op(const sync::Operation& op, const Form* view) const;
  // One line per effect of a log entry: "项目名称：“…”", "流程：已退回，退回原因：…".
  std::string describe_effect(const sync::Effect& effect, const Form& view) const;

 private:
  const TemplateRegistry& templates_;
  const std::vector<workflow::WorkflowDefinition>& workflows_;
};

// Cuts `text` after `max_chars` code points (adding "…"); tabs and line
// breaks become spaces with one_line.
std::string shorten(std::string_view text, std::size_t max_chars = 40);
std::string one_line(std::string text);
std::string resolution_name(sync::Resolution r);

}  // namespace jixiao::client
