// Renders a checker report for people (readable Chinese) and for programs
// (JSON with rule codes and cell ids). Shared by the command line and, later,
// the local web app.
#pragma once

#include <string>

#include "jixiao/common/checker.h"
#include "jixiao/common/form.h"
#include "jixiao/common/form_template.h"

namespace jixiao::client {

std::string render_report_text(const Form& form, const FormTemplate& tmpl, const CheckReport& report);
std::string render_report_json(const Form& form, const FormTemplate& tmpl, const CheckReport& report);

}  // namespace jixiao::client
